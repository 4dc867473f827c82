"""The editable 整改通知书 DOCX: python-docx reads it back with the number, problems, fonts and grid."""
from __future__ import annotations

import io
import math
import zipfile

import docx
import pytest
from docx.oxml.ns import qn

from domain.documents import compile_docx
from domain.documents import layout as L
from tests.factories.notice_content import NUMBER, PROBLEM_TEXTS, notice


@pytest.fixture(autouse=True)
def clean_state():
    """The compiler is pure: these tests need no database or Redis (overrides conftest's)."""
    yield


@pytest.fixture(scope="module")
def issued() -> bytes:
    return compile_docx(notice())


@pytest.fixture(scope="module")
def document(issued):
    return docx.Document(io.BytesIO(issued))


def east_asia(paragraph) -> set[str]:
    return {r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in paragraph.runs}


def find(document, text: str):
    return next(p for p in document.paragraphs if p.text == text)


def test_the_docx_carries_the_number_title_and_every_problem(document):
    texts = [p.text for p in document.paragraphs]
    assert NUMBER in texts
    assert "蓬江区市场监督管理局：" in texts
    for text in PROBLEM_TEXTS:
        assert text in texts
    assert "整改时限：自印发（签收）之日起3个工作日内（2026年12月1日前）。" in texts
    assert "联系人：李明，联系电话：0750-3271234。" in texts


def test_each_role_names_its_official_font_in_east_asia(document):
    assert east_asia(find(document, "蓬江区人民政府督查室")) == {"方正小标宋简体"}
    assert east_asia(find(document, "关于蓬江区市场监督管理局")) == {"方正小标宋简体"}
    assert east_asia(find(document, "一、存在的问题")) == {"黑体"}
    assert east_asia(find(document, "（一）窗口纪律（较重）")) == {"楷体_GB2312"}
    assert east_asia(find(document, PROBLEM_TEXTS[0])) == {"仿宋_GB2312"}
    assert east_asia(find(document, "附件1")) == {"黑体"}
    mark = find(document, "蓬江区人民政府督查室").runs[0]
    assert str(mark.font.color.rgb) == "%02X%02X%02X" % L.RED


def test_the_page_has_gbt9704_margins_and_a_22_by_28_document_grid(document):
    s = document.sections[0]
    assert s.page_width.mm == pytest.approx(210, abs=0.1)
    assert s.page_height.mm == pytest.approx(297, abs=0.1)
    assert s.top_margin.mm == pytest.approx(37, abs=0.1)
    assert s.left_margin.mm == pytest.approx(28, abs=0.1)
    assert s.right_margin.mm == pytest.approx(26, abs=0.1)
    assert s.bottom_margin.mm == pytest.approx(35, abs=0.1)
    grid = s._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "linesAndChars"
    block_twips = L.BLOCK_HEIGHT / L.PT * 20
    assert math.floor(block_twips / int(grid.get(qn("w:linePitch")))) == 22
    per_char = L.BODY_SIZE + int(grid.get(qn("w:charSpace"))) / 4096  # Word's rule, in points
    assert math.floor(L.BLOCK_WIDTH / L.PT / per_char + 1e-3) == 28
    assert document.styles["Normal"].font.size.pt == L.BODY_SIZE


def test_page_numbers_sit_right_on_odd_pages_and_left_on_even_pages(document):
    s = document.sections[0]
    assert document.settings.odd_and_even_pages_header_footer
    odd, even = s.footer.paragraphs[0], s.even_page_footer.paragraphs[0]
    assert odd.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
    assert even.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.LEFT
    for p in (odd, even):
        assert p._p.find(qn("w:fldSimple")).get(qn("w:instr")) == "PAGE"
        assert p.text.startswith("— ") and p.text.endswith(" —")


def test_the_red_line_is_a_red_border_under_the_number(document):
    bottom = find(document, NUMBER)._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert bottom.get(qn("w:color")) == "%02X%02X%02X" % L.RED


def test_the_photos_are_embedded_as_given(document):
    content = notice()
    blobs = [shape._inline.graphic.graphicData.pic.blipFill.blip.embed for shape in document.inline_shapes]
    assert len(blobs) == len(content.thumbnails)
    embedded = {document.part.related_parts[rid].blob for rid in blobs}
    assert embedded == {t.jpeg for t in content.thumbnails}


def test_the_colophon_and_signature_are_there(document):
    texts = [p.text for p in document.paragraphs]
    assert "抄送：蓬江区人民政府办公室，蓬江区政务服务数据管理局。" in texts
    assert "蓬江区人民政府督查室\t2026年11月24日印发" in texts
    assert "2026年11月24日" in texts


def test_a_draft_has_no_number_and_says_so_in_its_header():
    draft = docx.Document(io.BytesIO(compile_docx(notice(draft=True))))
    assert all("〔2026〕" not in p.text for p in draft.paragraphs)
    s = draft.sections[0]
    assert "草稿" in s.header.paragraphs[0].text and "草稿" in s.even_page_header.paragraphs[0].text


def test_the_same_content_gives_the_same_bytes(issued, document):
    assert compile_docx(notice()) == issued
    with zipfile.ZipFile(io.BytesIO(issued)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    props = document.core_properties
    assert props.created == props.modified == notice().issued_at
    assert compile_docx(notice(cc=())) != issued
