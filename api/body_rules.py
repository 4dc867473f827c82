"""What a request body may be, decided before it is read: JSON by default, size-capped.

Upload endpoints (a later feature) declare their own media types and the larger upload
cap with ``accepts(...)``; everything else takes JSON up to ``max_json_bytes``.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from domain.config import get_settings

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
