"""The 整改通知书 compiler: NoticeContent in, a GB/T 9704-2012 PDF and an editable DOCX out.

Pure domain code (no Flask, no RQ, no database); docs/documents.md describes the layout.
"""
from __future__ import annotations

from .content import (Attachment, Contact, NoticeContent, Problem, Thumbnail,  # noqa: F401
                      basis_paragraph, chinese_date, chinese_numeral, deadline_phrase)
from .docx import compile_docx  # noqa: F401
from .pdf import compile_pdf  # noqa: F401
