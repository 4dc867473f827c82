"""Sign-in over HTTP: tokens, failures as problem+json, back-off, rate limits, rotation, revocation."""
from __future__ import annotations

import time

import jwt
import pytest

from datetime import timedelta

from domain import clock
from domain.accounts.models import RefreshToken
from domain.audit import AuditEvent
from domain.config import get_settings
from tests.personas import PASSWORD
from tests.api.problems import problem

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/accounts/me"


def login(client, username, password=PASSWORD, **kw):
    return client.post(LOGIN, json={"username": username, "password": password}, **kw)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_login_with_the_right_password_returns_bearer_tokens(client, world):
    resp = login(client, "Supervisor_East")
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == get_settings().access_token_ttl
    me = client.get(ME, headers=bearer(body["access_token"])).get_json()
    assert me["username"] == "supervisor_east"


def test_a_wrong_password_and_an_unknown_user_get_the_same_problem(client, world):
    wrong = problem(login(client, "admin", "Wrong@2026"), 401, "auth.invalid-credentials")
    unknown = problem(login(client, "nobody", "Wrong@2026"), 401, "auth.invalid-credentials")
    assert {k: v for k, v in wrong.items() if k != "instance"} == {k: v for k, v in unknown.items() if k != "instance"}
    assert wrong["title"] == "用户名或密码错误"


def test_a_login_without_a_password_is_a_validation_problem(client, world):
    body = problem(client.post(LOGIN, json={"username": "admin"}), 422, "request.invalid")
    assert "password" in body["errors"]["json"]


def test_failed_logins_are_answered_with_a_back_off_alike_for_unknown_usernames_and_an_admin_clears_it(
        client, world):
    free = get_settings().login_free_failures
    answers = {}
    for name in ("inspector_east", "nobody"):
        for _ in range(free):
            problem(login(client, name, "Wrong@2026"), 401, "auth.invalid-credentials")
        resp = login(client, name, headers={"Accept-Language": "en"})  # even the right password waits
        body = problem(resp, 429, "auth.login-throttled")
        # Retry-After: at least the back-off (the rate limiter may name its own, later, window end).
        assert int(resp.headers["Retry-After"]) >= 1
        answers[name] = {k: v for k, v in body.items() if k != "instance"}
    assert answers["inspector_east"] == answers["nobody"]
    assert "1 seconds" in answers["nobody"]["detail"]
    zh = problem(login(client, "nobody"), 429, "auth.login-throttled")
    assert zh["title"] == "登录失败次数过多"

    account_id = str(world.accounts["inspector_east"].pk)
    assert client.post(f"/api/v1/accounts/{account_id}/unlock", headers=world.headers("admin")).status_code == 204
    assert login(client, "inspector_east").status_code == 200
    assert AuditEvent.objects(action="account.unlocked", target_id=account_id).count() == 1


def test_one_address_spraying_many_usernames_is_limited_across_usernames(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_RATE_LIMIT", "5 per minute")
    for i in range(5):
        problem(login(client, f"user{i}", "Wrong@2026"), 401, "auth.invalid-credentials")
    resp = login(client, "user9", "Wrong@2026")
    problem(resp, 429, "request.rate-limited")
    assert int(resp.headers["Retry-After"]) > 0
    other = login(client, "admin", environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert other.status_code == 200  # another address is not held back


def test_only_admins_unlock_accounts(client, world):
    account_id = str(world.accounts["inspector_east"].pk)
    resp = client.post(f"/api/v1/accounts/{account_id}/unlock", headers=world.headers("supervisor_east"))
    problem(resp, 403, "access.forbidden")


def test_too_many_logins_from_one_address_for_one_username_get_429_problem_json(app, client, world, monkeypatch,
                                                                                 redis_conn):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    for _ in range(2):
        login(client, "admin", "Wrong@2026")
    resp = login(client, "admin", headers={"Accept-Language": "en"})
    body = problem(resp, 429, "request.rate-limited")
    assert body["title"] == "Too many requests"
    assert int(resp.headers["Retry-After"]) > 0
    # Keyed by address and username: another user from the same address is not held back.
    assert login(client, "supervisor_east").status_code == 200
    assert redis_conn.keys("LIMITS*"), "counters are kept in Redis, shared by every worker process"


def test_refresh_and_password_guesses_are_rate_limited_too(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    client.post(REFRESH, json={"refresh_token": "x"})
    problem(client.post(REFRESH, json={"refresh_token": "y"}), 429, "request.rate-limited")
    guess = {"current_password": "Guess@2026", "new_password": "Better@2027"}
    headers = world.headers("admin")
    problem(client.post("/api/v1/auth/password", json=guess, headers=headers), 422, "auth.wrong-current-password")
    problem(client.post("/api/v1/auth/password", json=guess, headers=headers), 429, "request.rate-limited")


def test_an_expired_access_token_is_refused_with_its_own_code(client, world):
    claims = jwt.decode(world.tokens("admin")["access_token"], options={"verify_signature": False})
    past = int(time.time()) - 60
    token = jwt.encode({**claims, "iat": past - 900, "exp": past}, get_settings().secret_key, algorithm="HS256")
    problem(client.get(ME, headers=bearer(token)), 401, "auth.token-expired")


def test_missing_and_forged_tokens_are_refused(client, world):
    resp = problem(client.get(ME), 401, "auth.unauthenticated")
    assert resp and "Bearer" in client.get(ME).headers["WWW-Authenticate"]
    claims = jwt.decode(world.tokens("admin")["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "someone-elses-key-that-is-long-enough-0123", algorithm="HS256")
    problem(client.get(ME, headers=bearer(forged)), 401, "auth.token-invalid")


def test_refresh_rotates_the_refresh_token(client, world):
    first = login(client, "admin").get_json()
    resp = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}, headers={"User-Agent": "phone/1.0"})
    assert resp.status_code == 200
    second = resp.get_json()
    assert second["refresh_token"] != first["refresh_token"] and second["token_type"] == "Bearer"
    assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200
    third = client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


def test_a_refresh_retried_within_the_grace_gets_the_same_pair(client, world):
    first = login(client, "admin").get_json()
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    retried = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert second.status_code == retried.status_code == 200
    assert retried.get_json() == second.get_json()
    assert client.get(ME, headers=bearer(retried.get_json()["access_token"])).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_family(client, world):
    first = login(client, "admin").get_json()
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).get_json()
    past_grace = clock.now() - timedelta(seconds=get_settings().refresh_grace_seconds + 1)
    RefreshToken._get_collection().update_many({"used_at": {"$ne": None}}, {"$set": {"used_at": past_grace}})
    problem(client.post(REFRESH, json={"refresh_token": first["refresh_token"]}), 401, "auth.refresh-token-reused")
    problem(client.post(REFRESH, json={"refresh_token": second["refresh_token"]}), 401, "auth.token-revoked")
    problem(client.get(ME, headers=bearer(second["access_token"])), 401, "auth.token-revoked")
    problem(client.get(ME, headers=bearer(first["access_token"])), 401, "auth.token-revoked")
    # Another session of the same account is not touched.
    assert client.get(ME, headers=world.headers("admin")).status_code == 200


def test_an_unknown_refresh_token_is_invalid(client, world):
    problem(client.post(REFRESH, json={"refresh_token": "made-up"}), 401, "auth.token-invalid")


def test_logout_ends_the_session_at_once(client, world):
    tokens = login(client, "liaison_water").get_json()
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    problem(client.get(ME, headers=bearer(tokens["access_token"])), 401, "auth.token-revoked")
    problem(client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}), 401, "auth.token-revoked")
    assert AuditEvent.objects(action="auth.logout").count() == 1


def test_a_disabled_account_is_refused_on_its_next_request(client, world):
    headers = world.headers("inspector_east")
    assert client.get(ME, headers=headers).status_code == 200
    account_id = str(world.accounts["inspector_east"].pk)
    resp = client.patch(f"/api/v1/accounts/{account_id}", json={"active": False}, headers=world.headers("admin"))
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    problem(client.get(ME, headers=headers), 401, "auth.account-disabled")
    problem(client.post(REFRESH, json={"refresh_token": world.tokens("inspector_east")["refresh_token"]}),
            401, "auth.token-revoked")
    problem(login(client, "inspector_east"), 401, "auth.account-disabled")


def test_changing_the_password_enforces_the_policy_and_retires_the_old_one(client, world):
    headers = world.headers("leader_city")
    other = login(client, "leader_city").get_json()
    url = "/api/v1/auth/password"
    problem(client.post(url, json={"current_password": "Wrong@2026", "new_password": "Better@2027"}, headers=headers),
            422, "auth.wrong-current-password")
    body = problem(client.post(url, json={"current_password": PASSWORD, "new_password": "password"},
                               headers={**headers, "Accept-Language": "en"}), 422, "auth.weak-password")
    assert "8 characters" in body["detail"] and "3 of" in body["detail"]
    resp = client.post(url, json={"current_password": PASSWORD, "new_password": "Better@2027"}, headers=headers)
    assert resp.status_code == 204
    assert client.get(ME, headers=headers).status_code == 200  # this session stays
    problem(client.get(ME, headers=bearer(other["access_token"])), 401, "auth.token-revoked")
    problem(login(client, "leader_city"), 401, "auth.invalid-credentials")
    assert login(client, "leader_city", "Better@2027").status_code == 200


def test_login_failed_login_and_refresh_are_audited(client, world):
    tokens = login(client, "supervisor_west", headers={"X-Request-ID": "login-request-1"}).get_json()
    login(client, "supervisor_west", "Wrong@2026")
    login(client, "ghost", "Wrong@2026")
    client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    account_id = str(world.accounts["supervisor_west"].pk)
    office = world.id("office_west")
    ok = AuditEvent.objects.get(action="auth.login")
    assert (ok.chain, ok.target_id, ok.actor_id, ok.request_id) == (office, account_id, account_id, "login-request-1")
    failed = {ev.after["username"]: ev for ev in AuditEvent.objects(action="auth.login-failed")}
    assert failed["supervisor_west"].chain == office and failed["supervisor_west"].after["failures"] == 1
    assert failed["ghost"].chain == "system" and failed["ghost"].target_id is None
    assert AuditEvent.objects.get(action="auth.refresh").target_id == account_id
    assert not any("$argon2" in str(ev.to_mongo()) or "Wrong@2026" in str(ev.to_mongo()) for ev in AuditEvent.objects)


@pytest.mark.parametrize("persona", ["admin", "supervisor_east", "inspector_east", "liaison_water", "leader_city"])
def test_every_persona_signs_in_and_out(client, world, persona):
    headers = world.headers(persona)
    assert client.get(ME, headers=headers).get_json()["role"] == str(world.accounts[persona].role)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    problem(client.get(ME, headers=headers), 401, "auth.token-revoked")
