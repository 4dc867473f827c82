"""The 整改通知书 PDF: GB/T 9704-2012 layout checked from pixels and from character boxes."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date

import pypdfium2 as pdfium
import pytest
from PIL import Image

from domain.documents import compile_pdf, deadline_phrase
from domain.documents import layout as L
from domain.documents.content import Thumbnail
from domain.documents.pages import Photo, Text, plan
from tests.factories.notice_content import NUMBER, PROBLEM_TEXTS, notice, thumbnail_jpeg

DPI = 150
PX = DPI / 25.4  # pixels per mm


@pytest.fixture(autouse=True)
def clean_state():
    """The compiler is pure: these tests need no database or Redis (overrides conftest's)."""
    yield


@pytest.fixture(scope="module")
def issued() -> bytes:
    return compile_pdf(notice())


@pytest.fixture(scope="module")
def doc(issued):
    return pdfium.PdfDocument(issued)


def raster(doc, index: int) -> Image.Image:
    return doc[index].render(scale=DPI / 72).to_pil().convert("RGB")


def chars(doc, index: int) -> list[tuple[str, float, float, float, float]]:
    """(char, left, top, right, bottom) in mm from the paper's top-left corner; no spaces."""
    page = doc[index]
    tp = page.get_textpage()
    out = []
    for i in range(tp.count_chars()):
        ch = tp.get_text_range(i, 1)
        if not ch.strip():
            continue
        left, bottom, right, top = tp.get_charbox(i)
        out.append((ch, left * L.PT, L.PAGE_HEIGHT - top * L.PT, right * L.PT,
                    L.PAGE_HEIGHT - bottom * L.PT))
    return out


def lines(boxes) -> list[list]:
    """Characters grouped into text lines by their vertical centre (a new line past 3 mm)."""
    rows: list[list] = []
    for box in sorted(boxes, key=lambda b: ((b[2] + b[4]) / 2, b[1])):
        centre = (box[2] + box[4]) / 2
        if rows and abs(centre - rows[-1][0]) < 3:
            rows[-1][1].append(box)
        else:
            rows.append([centre, [box]])
    return [sorted(r[1], key=lambda b: b[1]) for r in rows]


def page_text(doc, index: int) -> str:
    return doc[index].get_textpage().get_text_range()


def flat_text(doc) -> str:
    """The text of all pages without page numbers, so paragraphs read across page breaks."""
    return "".join(b[0] for i in range(len(doc)) for b in chars(doc, i) if b[2] < L.BLOCK_BOTTOM)


def is_red(px) -> bool:
    r, g, b = px
    return r > 180 and g < 90 and b < 90


def test_first_page_is_not_blank(doc):
    im = raster(doc, 0).convert("L")
    dark = sum(im.point(lambda v: 255 if v < 128 else 0).histogram()[255:])
    assert dark > 0.01 * im.width * im.height


def test_red_mark_stands_35_mm_below_the_top_of_the_text_block_centred(doc):
    im = raster(doc, 0)
    red_rows = [y for y in range(int(60 * PX), int(100 * PX))
                if any(is_red(im.getpixel((x, y))) for x in range(int(28 * PX), int(184 * PX), 2))]
    assert red_rows, "no red mark"
    assert red_rows[0] / PX == pytest.approx(L.MARK_TOP, abs=2.0)  # glyph ink sits just inside its em box
    xs = [x for x in range(im.width) if is_red(im.getpixel((x, red_rows[len(red_rows) // 2])))]
    assert (xs[0] + xs[-1]) / 2 / PX == pytest.approx(L.PAGE_WIDTH / 2 - 1, abs=2.5)


def test_red_line_is_156_mm_long_4_mm_below_the_document_number(doc):
    im = raster(doc, 0)
    number_boxes = [b for b in chars(doc, 0) if 95 < b[2] < 130]
    number_bottom = max(b[4] for b in number_boxes)
    x_mid = int(L.PAGE_WIDTH / 2 * PX)
    rows = [y for y in range(int(number_bottom * PX), int((number_bottom + 10) * PX))
            if is_red(im.getpixel((x_mid, y)))]
    assert rows, "no red line below the number"
    y = rows[len(rows) // 2]
    assert y / PX - number_bottom == pytest.approx(L.RED_LINE_GAP, abs=1.5)
    xs = [x for x in range(im.width) if is_red(im.getpixel((x, y)))]
    assert (xs[-1] - xs[0] + 1) / PX == pytest.approx(L.BLOCK_WIDTH, abs=0.6)
    assert xs[0] / PX == pytest.approx(L.BLOCK_LEFT, abs=0.6)


def test_chinese_text_and_the_document_number_extract(doc):
    first = re.sub(r"\s", "", page_text(doc, 0))
    assert NUMBER in first
    assert "蓬江区人民政府督查室" in first
    assert "蓬江区市场监督管理局：" in first
    everything = flat_text(doc)
    for text in PROBLEM_TEXTS:
        assert text in everything
    assert "自印发（签收）之日起3个工作日内（2026年12月1日前）" in everything
    assert "附件：1.整改问题照片" in everything


def test_a_body_page_holds_22_lines_of_28_characters_on_the_grid(doc):
    body = [b for b in chars(doc, 1) if b[4] < L.BLOCK_BOTTOM + 1]
    rows = lines(body)
    assert len(rows) == L.LINES_PER_PAGE
    centres = [(r[0][2] + r[0][4]) / 2 for r in rows]
    pitches = [b - a for a, b in zip(centres, centres[1:])]
    assert sum(pitches) / len(pitches) == pytest.approx(L.LINE_PITCH, abs=0.05)
    assert max(len(r) for r in rows) <= L.CHARS_PER_LINE + 6  # digits are half width


def test_a_line_of_han_characters_holds_28_of_them_from_margin_to_margin():
    long = "窗口工作人员未按规定佩戴工作牌" * 8  # no punctuation: nothing moves for 避头尾
    content = notice(problems=1, photos_each=0, attachments=())
    content = replace(content, problems=(replace(content.problems[0], text=long),))
    pdf = pdfium.PdfDocument(compile_pdf(content))
    rows = [r for i in range(len(pdf)) for r in lines(chars(pdf, i))
            if "".join(b[0] for b in r) in long and len(r) > 20]
    full = [r for r in rows if r[0][1] < L.BLOCK_LEFT + 1]  # not the indented first line
    assert len(full) >= 3
    for row in full[:-1]:  # the paragraph's last line is short
        assert len(row) == L.CHARS_PER_LINE
        assert row[0][1] == pytest.approx(L.BLOCK_LEFT, abs=0.6)
        assert row[-1][3] == pytest.approx(L.BLOCK_RIGHT, abs=0.6)
        for k, box in enumerate(row):  # every character on its grid cell
            assert (box[1] + box[3]) / 2 == pytest.approx(L.BLOCK_LEFT + (k + 0.5) * L.CHAR_PITCH, abs=0.5)


def test_every_character_but_the_page_number_stays_inside_the_text_block(doc):
    for i in range(len(doc)):
        for ch, left, top, right, bottom in chars(doc, i):
            if top > L.BLOCK_BOTTOM:  # the page number sits outside the 版心 by the standard
                continue
            assert L.BLOCK_LEFT - 0.3 <= left and right <= L.BLOCK_RIGHT + 0.3, (i, ch, left, right)
            assert L.BLOCK_TOP - 0.3 <= top and bottom <= L.BLOCK_BOTTOM + 0.3, (i, ch, top, bottom)


def test_page_numbers_alternate_sides_one_character_in_7_mm_below_the_block(doc):
    seen = []
    for i in range(len(doc)):
        foot = [b for b in chars(doc, i) if b[2] > L.BLOCK_BOTTOM]
        if not foot:
            continue
        text = "".join(b[0] for b in foot)
        assert text == f"—{i + 1}—"
        dash = foot[0]
        assert dash[2] == pytest.approx(L.BLOCK_BOTTOM + L.PAGE_NUMBER_GAP, abs=0.6)
        if (i + 1) % 2:
            assert foot[-1][3] == pytest.approx(L.BLOCK_RIGHT - L.CHAR_PITCH, abs=0.8)
        else:
            assert foot[0][1] == pytest.approx(L.BLOCK_LEFT + L.CHAR_PITCH, abs=0.8)
        seen.append(i + 1)
    assert seen[:2] == [1, 2]


def test_the_colophon_ends_an_even_page_on_the_bottom_of_the_text_block(doc):
    last = len(doc) - 1
    assert len(doc) % 2 == 0
    text = re.sub(r"\s", "", page_text(doc, last))
    assert "抄送：蓬江区人民政府办公室，蓬江区政务服务数据管理局。" in text
    assert "2026年11月24日印发" in text
    im = raster(doc, last).convert("L")
    y = round(L.BLOCK_BOTTOM * PX)
    row = max(range(y - 2, y + 3), key=lambda r: sum(im.getpixel((x, r)) < 100 for x in range(im.width)))
    xs = [x for x in range(im.width) if im.getpixel((x, row)) < 100]
    assert (xs[-1] - xs[0] + 1) / PX == pytest.approx(L.BLOCK_WIDTH, abs=0.6)
    # the 版记 has a page of its own here: such a page carries no number
    assert "—" not in text


def test_the_colophon_shares_an_even_page_that_has_room_and_that_page_is_numbered():
    pdf = pdfium.PdfDocument(compile_pdf(notice(problems=1, photos_each=0, attachments=())))
    assert len(pdf) == 2
    text = re.sub(r"\s", "", page_text(pdf, 1))
    assert "抄送：" in text and "—2—" in text and "2026年11月24日印发" in text


def test_the_signature_date_stands_four_characters_in_from_the_right(doc):
    for i in range(len(doc)):
        for row in lines(chars(doc, i)):
            if "".join(b[0] for b in row) == "2026年11月24日":  # not the 印发 line
                assert row[-1][3] == pytest.approx(L.BLOCK_RIGHT - 4 * L.CHAR_PITCH, abs=1.0)
                return
    pytest.fail("no 成文日期 found")


def test_attachment_pages_carry_the_label_and_every_photo(doc):
    content = notice()
    texts = [re.sub(r"\s", "", page_text(doc, i)) for i in range(len(doc))]
    photo_pages = [i for i, t in enumerate(texts) if t.startswith("附件1")]
    assert photo_pages
    images = sum(1 for i in range(len(doc))
                 for _ in doc[i].get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,)))
    assert images == len(content.thumbnails)
    assert any(t.startswith("附件2整改情况回执") for t in texts)


def test_a_draft_is_watermarked_on_every_page_and_has_no_number():
    draft = pdfium.PdfDocument(compile_pdf(notice(draft=True)))
    for i in range(len(draft)):
        assert "草稿" in re.sub(r"\s", "", page_text(draft, i))
    assert "〔2026〕" not in flat_text(draft)


def test_the_same_content_gives_the_same_bytes_and_a_change_gives_others(issued):
    assert compile_pdf(notice()) == issued
    assert notice().canonical_hash() == notice().canonical_hash()
    changed = notice(cc=("蓬江区人民政府办公室",))
    assert changed.canonical_hash() != notice().canonical_hash()
    assert compile_pdf(changed) != issued


def test_the_content_hash_covers_the_photos_bytes():
    a = notice(problems=1)
    other = Thumbnail(thumbnail_jpeg(999), a.problems[0].thumbnails[0].caption)
    p = a.problems[0]
    b = replace(a, problems=(replace(p, thumbnails=(other,)),))
    assert a.canonical_hash() != b.canonical_hash()


def test_fonts_are_embedded_as_small_subsets(issued):
    assert issued.count(b"/FontFile2") == 2  # serif and sans, TrueType subsets
    assert len(issued) < 200_000  # the shipped fonts are 11 MB and 8 MB each
    assert b"/CreationDate (D:20261124023000Z" in issued


def test_a_thumbnail_that_carries_exif_is_refused():
    im = Image.new("RGB", (320, 240), "grey")
    exif = Image.Exif()
    exif[0x0132] = "2026:11:20 09:15:00"  # DateTime: the visit time would leak
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    with pytest.raises(ValueError):
        Thumbnail(out.getvalue(), "照片")


def test_a_deadline_states_its_date_only_when_fixed_at_issue():
    assert deadline_phrase(5) == "自印发（签收）之日起5个工作日内"
    assert deadline_phrase(5, date(2026, 12, 1)) == "自印发（签收）之日起5个工作日内（2026年12月1日前）"


def test_a_draft_has_no_number_and_an_issued_notice_needs_a_well_formed_one():
    with pytest.raises(ValueError):
        notice(draft=True, number=NUMBER)
    for wrong in ("蓬督查[2026]15号", "蓬督查〔2026〕015号", "蓬督查〔26〕15号", "蓬督查〔2026〕第15号"):
        with pytest.raises(ValueError):
            notice(number=wrong)


def test_fifty_problems_plan_onto_numbered_pages_ending_on_an_even_page():
    pages = plan(notice(problems=50))
    assert len(pages) % 2 == 0
    photos = [op for p in pages for op in p.ops if isinstance(op, Photo)]
    assert len(photos) == 50
    for n, page in enumerate(pages, 1):
        foot = [op.text for op in page.ops if isinstance(op, Text) and op.baseline > L.BLOCK_BOTTOM]
        assert foot == ([f"— {n} —"] if page.numbered else [])
        for op in page.ops:
            if isinstance(op, Photo):
                assert L.BLOCK_LEFT <= op.x and op.x + op.w <= L.BLOCK_RIGHT + 1e-6
                assert L.BLOCK_TOP <= op.y and op.y + op.h <= L.BLOCK_BOTTOM + 1e-6


def test_fonts_are_parsed_once_per_process():
    from domain.documents.fonts import faces

    assert faces() is faces()
    assert faces()["serif"].advance("国") == 1.0  # a Han character fills one em: the grid holds


def test_the_mark_and_the_title_are_drawn_heavy_and_the_body_is_not(doc):
    """Noto Serif SC ships one weight: fill-and-stroke gives the 小标宋 look (mode 2)."""
    modes = [pdfium.raw.FPDFTextObj_GetTextRenderMode(obj.raw)
             for obj in doc[0].get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_TEXT,))]
    heavy = modes.count(pdfium.raw.FPDF_TEXTRENDERMODE_FILL_STROKE)
    assert heavy == 1 + 2  # the mark and the two title lines
    assert modes.count(pdfium.raw.FPDF_TEXTRENDERMODE_FILL) > 5
