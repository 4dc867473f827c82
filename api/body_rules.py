"""What a request body may be, decided before it is read: JSON by default, size-capped.

Upload endpoints (a later feature) declare their own media types and the larger upload
cap with ``accepts(...)``; everything else takes JSON up to ``max_json_bytes``.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import ClientDisconnected
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from domain.config import get_settings
from domain.uploads import BodyInterrupted

BODY_METHODS = {"POST", "PUT", "PATCH"}


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
        return None


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
