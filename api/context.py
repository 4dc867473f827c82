"""Request ids and structured JSON logs: every log line carries the request id, which is also returned."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from domain.context import request_id
from domain.logs import configure_logging  # noqa: F401  (the app factory calls it from here)

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_log = logging.getLogger("api.access")


def install(app: Flask) -> None:
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        g.request_id_token = request_id.set(rid)
        g.started = time.perf_counter()

    @app.after_request
    def return_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id.get()
        started = g.get("started")
        if started is not None:
            access_log.info("request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return response

    @app.teardown_request
    def reset_request_id(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)
