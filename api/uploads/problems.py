"""The statuses tus fixes for upload errors, and the tus headers every upload response carries.

The general mapping (api/problems.py) gives a domain error the status of its meaning; tus
clients need more precise ones (413, 415, 460 Checksum Mismatch, 410 Gone, 400). They are
registered app-wide, so the plain upload endpoint of intake gets the same answers.
"""
from __future__ import annotations

from flask import request

from api.problems import problem
from domain import errors as e
from domain.uploads.services import TUS_VERSION

STATUSES: dict[type[e.DomainError], tuple[int, str]] = {
    e.UploadTooLargeError: (413, "Request Entity Too Large"),
    e.UnsupportedMediaError: (415, "Unsupported Media Type"),
    e.UploadChecksumMismatchError: (460, "Checksum Mismatch"),
    e.UploadExpiredError: (410, "Gone"),
    e.UploadChecksumUnsupportedError: (400, "Bad Request"),
    e.UploadInterruptedError: (400, "Bad Request"),
}
TUS_VERSION_CODE = "upload.tus-version-unsupported"


def render(error: e.DomainError):
    status, reason = next(v for cls, v in STATUSES.items() if isinstance(error, cls))
    params = {k: v for k, v in error.params.items() if not k.startswith("_")}
    parents = tuple(c.code for c in type(error).__mro__[1:] if issubclass(c, e.DomainError))
    resp = problem(error.code, status, params, fallback_codes=parents)
    resp.status = f"{status} {reason}"
    return resp


def require_tus_resumable():
    """tus: every request but OPTIONS names the protocol version; the JSON status read is not tus."""
    if request.method in ("OPTIONS", "GET"):
        return None
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        return problem(TUS_VERSION_CODE, 412, {"version": TUS_VERSION}, headers={"Tus-Version": TUS_VERSION})
    return None


def add_tus_headers(response):
    response.headers["Tus-Resumable"] = TUS_VERSION
    return response


def install(blp) -> None:
    for cls in STATUSES:
        blp.app_errorhandler(cls)(render)
    blp.before_request(require_tus_resumable)
    blp.after_request(add_tus_headers)
