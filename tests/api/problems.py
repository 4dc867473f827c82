"""The one assertion for a problem answer: status, RFC 9457 media type, stable code."""
from __future__ import annotations


def problem(resp, status: int, code: str | None = None) -> dict:
    """Assert ``resp`` is an application/problem+json ``status`` (with ``code`` when given); its body."""
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "application/problem+json", resp.mimetype
    body = resp.get_json(force=True)
    assert body["status"] == status, body
    if code is not None:
        assert body["code"] == code, body
    return body
