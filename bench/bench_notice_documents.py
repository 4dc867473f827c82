"""Notice document figures: compile time of a 整改通知书 with 50 problems and 50 thumbnails.

Goal: PDF and DOCX together under 1 s on one core, in a warm worker (fonts parsed once per
process, glyph outlines converted once). Prints the cold first compile (font parsing and
outline conversion included), then the median and worst of the warm rounds, the sizes and
peak RSS. Asserts nothing.

    .venv/bin/python bench/bench_notice_documents.py [--problems 50] [--rounds 5]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.documents import compile_docx, compile_pdf  # noqa: E402
from domain.documents.fonts import faces  # noqa: E402
from tests.factories.notice_content import notice  # noqa: E402


def timed(fn, *args):
    start = time.process_time()
    out = fn(*args)
    return out, time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    content = notice(problems=args.problems, photos_each=1)

    _, t_fonts = timed(faces)
    pdf, t_pdf_cold = timed(compile_pdf, content)
    docx, t_docx_cold = timed(compile_docx, content)
    print(f"notice: {args.problems} problems, {len(content.thumbnails)} thumbnails (320 px JPEG)")
    print(f"cold:  fonts parsed {t_fonts:.3f} s, first PDF {t_pdf_cold:.3f} s "
          f"(outline conversion included), first DOCX {t_docx_cold:.3f} s")

    pdf_t, docx_t, both = [], [], []
    for _ in range(args.rounds):
        again, tp = timed(compile_pdf, content)
        assert again == pdf
        _, td = timed(compile_docx, content)
        pdf_t.append(tp)
        docx_t.append(td)
        both.append(tp + td)
    print(f"warm (CPU time, {args.rounds} rounds): PDF median {statistics.median(pdf_t):.3f} s, "
          f"DOCX median {statistics.median(docx_t):.3f} s, together median "
          f"{statistics.median(both):.3f} s, worst {max(both):.3f} s (goal < 1 s)")
    print(f"sizes: PDF {len(pdf) / 1024:.0f} KiB, DOCX {len(docx) / 1024:.0f} KiB")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
