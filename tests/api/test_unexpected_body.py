"""One rule for bodies everywhere: an action that takes no body refuses one (422), as every other
operation refuses an unknown field, instead of answering 200 and ignoring it."""
from __future__ import annotations

import re

import pytest
from bson import ObjectId

from api.body_rules import BODY_METHODS

BODY = {"unexpected": 1}


def _routes_without_a_json_body(app):
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        for method in sorted((rule.methods or set()) & BODY_METHODS):
            fn = getattr(cls, method.lower(), None) if cls else view
            doc = getattr(fn, "_apidoc", {}) or {}
            params = (doc.get("arguments") or {}).get("parameters", [])
            if getattr(fn, "_accepts", None) or any(p.get("in") == "json" for p in params):
                continue
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ObjectId()), rule.rule)
            out.append((method, path))
    return out


def test_the_review_action_refuses_an_unknown_body_as_every_other_operation_refuses_an_unknown_field(client):
    response = client.post(f"/api/v1/tasks/{ObjectId()}/review", json=BODY)
    assert response.status_code == 422
    assert response.get_json()["code"] == "request.body-not-expected"
    assert response.mimetype == "application/problem+json"


def test_every_operation_that_takes_no_body_refuses_one_and_accepts_none_or_an_empty_object(app, client):
    routes = _routes_without_a_json_body(app)
    assert ("POST", next(p for m, p in routes if p.endswith("/review"))) in routes and len(routes) >= 5
    for method, path in routes:
        refused = client.open(path, method=method, json=BODY)
        assert (refused.status_code, refused.get_json()["code"]) == (422, "request.body-not-expected"), path
        for body in ({}, None):
            kept = client.open(path, method=method, json=body) if body is not None else client.open(path, method=method)
            assert kept.status_code != 422 or kept.get_json()["code"] != "request.body-not-expected", path
