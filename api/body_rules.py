"""What a request body may be, decided before it is read: JSON by default, size-capped, shape-bounded.

Upload endpoints declare their own media types and the larger upload cap with ``accepts(...)``;
everything else takes JSON up to ``max_json_bytes``. A JSON body's nesting depth, the entries of
each array or object and its values in all are counted on the raw bytes before it is parsed
(docs/text.md): marshmallow's ``Length`` runs only after every item was loaded, and Python's
parser recurses, so a deep body would otherwise end in a RecursionError (a 500), even before
log-in (the login rate-limit key reads the body).
"""
from __future__ import annotations

import json
import logging
import re

from flask import Flask, current_app, request
from werkzeug.exceptions import ClientDisconnected
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from domain.config import get_settings
from domain.errors import BodyNotExpectedError, BodyTextInvalidError, BodyTooDeepError, BodyTooManyItemsError, BodyTooManyValuesError
from domain.uploads import BodyInterrupted

log = logging.getLogger("api.body_rules")

BODY_METHODS = {"POST", "PUT", "PATCH"}
# What a phone could mean: a report is 4 levels deep and its longest list (fixes) holds 500;
# the whole of a report at every schema cap is about 10,000 values.
MAX_DEPTH = 16
MAX_ITEMS = 1000
MAX_VALUES = 25_000
# A string (escapes included) or one structural character; numbers and literals need no counting.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def check_json_shape(data: bytes, *, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS,
                     max_values: int = MAX_VALUES) -> None:
    """Refuse a body nested deeper than ``max_depth``, with an array or object of more than
    ``max_items`` entries, or more than ``max_values`` values in all; linear in the body's size
    and stopping at the first excess."""
    entries: list[int] = []  # commas seen in each open array or object
    values = 0
    for token in _TOKEN.finditer(data):
        char = token.group()[0]
        if char == 0x2C:  # ,
            values += 1
            if entries:
                entries[-1] += 1
                if entries[-1] >= max_items:
                    raise BodyTooManyItemsError(max=max_items)
        elif char in (0x5B, 0x7B):  # [ {
            values += 1
            entries.append(0)
            if len(entries) > max_depth:
                raise BodyTooDeepError(max=max_depth)
        elif char in (0x5D, 0x7D) and entries:  # ] }
            entries.pop()
        if values > max_values:
            raise BodyTooManyValuesError(max=max_values)


def _load_json() -> None:
    """Parse the body once, after its shape was counted; Flask keeps the result for webargs."""
    data = request.get_data(cache=True)
    if not data:
        return
    check_json_shape(data)
    body = request.get_json()
    if _SURROGATE_ESCAPE.search(data) is not None:
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BodyTextInvalidError() from None


def accepts(*media_types: str, max_bytes_setting: str = "max_upload_bytes"):
    """Declare the media types (and the size setting) an upload view takes instead of JSON."""

    def decorator(view):
        view._accepts = media_types
        view._max_bytes_setting = max_bytes_setting
        return view

    return decorator


def _view_attr(name: str, default=None):
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return default
    cls = getattr(view, "view_class", None)
    if cls is not None:
        method = getattr(cls, request.method.lower(), None)
        return getattr(method, name, default)
    return getattr(view, name, default)


def _takes_json() -> bool:
    """Whether the view declares a JSON body (flask-smorest's ``arguments`` with location json)."""
    doc = _view_attr("_apidoc") or {}
    return any(p.get("in") == "json" for p in (doc.get("arguments") or {}).get("parameters", []))


def install(app: Flask) -> None:
    @app.before_request
    def check_body():
        if request.method not in BODY_METHODS or request.endpoint is None:
            return None
        settings = get_settings()
        media_types = _view_attr("_accepts") or ("application/json",)
        limit = getattr(settings, _view_attr("_max_bytes_setting", "max_json_bytes") or "max_json_bytes")
        # Refuse from the declared length, before reading; a chunked body is cut off at the limit.
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()
        has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if has_body and request.mimetype not in media_types:
            raise UnsupportedMediaType()
        if has_body and request.mimetype == "application/json":
            _load_json()
            if not _takes_json() and request.get_json(silent=True) not in (None, {}):
                # One rule everywhere: what a view does not declare is refused (422), never ignored.
                raise BodyNotExpectedError()
        return None

    @app.errorhandler(BodyInterrupted)
    def body_interrupted(error):
        # The client went away mid-body (a phone losing signal): its fault, not ours, and nobody
        # reads the answer; a 400 keeps it out of the error log.
        from .problems import problem

        log.info("request body interrupted: %s", error)
        return problem("request.body-interrupted", 400)


class RequestBody:
    """The request body as the domain reads it: chunks, and ``BodyInterrupted`` if the client goes away.

    Never reads past ``Content-Length``: under gunicorn werkzeug limits the stream by the upload
    cap only, and one read too many on a body of exactly that size would be a 413.
    """

    def __init__(self):
        self.stream = request.stream
        self.left = request.content_length  # None for a chunked body (cut at the cap by werkzeug)

    def read(self, n: int = -1) -> bytes:
        if self.left is not None:
            if self.left <= 0:
                return b""
            n = self.left if n < 0 else min(n, self.left)
        try:
            data = self.stream.read(n)
        except (ClientDisconnected, OSError) as exc:
            raise BodyInterrupted(str(exc)) from exc
        if self.left is not None:
            if not data:
                raise BodyInterrupted("the body ended before its Content-Length")
            self.left -= len(data)
        return data
