"""Structured JSON logs for every process (API, workers, scheduler, CLI): one line per record,
each carrying the request or job id from ``domain.context``."""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from .context import request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr; idempotent, so gunicorn workers and tests may call it again."""
    root = logging.getLogger()
    if any(getattr(h, "_inspection", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._inspection = True
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s",
                                       rename_fields={"levelname": "level"},
                                       timestamp="time"))  # ISO 8601 in UTC
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
