"""Per-request (or per-job) context the domain may read without knowing Flask or RQ."""
from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")
