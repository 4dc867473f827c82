"""The notice as a PDF (fpdf2): draws the page plan of pages.py with embedded, subset fonts.

Same content, same bytes: CreationDate is the content's ``issued_at``, the font subsets are
deterministic and fpdf2's /ID is a hash of the output (no random ids); a test holds it.
"""
from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.fonts import TTFFont

from . import layout as L
from .content import NoticeContent
from .fonts import faces
from .pages import Page, Photo, Rule, Text, plan

WATERMARK = "草稿"
WATERMARK_SIZE = 120.0  # pt
WATERMARK_GREY = (200, 200, 200)


def _register_fonts(pdf: FPDF, pages: list[Page], draft: bool) -> None:
    """One small TrueType per face with the characters this document uses (see fonts.py)."""
    used: dict[str, set[str]] = {"serif": set(WATERMARK) if draft else set(), "sans": set()}
    for page in pages:
        for op in page.ops:
            if isinstance(op, Text):
                used[op.face].update(op.text)
    for key, face in faces().items():
        if not used[key]:
            continue
        # fpdf2 2.8's TTFFont reads any file object; add_font() insists on a path on disk.
        font = TTFFont(pdf, io.BytesIO(face.subset_font(used[key])), key, "")
        font.ttfont.recalcBBoxes = False
        pdf.fonts[key] = font


def _watermark(pdf: FPDF) -> None:
    pdf.set_font("serif", size=WATERMARK_SIZE)
    pdf.set_char_spacing(0)
    pdf.set_text_color(*WATERMARK_GREY)
    cx, cy = L.PAGE_WIDTH / 2, L.PAGE_HEIGHT / 2
    w = pdf.get_string_width(WATERMARK)
    with pdf.rotation(35, cx, cy):
        pdf.text(cx - w / 2, cy + WATERMARK_SIZE * L.PT * 0.38, WATERMARK)


def _draw(pdf: FPDF, op) -> None:
    if isinstance(op, Text):
        pdf.set_font(op.face, size=op.size)
        pdf.set_char_spacing(op.tracking)
        colour = L.RED if op.red else (0, 0, 0)
        pdf.set_text_color(*colour)
        if op.stroke:
            pdf.set_draw_color(*colour)
            with pdf.local_context(text_mode="FILL_STROKE", line_width=op.stroke):
                pdf.text(op.x, op.baseline, op.text)
        else:
            pdf.text(op.x, op.baseline, op.text)
    elif isinstance(op, Rule):
        # A filled bar, not a stroked line: fpdf2 strokes with square caps ("2 J"), which
        # would make a 156 mm rule 156 mm plus its width.
        pdf.set_fill_color(*(L.RED if op.red else (0, 0, 0)))
        pdf.rect(op.x0, op.y - op.width / 2, op.x1 - op.x0, op.width, style="F")
    elif isinstance(op, Photo):
        pdf.image(io.BytesIO(op.jpeg), x=op.x, y=op.y, w=op.w, h=op.h)


def compile_pdf(content: NoticeContent) -> bytes:
    """The notice laid out after GB/T 9704-2012; a draft is watermarked 草稿 and has no number."""
    pages = plan(content)
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(L.MARGIN_LEFT, L.MARGIN_TOP, L.MARGIN_RIGHT)
    pdf.set_creation_date(content.issued_at)
    pdf.set_title(content.title)
    pdf.set_author(content.signing_office)
    pdf.set_lang("zh-CN")
    _register_fonts(pdf, pages, content.draft)
    for page in pages:
        pdf.add_page()
        if content.draft:
            _watermark(pdf)
        for op in page.ops:
            _draw(pdf, op)
    return bytes(pdf.output())
