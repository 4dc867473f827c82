"""The one mapping from errors to RFC 9457 problem+json responses, rendered in the caller's language."""
from __future__ import annotations

import http
import logging

from flask import Response, current_app, json, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from domain import errors as e
from domain.context import request_id

from .messages import DEFAULT_LOCALE, text

log = logging.getLogger("api.problems")

PROBLEM_TYPE_BASE = "https://errors.inspection.gov.cn/"

STATUS_BY_MEANING: list[tuple[type[e.DomainError], int]] = [
    (e.Unauthenticated, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.PreconditionFailedError, 412),  # a stale If-Match (HTTP's meaning, more precise than 409)
    (e.Conflict, 409),
    (e.RuleViolation, 422),
    (e.Unavailable, 503),
    (e.Throttled, 429),
]

# Errors the HTTP layer raises itself (routing, body limits, webargs, rate limits).
HTTP_CODES = {
    400: "request.malformed",
    401: "auth.unauthenticated",
    403: "access.forbidden",
    404: "http.not-found",
    405: "http.method-not-allowed",
    406: "http.not-acceptable",
    409: "resource.conflict",
    412: "resource.precondition-failed",
    413: "request.too-large",
    415: "request.unsupported-media-type",
    422: "request.invalid",
    428: "resource.precondition-required",
    429: "request.rate-limited",
    500: "server.internal-error",
    503: "service.unavailable",
}


class ProblemSchema(Schema):
    type = fields.String(metadata={"description": "URI naming the problem kind; ends in `code`"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String(metadata={"description": "the request id"})
    code = fields.String(metadata={"description": "stable machine code"})
    errors = fields.Dict(metadata={"description": "per-field or per-item errors"})


def locale() -> str:
    try:
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    except RuntimeError:
        return DEFAULT_LOCALE
    return "en" if best.startswith("en") else "zh_CN"


def status_for(error: e.DomainError) -> int:
    for meaning, status in STATUS_BY_MEANING:
        if isinstance(error, meaning):
            return status
    return 500


def problem(code: str, status: int, params: dict | None = None, *, extra: dict | None = None,
            headers: dict | None = None, fallback_codes: tuple[str, ...] = ()) -> Response:
    lang = locale()
    candidates = (code, *fallback_codes, HTTP_CODES.get(status, ""))
    title = next((t for c in candidates if (t := text(lang, f"{c}|title"))), str(status))
    detail = next((t for c in candidates if (t := text(lang, f"{c}|detail", params))), title)
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": f"urn:request:{request_id.get()}",
        "code": code,
    }
    if extra:
        body.update(extra)
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    resp.headers["Content-Language"] = "en" if lang == "en" else "zh-CN"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def handle_domain_error(error: e.DomainError) -> Response:
    status = status_for(error)
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None
    if isinstance(error, e.Throttled):
        headers = {"Retry-After": str(max(1, int(error.params.get("seconds", 1))))}
    public_params = {k: v for k, v in error.params.items() if not k.startswith("_")}
    extra = {"errors": error.params["_errors"]} if "_errors" in error.params else None
    if error.params.get("_ext"):  # extension members a client acts on (e.g. the existing report's id)
        extra = {**error.params["_ext"], **(extra or {})}
    if status >= 500:
        log.error("domain error %s", error.code, extra={"params": public_params})
    # A code without text yet falls back to its meaning's text (the catalogue test keeps this rare).
    parents = tuple(c.code for c in type(error).__mro__[1:] if issubclass(c, e.DomainError))
    return problem(error.code, status, public_params, extra=extra, headers=headers, fallback_codes=parents)


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return current_app.extensions["problem_api"].handle_http_exception(error)
    log.exception("unhandled error")
    return problem(HTTP_CODES[500], 500)


class ProblemApi(Api):
    """flask-smorest's Api with its documented error hook rendering problem+json."""

    ERROR_SCHEMA = ProblemSchema
    PROBLEM_CONTENT_TYPE = "application/problem+json"

    def _register_responses(self):
        """Document every error response (the status components and the default) as problem+json."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
                content_type = self.PROBLEM_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response (RFC 9457 problem)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, self.PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        code = HTTP_CODES.get(status, f"http.{status}")
        data = getattr(error, "data", None) or {}
        extra = None
        if status == 422 and "messages" in data:
            extra = {"errors": data["messages"]}
        headers = dict(data.get("headers") or {})
        if status == 405 and error.get_headers():
            headers.update({k: v for k, v in error.get_headers() if k == "Allow"})
        if status == 429:
            retry = getattr(error, "retry_after", None)
            if retry:
                headers["Retry-After"] = str(retry)
        if status >= 500:
            log.error("http %s", status)
        return problem(code, status, {"status": status}, extra=extra, headers=headers)


def documents_problems(blp, status: int, *codes: str):
    """Decorator documenting one problem status of a view, with the codes it may carry."""
    return blp.alt_response(status, schema=ProblemSchema, content_type="application/problem+json",
                            description="Problem codes: " + ", ".join(codes))
