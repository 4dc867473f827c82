"""The API contract the mobile client relies on: ids, tags, declared access, local docs."""
import re

import pytest

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_operation_has_a_unique_camel_case_operation_id_and_a_tag(spec):
    ids = []
    for path, method, op in operations(spec):
        assert re.fullmatch(r"[a-z][A-Za-z0-9]+", op.get("operationId", "")), (method, path, op.get("operationId"))
        assert op.get("tags"), (method, path)
        ids.append(op["operationId"])
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_everything_but_health_lives_under_api_v1(spec):
    outside = [p for p in spec["paths"] if not p.startswith("/api/v1/") and p not in ("/healthz", "/readyz")]
    assert not outside


def test_every_view_declares_who_may_call_it(app):
    """Each view method is wrapped by api.auth.guarded (with a permission or any signed-in user) or marked public."""
    undeclared = []
    for endpoint, view in app.view_functions.items():
        if endpoint in ("static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui"):
            continue
        cls = getattr(view, "view_class", None)
        if cls is None:
            if not getattr(view, "_guarded", False):
                undeclared.append(endpoint)
            continue
        for method in cls.methods or ():
            fn = getattr(cls, method.lower())
            if not getattr(fn, "_guarded", False):
                undeclared.append(f"{endpoint} {method}")
    assert not undeclared


def test_signed_in_operations_document_bearer_security_and_roles(spec):
    for path, method, op in operations(spec):
        if path in ("/healthz", "/readyz") or op.get("security") is None:
            continue
        assert op["security"] == [{"bearerAuth": []}]
        assert "Roles:" in op.get("description", ""), (method, path)


def test_docs_page_uses_only_assets_served_by_the_app(app):
    client = app.test_client()
    html = client.get("/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    for src in sources:
        assert src.startswith("/"), f"external asset {src}"
        assert client.get(src).status_code == 200, src
