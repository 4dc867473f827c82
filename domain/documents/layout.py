"""The GB/T 9704-2012 page numbers (in millimetres and points), each named once with its source.

GB/T 9704-2012 《党政机关公文格式》 is the source of every number not marked otherwise;
"derived" marks our arithmetic from it, "practice" marks common usage the standard leaves open.
docs/documents.md explains them; the PDF and the DOCX both read them from here.
"""
from __future__ import annotations

PT = 25.4 / 72  # mm per PostScript point

# Paper and margins (GB/T 9704 §5.2.1, §5.2.2): A4, 天头 37 mm, 订口 28 mm, 版心 156 × 225 mm.
PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
MARGIN_TOP = 37.0
MARGIN_LEFT = 28.0
BLOCK_WIDTH = 156.0
BLOCK_HEIGHT = 225.0
MARGIN_RIGHT = PAGE_WIDTH - MARGIN_LEFT - BLOCK_WIDTH  # derived: 26 mm
MARGIN_BOTTOM = PAGE_HEIGHT - MARGIN_TOP - BLOCK_HEIGHT  # derived: 35 mm
BLOCK_LEFT = MARGIN_LEFT
BLOCK_RIGHT = MARGIN_LEFT + BLOCK_WIDTH  # 184 mm from the left edge
BLOCK_TOP = MARGIN_TOP
BLOCK_BOTTOM = MARGIN_TOP + BLOCK_HEIGHT  # 262 mm from the top edge

# The grid (§5.2.4): normally 22 lines of 28 characters fill the 版心.
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28
CHAR_PITCH = BLOCK_WIDTH / CHARS_PER_LINE  # derived: 5.571 mm, one 字
LINE_PITCH = BLOCK_HEIGHT / LINES_PER_PAGE  # derived: 10.227 mm (Word's document grid does the same)

# Sizes (§5.2.3 and the element clauses): 2号 = 22 pt, 3号 = 16 pt, 4号 = 14 pt.
SIZE_2 = 22.0
SIZE_3 = 16.0
SIZE_4 = 14.0
BODY_SIZE = SIZE_3  # every element is 3号 unless the standard says otherwise
TITLE_SIZE = SIZE_2  # 标题 2号小标宋 (§7.3.1)
COLOPHON_SIZE = SIZE_4  # 抄送, 印发 4号仿宋 (§7.4.2, §7.4.3)
PAGE_NUMBER_SIZE = SIZE_4  # 页码 4号半角宋体 (§7.5)
# derived: a 16 pt glyph is 5.644 mm, 0.073 mm wider than the pitch; tracking closes the gap.
BODY_TRACKING_PT = CHAR_PITCH / PT - BODY_SIZE

# 版头 (§7.2).
MARK_TOP = BLOCK_TOP + 35.0  # 发文机关标志: its top edge 35 mm below the top of the 版心
MARK_MAX_EM = 15.0  # practice: the size is the office's choice; 15 mm glyphs at most ...
MARK_MAX_WIDTH = BLOCK_WIDTH * 0.96  # ... and never wider than the 版心 (practice: a little air)
MARK_STROKE = 0.04  # practice: stroke width as a fraction of the em, for the heavy 小标宋 look
TITLE_STROKE = 0.035
NUMBER_GAP_LINES = 2  # 发文字号: two blank lines below the mark
RED_LINE_GAP = 4.0  # 红色分隔线: 4 mm below the 发文字号
RED_LINE_WIDTH = 0.5  # practice: the standard gives no thickness; 0.35-0.5 mm is usual
RED = (230, 0, 18)  # practice: the red of printed 红头 (the standard says only 红色)
TITLE_GAP_LINES = 2  # 标题: two blank lines below the red line
TITLE_MAX_CHARS = 19  # derived: 2号 glyphs are 7.76 mm, 20 fit in 156 mm; one spare for centring

# 主体 (§7.3).
PARAGRAPH_INDENT = 2  # 正文 and headings: two characters in
SIGNATURE_GAP_LINES = 2  # practice: blank lines above the 署名 so the seal's top touches the text
DATE_RIGHT_INDENT = 4  # 成文日期: four characters in from the right (加盖印章的公文)

# 附件 pages (§7.3.7 and practice for photos).
PHOTO_COLUMNS = 2
PHOTO_GAP = 6.0  # mm between the two columns
PHOTO_BOX_WIDTH = (BLOCK_WIDTH - PHOTO_GAP) / PHOTO_COLUMNS  # derived: 75 mm
PHOTO_BOX_HEIGHT = 56.0  # 4:3 of 75 mm, a 320 px thumbnail at ~108 dpi
PHOTO_ROW_LINES = 7  # image + caption line, in grid lines (7 × 10.23 mm = 71.6 mm)
CAPTION_SIZE = SIZE_4  # practice

# 版记 (§7.4): rules of 版心 width, first and last 0.35 mm, the middle ones 0.25 mm.
COLOPHON_THICK = 0.35
COLOPHON_THIN = 0.25
COLOPHON_INDENT = 1  # 抄送 and 印发: one character in on each side

# 页码 (§7.5): "— 1 —", the dash's top 7 mm below the 版心; odd right, even left, one character in.
PAGE_NUMBER_GAP = 7.0
PAGE_NUMBER_INDENT = CHAR_PITCH  # one 字 of the body grid

# Word's document grid: twentieths of a point for the line pitch, 1/4096 pt for the char space.
def twips(mm: float) -> int:
    return round(mm / PT * 20)


DOCX_LINE_PITCH = int(LINE_PITCH / PT * 20)  # 579: floor, so 22 lines fit, not 21
DOCX_CHAR_SPACE = round(BODY_TRACKING_PT * 4096)  # negative: 28 3号 characters per line
