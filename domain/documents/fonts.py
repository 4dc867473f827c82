"""The PDF's faces: OFL Noto Serif SC and Noto Sans SC from pylopdf-fonts-zh-cn, read once per process.

The wheel ships the fonts as CFF OpenType of ~65,000 glyphs each. Handing them to fpdf2 as they
are costs about a second per face per document (parse, then fontTools subsetting at output).
So a Face parses its font once per process and, per document, builds a small TrueType holding
only the characters the document uses (outlines converted to quadratics once per glyph, then
cached); fpdf2 embeds and subsets that. The result is deterministic: the same characters give
the same font bytes. Stand-ins: serif for 仿宋/小标宋/楷体/宋体, sans for 黑体 (docs/documents.md).
"""
from __future__ import annotations

import io
import threading
from functools import cache

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._g_l_y_f import Glyph

# A fixed font timestamp (head.created/modified, seconds since 1904): deterministic output.
_FONT_TIME = 3_000_000_000


class Face:
    """One font file, parsed once; advances, ink boxes and per-document TrueType subsets."""

    def __init__(self, path: str, family: str):
        self.family = family
        self._font = TTFont(path, lazy=True, recalcBBoxes=False, recalcTimestamp=False)
        self._cmap = self._font.getBestCmap()
        self._hmtx = self._font["hmtx"].metrics
        self._glyphs = self._font.getGlyphSet()
        self.upem = self._font["head"].unitsPerEm
        hhea, os2 = self._font["hhea"], self._font["OS/2"]
        self._vertical = dict(
            ascent=hhea.ascent, descent=hhea.descent, typo_ascender=os2.sTypoAscender,
            typo_descender=os2.sTypoDescender, win_ascent=os2.usWinAscent,
            win_descent=os2.usWinDescent, cap_height=getattr(os2, "sCapHeight", 733),
        )
        self._outlines: dict[str, tuple[int, bytes, int]] = {}
        self._lock = threading.Lock()

    @property
    def ascent(self) -> float:
        """The top of the ideographic em box above the baseline, in em (0.88 for Noto CJK)."""
        return self._vertical["typo_ascender"] / self.upem

    def has(self, ch: str) -> bool:
        return ord(ch) in self._cmap

    def advance(self, ch: str) -> float:
        """The advance width in em (1.0 for a Han character)."""
        name = self._cmap.get(ord(ch), ".notdef")
        return self._hmtx[name][0] / self.upem

    def ink_box(self, ch: str) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the glyph's outline in em, y up from the baseline."""
        pen = BoundsPen(self._glyphs)
        self._glyphs[self._cmap[ord(ch)]].draw(pen)
        return tuple(v / self.upem for v in pen.bounds)  # type: ignore[return-value]

    def _outline(self, name: str) -> tuple[int, bytes, int]:
        """(advance, compiled glyf data, left side bearing), converted once per process."""
        got = self._outlines.get(name)
        if got is None:
            with self._lock:
                pen = TTGlyphPen(None)
                self._glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
                glyph = pen.glyph()
                if glyph.numberOfContours:
                    glyph.recalcBounds(None)
                got = (self._hmtx[name][0], glyph.compile(None, recalcBBoxes=False),
                       getattr(glyph, "xMin", 0))
                self._outlines[name] = got
        return got

    def subset_font(self, chars: set[str]) -> bytes:
        """A TrueType font with just these characters (those the face has) and .notdef."""
        order, glyphs, metrics, cmap = [".notdef"], {}, {}, {}
        for ch in [".notdef", *sorted(chars)]:
            name = ".notdef" if ch == ".notdef" else self._cmap.get(ord(ch))
            if name is None:
                continue
            if name not in glyphs:
                advance, data, lsb = self._outline(name)
                glyphs[name] = Glyph(data)
                metrics[name] = (advance, lsb)
                if name != ".notdef":
                    order.append(name)
            if ch != ".notdef":
                cmap[ord(ch)] = name
        fb = FontBuilder(self.upem, isTTF=True)
        fb.font.recalcBBoxes = False  # the glyphs carry their boxes: skip re-measuring them
        fb.setupGlyphOrder(order)
        fb.setupCharacterMap(cmap)
        fb.font["loca"] = newTable("loca")
        glyf = fb.font["glyf"] = newTable("glyf")
        glyf.glyphs, glyf.glyphOrder = glyphs, order
        fb.setupHorizontalMetrics(metrics)
        v = self._vertical
        fb.setupHorizontalHeader(ascent=v["ascent"], descent=v["descent"])
        fb.setupNameTable({"familyName": self.family, "styleName": "Regular"})
        fb.setupOS2(sTypoAscender=v["typo_ascender"], sTypoDescender=v["typo_descender"],
                    usWinAscent=v["win_ascent"], usWinDescent=v["win_descent"],
                    sCapHeight=v["cap_height"], fsType=0)  # OFL: installable embedding
        fb.setupPost()
        fb.font["head"].created = fb.font["head"].modified = _FONT_TIME
        out = io.BytesIO()
        fb.save(out)
        return out.getvalue()


@cache
def faces() -> dict[str, Face]:
    """The two faces, parsed on first use and kept for the life of the process (the worker)."""
    import pylopdf_fonts_zh_cn as shipped

    return {
        "serif": Face(str(shipped.serif_path()), "Noto Serif SC"),
        "sans": Face(str(shipped.sans_path()), "Noto Sans SC"),
    }
