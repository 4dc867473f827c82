"""Every error status comes out as RFC 9457 problem+json with a stable code, in zh-CN or English."""
import re

import pytest
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.app import create_app
from api.messages import LOCALES, catalogue
from api.problems import HTTP_CODES
from domain import errors as e

CJK = re.compile(r"[\u4e00-\u9fff]")

probe = Blueprint("probe", __name__, url_prefix="/probe")


class EchoSchema(Schema):
    name = fields.String(required=True)


@probe.route("/domain/<kind>")
class RaiseDomain(MethodView):
    def get(self, kind):
        raise {
            "unauth": e.InvalidCredentialsError(),
            "forbidden": e.Forbidden(permission="unit:manage"),
            "notfound": e.UnitNotFoundError(),
            "conflict": e.UnitCodeTakenError(code="X1"),
            "rule": e.UnitParentRuleError(rule="region-under-region"),
            "unavailable": e.Unavailable(),
        }[kind]


@probe.route("/echo")
class Echo(MethodView):
    @probe.arguments(EchoSchema)
    def post(self, data):
        return data


@probe.route("/boom")
class Boom(MethodView):
    def get(self):
        raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(scope="module")
def probe_app(settings):
    app = create_app(settings)
    app.testing = False  # let the 500 handler run as in production
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.extensions["problem_api"].register_blueprint(probe)
    from api.ratelimit import limiter

    @app.get("/probe/limited")
    @limiter.limit("1 per minute")
    def limited():
        return {"ok": True}

    return app


@pytest.fixture
def pc(probe_app):
    return probe_app.test_client()


def assert_problem(resp, status, code, lang):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json(force=True)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["title"] and body["detail"]
    assert body["instance"] == f"urn:request:{resp.headers['X-Request-ID']}"
    if lang == "en":
        assert not CJK.search(body["title"] + body["detail"]), body
    else:
        assert CJK.search(body["title"]) and CJK.search(body["detail"]), body
    return body


CASES = [
    (401, "auth.invalid-credentials", "get", "/probe/domain/unauth", {}),
    (403, "access.forbidden", "get", "/probe/domain/forbidden", {}),
    (404, "unit.not-found", "get", "/probe/domain/notfound", {}),
    (404, "http.not-found", "get", "/no/such/path", {}),
    (405, "http.method-not-allowed", "delete", "/healthz", {}),
    (409, "unit.code-taken", "get", "/probe/domain/conflict", {}),
    (413, "request.too-large", "post", "/probe/echo", {"data": "x" * (3 * 1024 * 1024), "content_type": "application/json"}),
    (415, "request.unsupported-media-type", "post", "/probe/echo", {"data": "name=a", "content_type": "text/plain"}),
    (422, "request.invalid", "post", "/probe/echo", {"json": {"name": 3}}),
    (422, "unit.parent-rule", "get", "/probe/domain/rule", {}),
    (400, "request.malformed", "post", "/probe/echo", {"data": "{not json", "content_type": "application/json"}),
    (500, "server.internal-error", "get", "/probe/boom", {}),
    (503, "service.unavailable", "get", "/probe/domain/unavailable", {}),
]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("status,code,method,path,kwargs", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_error_statuses_are_problem_json_in_both_languages(pc, lang, status, code, method, path, kwargs):
    resp = getattr(pc, method)(path, headers={"Accept-Language": lang}, **kwargs)
    assert_problem(resp, status, code, lang)


def test_zh_cn_is_the_default_language(pc):
    body = assert_problem(pc.get("/no/such/path"), 404, "http.not-found", "zh-CN")
    assert body["title"] == "地址不存在"


def test_validation_errors_name_the_fields(pc):
    body = pc.post("/probe/echo", json={}, headers={"Accept-Language": "en"}).get_json()
    assert "name" in body["errors"]["json"]


def test_rate_limit_is_problem_json_with_retry_after(pc):
    assert pc.get("/probe/limited").status_code == 200
    resp = pc.get("/probe/limited", headers={"Accept-Language": "en"})
    assert_problem(resp, 429, "request.rate-limited", "en")
    assert int(resp.headers["Retry-After"]) > 0


def test_unexpected_errors_never_leak_internals(pc):
    resp = pc.get("/probe/boom")
    text = resp.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text


def test_a_client_request_id_is_echoed_and_a_bad_one_replaced(pc):
    assert pc.get("/healthz", headers={"X-Request-ID": "phone-1234-abcd"}).headers["X-Request-ID"] == "phone-1234-abcd"
    replaced = pc.get("/healthz", headers={"X-Request-ID": "bad id; DROP"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


def test_error_params_fill_the_detail(pc):
    body = pc.get("/probe/domain/conflict", headers={"Accept-Language": "en"}).get_json()
    assert "X1" in body["detail"]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_error_code_has_title_and_detail_in_each_language(locale):
    messages = catalogue(locale)
    codes = {cls.code for cls in e.all_error_classes()} | set(HTTP_CODES.values())
    missing = sorted(f"{c}|{part}" for c in codes for part in ("title", "detail") if f"{c}|{part}" not in messages)
    assert not missing, f"{locale} lacks: {missing}"
    if locale == "zh_CN":
        untranslated = sorted(c for c in codes if not CJK.search(messages[f"{c}|title"]))
        assert not untranslated


def test_error_codes_are_unique():
    classes = e.all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
