"""The notice as a DOCX (python-docx) the office can edit before stamping.

Same margins and document grid as the PDF (22 lines × 28 characters), the official font names
in ``w:eastAsia`` (offices that have 方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312 get them),
page numbers on alternating sides. Same content, same bytes: the core properties are pinned
to ``issued_at`` and the zip entries carry a fixed timestamp.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timezone
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image as DocxImage
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.shape import CT_Inline
from docx.parts.image import ImagePart
from lxml import etree
from docx.shared import Mm, Pt, RGBColor

from . import layout as L
from .blocks import (Block, Style, attachment_note, attachment_titles, body_blocks, colophon_lines,
                     photo_captions)
from .content import NoticeContent, chinese_date
from .fonts import faces
from .pages import title_lines, width

# The faces the standard asks for, by their usual Windows names (the DOCX only names them).
EAST_ASIA = {Style.MARK: "方正小标宋简体", Style.TITLE: "方正小标宋简体", Style.BODY: "仿宋_GB2312",
             Style.LEVEL1: "黑体", Style.LEVEL2: "楷体_GB2312", Style.LABEL: "黑体",
             Style.NUMERAL: "宋体"}
LATIN = "Times New Roman"  # practice: Arabic numerals and Latin letters in the body
RED = RGBColor(*L.RED)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _fonts(run, style: Style, size: float) -> None:
    """For the few runs made through python-docx (footers, header)."""
    run.font.size = Pt(size)
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    latin = EAST_ASIA[style] if style is Style.NUMERAL else LATIN
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), EAST_ASIA[style])


def _ind(first: int = 0, left: int = 0, hanging: int = 0, right: int = 0) -> str:
    """Indents in characters (w:*Chars, hundredths of a 字), with twips twins for other editors."""
    attrs = "".join(f' w:{a}Chars="{n * 100}" w:{a}="{L.twips(n * L.CHAR_PITCH)}"'
                    for a, n in (("firstLine", first), ("left", left), ("hanging", hanging),
                                 ("right", right)) if n)
    return f"<w:ind{attrs}/>" if attrs else ""


def _border(edge: str, width_mm: float, space_pt: int = 1, colour: str = "000000") -> str:
    return (f'<w:{edge} w:val="single" w:sz="{round(width_mm / L.PT * 8)}"'  # eighths of a point
            f' w:space="{space_pt}" w:color="{colour}"/>')


def _run(text: str, style: Style, size: float, red: bool = False) -> str:
    latin = EAST_ASIA[style] if style is Style.NUMERAL else LATIN
    colour = '<w:color w:val="%02X%02X%02X"/>' % L.RED if red else ""
    half = round(size * 2)
    parts = text.split("\t")
    body = "<w:tab/>".join(f'<w:t xml:space="preserve">{escape(t)}</w:t>' for t in parts)
    return (f'<w:r><w:rPr><w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia='
            f'"{EAST_ASIA[style]}"/>{colour}<w:sz w:val="{half}"/><w:szCs w:val="{half}"/>'
            f"</w:rPr>{body}</w:r>")


def _p(text: str = "", style: Style = Style.BODY, size: float = L.BODY_SIZE, align: str = "",
       ind: str = "", red: bool = False, borders: str = "", tabs: str = "",
       before_twips: int = 0, content: str = "") -> str:
    """One w:p as XML: python-docx's element API costs ~5 ms a paragraph, this ~20 µs."""
    bdr = f"<w:pBdr>{borders}</w:pBdr>" if borders else ""
    jc = f'<w:jc w:val="{align}"/>' if align else ""
    ppr = f'{bdr}{tabs}<w:spacing w:before="{before_twips}" w:after="0"/>{ind}{jc}'
    runs = (_run(text, style, size, red) if text else "") + content
    return f"<w:p><w:pPr>{ppr}</w:pPr>{runs}</w:p>"


def _block(b: Block) -> str:
    if b.hang:
        return _p(b.text, b.style, ind=_ind(left=b.hang, hanging=b.hang - b.indent))
    return _p(b.text, b.style, ind=_ind(first=b.indent))


def _page_setup(doc) -> None:
    s = doc.sections[0]
    s.page_width, s.page_height = Mm(L.PAGE_WIDTH), Mm(L.PAGE_HEIGHT)
    s.top_margin, s.bottom_margin = Mm(L.MARGIN_TOP), Mm(L.MARGIN_BOTTOM)
    s.left_margin, s.right_margin = Mm(L.MARGIN_LEFT), Mm(L.MARGIN_RIGHT)
    s.header_distance = Mm(15)
    # Footer from the bottom edge: the dash's top lands about 7 mm below the 版心.
    s.footer_distance = Mm(L.MARGIN_BOTTOM - L.PAGE_NUMBER_GAP - 5.0)
    grid = s._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        s._sectPr.append(grid)
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(L.DOCX_LINE_PITCH))
    grid.set(qn("w:charSpace"), str(L.DOCX_CHAR_SPACE))
    normal = doc.styles["Normal"]
    normal.font.size = Pt(L.BODY_SIZE)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)
    fonts.set(qn("w:eastAsia"), EAST_ASIA[Style.BODY])
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(s.footer.paragraphs[0], odd=True)
    _page_number(s.even_page_footer.paragraphs[0], odd=False)


def _page_number(p, odd: bool) -> None:
    """"— N —" in 4号宋体, odd pages right and even pages left, one character in."""
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    ind = p._p.get_or_add_pPr().get_or_add_ind()
    side = "right" if odd else "left"
    ind.set(qn(f"w:{side}Chars"), "100")
    ind.set(qn(f"w:{side}"), str(L.twips(L.CHAR_PITCH)))
    _fonts(p.add_run("— "), Style.NUMERAL, L.PAGE_NUMBER_SIZE)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    p._p.append(field)
    _fonts(p.add_run(" —"), Style.NUMERAL, L.PAGE_NUMBER_SIZE)


def _blank(n: int = 1) -> list[str]:
    return [_p() for _ in range(n)]


def _head(c: NoticeContent) -> list[str]:
    serif = faces()["serif"]
    n = sum(serif.advance(ch) for ch in c.office_mark)
    em = min(L.MARK_MAX_EM, L.MARK_MAX_WIDTH / n)
    out = [_p(c.office_mark, Style.MARK, em / L.PT, "center", red=True,
              before_twips=L.twips(L.MARK_TOP - L.BLOCK_TOP - 2))]
    out += _blank(L.NUMBER_GAP_LINES)
    red = "%02X%02X%02X" % L.RED
    out.append(_p(c.number or "", align="center",
                  borders=_border("bottom", L.RED_LINE_WIDTH, round(L.RED_LINE_GAP / L.PT), red)))
    out += _blank(L.TITLE_GAP_LINES)
    out += [_p(line, Style.TITLE, L.TITLE_SIZE, "center") for line in title_lines(c.title)]
    return out + _blank()


def _signature(c: NoticeContent) -> list[str]:
    """成文日期 four characters in from the right, the 署名 centred above it (for the seal)."""
    serif = faces()["serif"]
    date_text = chinese_date(c.date)
    dw = width(serif, date_text, L.BODY_SIZE, L.BODY_TRACKING_PT) / L.CHAR_PITCH
    nw = width(serif, c.signing_office, L.BODY_SIZE, L.BODY_TRACKING_PT) / L.CHAR_PITCH
    name_right = max(0, round(L.DATE_RIGHT_INDENT + (dw - nw) / 2))
    return [*_blank(L.SIGNATURE_GAP_LINES),
            _p(c.signing_office, align="right", ind=_ind(right=name_right)),
            _p(date_text, align="right", ind=_ind(right=L.DATE_RIGHT_INDENT))]


PAGE_BREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'


class _Images:
    """Image parts made directly, one per distinct photo (python-docx's add_picture rescans
    the whole document for every picture, quadratic in the photo count)."""

    def __init__(self, doc):
        self.part = doc.part
        self.by_hash: dict[bytes, str] = {}
        self.shape_id = 1000

    def inline(self, jpeg: bytes, width_mm: float) -> str:
        key = hashlib.sha256(jpeg).digest()
        image = DocxImage.from_blob(jpeg)
        rid = self.by_hash.get(key)
        if rid is None:
            uri = PackURI(f"/word/media/image{len(self.by_hash) + 1}.{image.ext}")
            rid = self.part.relate_to(ImagePart.from_image(image, uri), RT.IMAGE)
            self.by_hash[key] = rid
        cx, cy = image.scaled_dimensions(Mm(width_mm), None)
        self.shape_id += 1
        inline = CT_Inline.new_pic_inline(self.shape_id, rid, image.filename, cx, cy)
        return f"<w:r><w:drawing>{etree.tostring(inline, encoding='unicode')}</w:drawing></w:r>"


def _attachments(doc, c: NoticeContent) -> list[str]:
    titles, out, number = attachment_titles(c), [], 0
    if c.thumbnails:
        number += 1
        out += _attachment_head(number, titles[0])
        images, captions, thumbs = _Images(doc), photo_captions(c), c.thumbnails
        col_w = L.twips(L.PHOTO_BOX_WIDTH + L.PHOTO_GAP / 2)
        rows = []
        for row in range(0, len(thumbs), L.PHOTO_COLUMNS):
            cells = []
            for col in range(L.PHOTO_COLUMNS):
                if row + col < len(thumbs):
                    pic = images.inline(thumbs[row + col].jpeg, L.PHOTO_BOX_WIDTH - 5)
                    body = (_p(align="center", content=pic)
                            + _p(captions[row + col], size=L.CAPTION_SIZE, align="center"))
                else:
                    body = _p()
                cells.append(f'<w:tc><w:tcPr><w:tcW w:w="{col_w}" w:type="dxa"/></w:tcPr>'
                             f"{body}</w:tc>")
            rows.append(f'<w:tr><w:trPr><w:cantSplit/></w:trPr>{"".join(cells)}</w:tr>')
        grid = "".join(f'<w:gridCol w:w="{col_w}"/>' for _ in range(L.PHOTO_COLUMNS))
        out.append(f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/><w:jc w:val="center"/>'
                   f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>")
    for att in c.attachments:
        number += 1
        out += _attachment_head(number, att.title)
        out += [_block(Block(Style.BODY, text)) for text in att.paragraphs]
    return out


def _attachment_head(number: int, title: str) -> list[str]:
    return [PAGE_BREAK, _p(f"附件{number}", Style.LABEL), *_blank(),
            _p(title, Style.TITLE, L.TITLE_SIZE, "center"), *_blank()]


def _colophon(c: NoticeContent) -> list[str]:
    """版记: thick rule, 抄送, thin rule, 印发 line with the date right, thick rule.

    Word reflows, so the DOCX cannot promise the 版记 sits at the foot of an even page; the
    office checks that before printing (the PDF does place it there).
    """
    cc, office, printed = colophon_lines(c)
    out = _blank()
    if cc:
        out.append(_p(cc, size=L.COLOPHON_SIZE, borders=_border("top", L.COLOPHON_THICK),
                      ind=_ind(left=L.COLOPHON_INDENT + 3, hanging=3, right=L.COLOPHON_INDENT)))
    tab = f'<w:tabs><w:tab w:val="right" w:pos="{L.twips(L.BLOCK_WIDTH - 2 * L.CHAR_PITCH)}"/></w:tabs>'
    top = _border("top", L.COLOPHON_THIN if cc else L.COLOPHON_THICK)
    out.append(_p(f"{office}\t{printed}", size=L.COLOPHON_SIZE, tabs=tab,
                  borders=top + _border("bottom", L.COLOPHON_THICK),
                  ind=_ind(left=L.COLOPHON_INDENT, right=L.COLOPHON_INDENT)))
    return out


def _append(doc, paragraphs: list[str]) -> None:
    """Parse the body once and put it before the section properties."""
    body = doc.element.body
    sect = body[-1]
    parsed = parse_xml(f"<w:body {nsdecls('w', 'wp', 'a', 'pic', 'r')}>{''.join(paragraphs)}</w:body>")
    for el in list(parsed):
        sect.addprevious(el)


def _draft_mark(doc) -> None:
    """草稿 in grey in the header of every page: visible, and gone once issued."""
    s = doc.sections[0]
    for header in (s.header, s.even_page_header):
        p = header.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run("草稿")
        _fonts(run, Style.LEVEL1, 36)
        run.font.color.rgb = RGBColor(0xA0, 0xA0, 0xA0)


def _pin(doc, c: NoticeContent) -> None:
    at = c.issued_at.astimezone(timezone.utc).replace(tzinfo=None)
    props = doc.core_properties
    props.created = props.modified = props.last_printed = at
    props.title = c.title
    props.author = props.last_modified_by = c.signing_office
    props.revision = 1
    props.comments = ""
    props.language = "zh-CN"


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite the package with one fixed timestamp per entry, keeping the entry order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def compile_docx(content: NoticeContent) -> bytes:
    """The editable notice; a draft has no number and 草稿 in its header."""
    doc = Document()
    _page_setup(doc)
    if content.draft:
        _draft_mark(doc)
    body = _head(content) + [_block(b) for b in body_blocks(content)]
    note = attachment_note(content)
    if note:
        body += _blank() + [_block(b) for b in note]
    body += _signature(content) + _attachments(doc, content) + _colophon(content)
    _append(doc, body)
    _pin(doc, content)
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue())
