"""Where everything of a notice stands on which page: pure geometry in mm, no PDF library.

The body runs on the GB/T 9704 grid (22 lines × 28 characters); the head, the photos and the
版记 are placed in millimetres from the standard's numbers in layout.py. pdf.py only draws
what this module decides, so the rules are testable from the page plan and the PDF alike.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

from PIL import Image

from . import layout as L
from .blocks import (Block, Style, attachment_note, attachment_titles, body_blocks, colophon_lines,
                     photo_captions)
from .content import NoticeContent, chinese_date
from .fonts import Face, faces

FACE_OF = {Style.MARK: "serif", Style.TITLE: "serif", Style.BODY: "serif", Style.LEVEL1: "sans",
           Style.LEVEL2: "serif", Style.LABEL: "sans", Style.NUMERAL: "serif"}
# No line may start with closing punctuation nor end with an opening one (避头尾).
NO_START = set("，。、；：？！）》」』”’…—%·〕】")
NO_END = set("（《「『“‘〔【")
TITLE_BREAK_AFTER = set("局室府会委办厅院部处所站的于和及与关")


@dataclass(frozen=True)
class Text:
    face: str
    size: float  # pt
    x: float  # mm from the left edge of the paper
    baseline: float  # mm from the top edge
    text: str
    red: bool = False
    stroke: float = 0.0  # mm; > 0 draws fill and stroke (the heavy 小标宋 stand-in)
    tracking: float = 0.0  # pt between characters


@dataclass(frozen=True)
class Rule:
    x0: float
    x1: float
    y: float
    width: float
    red: bool = False


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    x: float
    y: float
    w: float
    h: float


@dataclass
class Page:
    ops: list = field(default_factory=list)
    numbered: bool = True
    used: int = 0  # grid lines taken from the top


def _em(size: float) -> float:
    return size * L.PT


def width(face: Face, text: str, size: float, tracking: float = 0.0) -> float:
    return sum(face.advance(ch) for ch in text) * _em(size) + len(text) * tracking * L.PT


def wrap(face: Face, text: str, size: float, tracking: float, first: float, rest: float) -> list[str]:
    """Greedy breaks within ``first`` mm for line one and ``rest`` mm after, keeping 避头尾."""
    lines: list[str] = []
    current, used = "", 0.0
    for ch in text:
        w = face.advance(ch) * _em(size) + tracking * L.PT
        limit = first if not lines else rest
        if current and used + w > limit + 1e-6:
            carry = ""
            if ch in NO_START or current[-1] in NO_END:
                carry, current = current[-1], current[:-1]  # push one character down instead
            lines.append(current)
            current, used = carry, width(face, carry, size, tracking)
        current += ch
        used += w
    if current:
        lines.append(current)
    return lines


def title_lines(title: str) -> list[str]:
    """Lines of at most TITLE_MAX_CHARS, as even as possible, broken after a word's end.

    We have no word segmentation; a break after an office or a particle (局, 室, 的, 于…)
    keeps the common names and phrases whole.
    """
    lines, rest = [], title
    while len(rest) > L.TITLE_MAX_CHARS:
        n = math.ceil(len(rest) / L.TITLE_MAX_CHARS)
        even = math.ceil(len(rest) / n)
        cuts = [i for i in range(max(1, even - 6), min(len(rest), L.TITLE_MAX_CHARS) + 1)
                if rest[i - 1] in TITLE_BREAK_AFTER
                and len(rest) - i <= L.TITLE_MAX_CHARS * (n - 1)]
        cut = min(cuts, key=lambda i: abs(i - even)) if cuts else even
        lines.append(rest[:cut])
        rest = rest[cut:]
    return [*lines, rest]


def slot_baseline(slot: int, size: float, face: Face) -> float:
    """Baseline of a glyph centred on grid line ``slot`` (the ideographic em box in the line)."""
    em = _em(size)
    return L.BLOCK_TOP + slot * L.LINE_PITCH + (L.LINE_PITCH - em) / 2 + _ascent(face) * em


def _ascent(face: Face) -> float:
    return face.ascent


class Planner:
    """Builds the pages of one notice."""

    def __init__(self, content: NoticeContent):
        self.c = content
        self.f = faces()
        self.pages: list[Page] = []

    # -- grid lines -------------------------------------------------------------------------
    def _block_lines(self, b: Block) -> list[tuple[float, str]]:
        face, size, track = self.f[FACE_OF[b.style]], L.BODY_SIZE, L.BODY_TRACKING_PT
        first_x, rest_x = b.indent * L.CHAR_PITCH, b.hang * L.CHAR_PITCH
        texts = wrap(face, b.text, size, track, L.BLOCK_WIDTH - first_x, L.BLOCK_WIDTH - rest_x)
        return [(first_x if i == 0 else rest_x, t) for i, t in enumerate(texts)]

    def _new_page(self) -> Page:
        self.pages.append(Page())
        return self.pages[-1]

    def _grid_text(self, page: Page, slot: int, style: Style, x: float, text: str) -> None:
        face = self.f[FACE_OF[style]]
        page.ops.append(Text(FACE_OF[style], L.BODY_SIZE, L.BLOCK_LEFT + x,
                             slot_baseline(slot, L.BODY_SIZE, face), text,
                             tracking=L.BODY_TRACKING_PT))

    def _flow(self, items: list[tuple[Style, float, str] | None], page: Page) -> Page:
        """Lay lines (None = a blank line) down the grid, starting new pages as needed."""
        for item in items:
            if page.used >= L.LINES_PER_PAGE:
                page = self._new_page()
            if item is None:
                if page.used:  # a blank line never opens a page
                    page.used += 1
                continue
            style, x, text = item
            self._grid_text(page, page.used, style, x, text)
            page.used += 1
        return page

    def _items(self, blocks: list[Block]) -> list:
        return [(b.style, x, t) for b in blocks for x, t in self._block_lines(b)]

    # -- 版头 and title ------------------------------------------------------------------------
    def _head(self, page: Page) -> None:
        serif, c = self.f["serif"], self.c
        n = sum(serif.advance(ch) for ch in c.office_mark)
        em = min(L.MARK_MAX_EM, L.MARK_MAX_WIDTH / n)
        size = em / L.PT
        page.ops.append(Text("serif", size, L.BLOCK_LEFT + (L.BLOCK_WIDTH - n * em) / 2,
                             L.MARK_TOP + _ascent(serif) * em, c.office_mark, red=True,
                             stroke=L.MARK_STROKE * em))
        cell_top = L.MARK_TOP + em + L.NUMBER_GAP_LINES * L.LINE_PITCH
        body_em = _em(L.BODY_SIZE)
        glyph_top = cell_top + (L.LINE_PITCH - body_em) / 2
        if c.number is not None:
            w = width(serif, c.number, L.BODY_SIZE)
            page.ops.append(Text("serif", L.BODY_SIZE, L.BLOCK_LEFT + (L.BLOCK_WIDTH - w) / 2,
                                 glyph_top + _ascent(serif) * body_em, c.number))
        red_y = glyph_top + body_em + L.RED_LINE_GAP
        page.ops.append(Rule(L.BLOCK_LEFT, L.BLOCK_RIGHT, red_y, L.RED_LINE_WIDTH, red=True))
        slot = math.ceil((red_y + L.RED_LINE_WIDTH / 2 - L.BLOCK_TOP) / L.LINE_PITCH)
        slot += L.TITLE_GAP_LINES
        for line in title_lines(c.title):
            self._title_text(page, slot, line)
            slot += 1
        page.used = slot + 1  # one blank line before the addressee

    def _title_text(self, page: Page, slot: int, line: str, size: float = L.TITLE_SIZE) -> None:
        serif = self.f["serif"]
        w = width(serif, line, size)
        page.ops.append(Text("serif", size, L.BLOCK_LEFT + (L.BLOCK_WIDTH - w) / 2,
                             slot_baseline(slot, size, serif), line,
                             stroke=L.TITLE_STROKE * _em(size)))

    # -- signature --------------------------------------------------------------------------
    def _signature(self, page: Page) -> Page:
        """署名 centred over the 成文日期, the date four characters in from the right.

        The group must share its page with text above it (a seal over blank space is not
        allowed), so when it does not fit, the last two lines move down with it.
        """
        need = L.SIGNATURE_GAP_LINES + 2
        if page.used + need > L.LINES_PER_PAGE:
            moved = [op for op in page.ops if isinstance(op, Text)][-2:]
            page.ops = [op for op in page.ops if op not in moved]
            page = self._new_page()
            for i, op in enumerate(moved):
                face = self.f[op.face]
                page.ops.append(Text(op.face, op.size, op.x, slot_baseline(i, op.size, face),
                                     op.text, tracking=op.tracking))
            page.used = len(moved)
        serif, date_text = self.f["serif"], chinese_date(self.c.date)
        slot = page.used + L.SIGNATURE_GAP_LINES
        dw = width(serif, date_text, L.BODY_SIZE, L.BODY_TRACKING_PT)
        dx = L.BLOCK_RIGHT - L.DATE_RIGHT_INDENT * L.CHAR_PITCH - dw
        nw = width(serif, self.c.signing_office, L.BODY_SIZE, L.BODY_TRACKING_PT)
        nx = min(dx + dw / 2 - nw / 2, L.BLOCK_RIGHT - nw)
        for s, x, t in ((slot, nx, self.c.signing_office), (slot + 1, dx, date_text)):
            page.ops.append(Text("serif", L.BODY_SIZE, x, slot_baseline(s, L.BODY_SIZE, serif), t,
                                 tracking=L.BODY_TRACKING_PT))
        page.used = slot + 2
        return page

    # -- 附件 ---------------------------------------------------------------------------------
    def _attachment_head(self, number: int, title: str) -> Page:
        page = self._new_page()
        self._grid_text(page, 0, Style.LABEL, 0, f"附件{number}")
        for i, line in enumerate(title_lines(title)):
            self._title_text(page, 2 + i, line)
            page.used = 4 + i
        return page

    def _photos(self, number: int) -> None:
        page = self._attachment_head(number, attachment_titles(self.c)[0])
        serif = self.f["serif"]
        captions = photo_captions(self.c)
        thumbs = self.c.thumbnails
        for row in range(0, len(thumbs), L.PHOTO_COLUMNS):
            if page.used + L.PHOTO_ROW_LINES > L.LINES_PER_PAGE:
                page = self._new_page()
            top = L.BLOCK_TOP + page.used * L.LINE_PITCH
            for col, thumb in enumerate(thumbs[row:row + L.PHOTO_COLUMNS]):
                left = L.BLOCK_LEFT + col * (L.PHOTO_BOX_WIDTH + L.PHOTO_GAP)
                pw, ph = Image.open(io.BytesIO(thumb.jpeg)).size
                scale = min(L.PHOTO_BOX_WIDTH / pw, L.PHOTO_BOX_HEIGHT / ph)
                w, h = pw * scale, ph * scale
                page.ops.append(Photo(thumb.jpeg, left + (L.PHOTO_BOX_WIDTH - w) / 2,
                                      top + L.PHOTO_BOX_HEIGHT - h, w, h))
                lines = wrap(serif, captions[row + col], L.CAPTION_SIZE, 0,
                             L.PHOTO_BOX_WIDTH, L.PHOTO_BOX_WIDTH)[:2]
                for i, line in enumerate(lines):
                    cw = width(serif, line, L.CAPTION_SIZE)
                    page.ops.append(Text("serif", L.CAPTION_SIZE,
                                         left + (L.PHOTO_BOX_WIDTH - cw) / 2,
                                         top + L.PHOTO_BOX_HEIGHT + 6.5 + i * 6.0, line))
            page.used += L.PHOTO_ROW_LINES

    # -- 版记 ---------------------------------------------------------------------------------
    def _colophon(self) -> None:
        """At the foot of the last page, which must be even; pages added for it are unnumbered."""
        cc, office, printed = colophon_lines(self.c)
        serif, size = self.f["serif"], L.COLOPHON_SIZE
        indent = L.COLOPHON_INDENT * _em(size)
        cc_lines = []
        if cc:
            label = width(serif, "抄送：", size)
            cc_lines = wrap(serif, cc, size, 0, L.BLOCK_WIDTH - 2 * indent,
                            L.BLOCK_WIDTH - 2 * indent - label)
        need = len(cc_lines) + 1
        last = self.pages[-1]
        if len(self.pages) % 2 == 1 or last.used + need > L.LINES_PER_PAGE:
            blanks = 1 if len(self.pages) % 2 == 1 else 2
            for _ in range(blanks):
                self._new_page().numbered = False
            last = self.pages[-1]
        first = L.LINES_PER_PAGE - need
        slot_top = lambda s: L.BLOCK_TOP + s * L.LINE_PITCH  # noqa: E731
        ops = last.ops
        ops.append(Rule(L.BLOCK_LEFT, L.BLOCK_RIGHT, slot_top(first), L.COLOPHON_THICK))
        for i, line in enumerate(cc_lines):
            x = L.BLOCK_LEFT + indent + (0 if i == 0 else label)
            ops.append(Text("serif", size, x, slot_baseline(first + i, size, serif), line))
        if cc_lines:
            ops.append(Rule(L.BLOCK_LEFT, L.BLOCK_RIGHT, slot_top(L.LINES_PER_PAGE - 1),
                            L.COLOPHON_THIN))
        base = slot_baseline(L.LINES_PER_PAGE - 1, size, serif)
        ops.append(Text("serif", size, L.BLOCK_LEFT + indent, base, office))
        pw = width(serif, printed, size)
        ops.append(Text("serif", size, L.BLOCK_RIGHT - indent - pw, base, printed))
        ops.append(Rule(L.BLOCK_LEFT, L.BLOCK_RIGHT, L.BLOCK_BOTTOM, L.COLOPHON_THICK))
        last.used = L.LINES_PER_PAGE

    # -- 页码 ---------------------------------------------------------------------------------
    def _page_numbers(self) -> None:
        serif, size = self.f["serif"], L.PAGE_NUMBER_SIZE
        dash_top = serif.ink_box("—")[3] * _em(size)  # the dash's top above the baseline
        baseline = L.BLOCK_BOTTOM + L.PAGE_NUMBER_GAP + dash_top
        for i, page in enumerate(self.pages, 1):
            if not page.numbered:
                continue
            text = f"— {i} —"
            w = width(serif, text, size)
            x = (L.BLOCK_RIGHT - L.PAGE_NUMBER_INDENT - w if i % 2 else
                 L.BLOCK_LEFT + L.PAGE_NUMBER_INDENT)
            page.ops.append(Text("serif", size, x, baseline, text))

    def plan(self) -> list[Page]:
        page = self._new_page()
        self._head(page)
        blocks = body_blocks(self.c)
        page = self._flow(self._items(blocks), page)
        note = attachment_note(self.c)
        if note:
            page = self._flow([None, *self._items(note)], page)
        self._signature(page)
        number = 1
        if self.c.thumbnails:
            self._photos(number)
            number += 1
        for att in self.c.attachments:
            page = self._attachment_head(number, att.title)
            self._flow(self._items([Block(Style.BODY, p) for p in att.paragraphs]), page)
            number += 1
        self._colophon()
        self._page_numbers()
        return self.pages


def plan(content: NoticeContent) -> list[Page]:
    return Planner(content).plan()
