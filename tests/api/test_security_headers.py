"""Every response carries ``X-Content-Type-Options: nosniff`` (docs/security.md): successes, problems
of every kind, routing misses and files, so a browser never guesses a type from the bytes."""
import pytest


@pytest.mark.parametrize("method,path,persona,status", [
    ("get", "/healthz", "anonymous", 200),
    ("get", "/openapi.json", "anonymous", 200),
    ("get", "/docs/assets/swagger-ui.css", "anonymous", 200),  # a file
    ("get", "/api/v1/units", "admin", 200),
    ("get", "/api/v1/units", "anonymous", 401),
    ("get", "/api/v1/audit-events", "liaison_water", 403),
    ("get", "/api/v1/tasks/" + "0" * 24, "admin", 404),
    ("get", "/api/v1/no-such-route", "anonymous", 404),
    ("delete", "/healthz", "anonymous", 405),
    ("get", "/api/v1/units?limit=0", "admin", 422),
    ("post", "/api/v1/auth/login", "anonymous", 422),
])
def test_every_response_says_nosniff(client, world, method, path, persona, status):
    resp = getattr(client, method)(path, headers=world.headers(persona), json={} if method == "post" else None)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.headers.get_all("X-Content-Type-Options") == ["nosniff"]
