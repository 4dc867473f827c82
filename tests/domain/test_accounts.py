"""Accounts and sign-in, at the service level, on the real embedded database."""
from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import jwt
import pytest

from domain import errors as e
from domain import storage
from domain.access import SYSTEM, Role
from domain.accounts import passwords, services, tokens
from domain.accounts.models import Account, AuthSession, RefreshToken
from domain.audit import SYSTEM_CHAIN, AuditEvent, verify_chain
from domain.config import get_settings, set_settings
from tests.factories.accounts import AccountFactory
from tests.personas import PASSWORD
from domain import clock


def admin(world):
    return services.actor_for(world.accounts["admin"])


def events(action):
    return list(AuditEvent.objects(action=action).order_by("seq"))


@pytest.mark.parametrize("password,ok", [
    ("Abcdefg1", True), ("abcdef1!", True), ("ABCDEF1!", True), ("Abcdefg!", True), ("测试密码Ab12", True),
    ("Abcdef1", False),  # seven characters
    ("abcdefgh1", False), ("ABCDEFGHI", False), ("12345678!", False),  # two classes or fewer
])
def test_passwords_need_eight_characters_from_three_classes(password, ok):
    if ok:
        passwords.check_policy(password)
    else:
        with pytest.raises(e.WeakPasswordError) as raised:
            passwords.check_policy(password)
        assert raised.value.params == {"min_length": 8, "min_classes": 3}


def test_login_returns_tokens_and_stores_only_a_hash_of_the_refresh_token(world):
    result = services.login("Supervisor_East ", PASSWORD, user_agent="phone")
    assert result["token_type"] == "Bearer" and result["expires_in"] == get_settings().access_token_ttl
    stored = RefreshToken.objects.get()
    assert stored.token_hash == tokens.hash_refresh_token(result["refresh_token"])
    assert result["refresh_token"] not in str(RefreshToken._get_collection().find_one())
    claims = tokens.decode_access_token(result["access_token"])
    account = world.accounts["supervisor_east"]
    assert claims["sub"] == str(account.pk) and claims["sid"] == str(stored.session) and claims["typ"] == "access"
    assert Account.objects.get(pk=account.pk).last_login_at is not None


def test_login_is_audited_in_the_chain_of_the_office_owning_the_home_unit(world):
    services.login("supervisor_east", PASSWORD)
    [event] = events("auth.login")
    assert event.chain == world.id("office_east")
    assert event.target_id == str(world.accounts["supervisor_east"].pk)
    assert event.target_unit == world.id("office_east")
    assert verify_chain(world.id("office_east")).ok


def test_an_unknown_username_fails_like_a_wrong_password_and_is_audited_on_the_system_chain(world):
    with pytest.raises(e.InvalidCredentialsError) as unknown:
        services.login("nobody", PASSWORD)
    with pytest.raises(e.InvalidCredentialsError) as wrong:
        services.login("admin", "Wrong@2026")
    assert unknown.value.params == wrong.value.params == {}
    failed = events("auth.login-failed")
    nobody = next(ev for ev in failed if ev.chain == SYSTEM_CHAIN)
    assert nobody.target_id is None and nobody.after["username"] == "nobody"
    assert {ev.after["reason"] for ev in failed} == {"unknown-user", "wrong-password"}


def test_the_account_locks_after_the_configured_failures_and_refuses_even_the_right_password(world):
    limit = get_settings().login_max_failures
    for _ in range(limit - 1):
        with pytest.raises(e.InvalidCredentialsError):
            services.login("inspector_east", "Wrong@2026")
    with pytest.raises(e.AccountLockedError) as locked:
        services.login("inspector_east", "Wrong@2026")
    assert locked.value.params["minutes"] == get_settings().lockout_seconds // 60
    with pytest.raises(e.AccountLockedError):
        services.login("inspector_east", PASSWORD)
    assert len(events("auth.locked-out")) == 1
    assert events("auth.login-failed")[-1].after["reason"] == "locked"


def test_the_lock_ends_by_itself_and_success_resets_the_counter(world):
    account = world.accounts["inspector_east"]
    with pytest.raises(e.InvalidCredentialsError):
        services.login("inspector_east", "Wrong@2026")
    assert Account.objects.get(pk=account.pk).failed_logins == 1
    Account._get_collection().update_one({"_id": account.pk}, {"$set": {
        "locked_until": clock.now() - timedelta(seconds=1)}})
    services.login("inspector_east", PASSWORD)
    fresh = Account.objects.get(pk=account.pk)
    assert fresh.failed_logins == 0 and fresh.locked_until is None


def test_a_disabled_account_cannot_log_in_but_a_wrong_password_does_not_reveal_it(world):
    AccountFactory(username="gone", home_unit=world.unit("east").pk, disabled=True)
    from tests.factories.accounts import PASSWORD as FACTORY_PASSWORD

    with pytest.raises(e.InvalidCredentialsError):
        services.login("gone", "Wrong@2026")
    with pytest.raises(e.AccountDisabledError):
        services.login("gone", FACTORY_PASSWORD)


def test_login_rehashes_the_password_when_the_argon2_cost_changed(world):
    before = Account.objects.get(username="admin").password_hash
    original = get_settings()
    set_settings(dataclasses.replace(original, argon2_time_cost=2))
    try:
        services.login("admin", PASSWORD)
    finally:
        set_settings(original)
    after = Account.objects.get(username="admin").password_hash
    assert after != before and "t=2" in after
    assert passwords.verify_password(after, PASSWORD)


def test_refresh_rotates_within_the_same_session(world):
    first = services.login("admin", PASSWORD)
    second = services.refresh(first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert RefreshToken.objects.count() == 2 and AuthSession.objects.count() == 1
    assert RefreshToken.objects.get(token_hash=tokens.hash_refresh_token(first["refresh_token"])).used_at
    assert [ev.after["session"] for ev in events("auth.refresh")] == [str(AuthSession.objects.get().pk)]


def test_a_reused_refresh_token_revokes_the_whole_family(world):
    first = services.login("admin", PASSWORD)
    second = services.refresh(first["refresh_token"])
    with pytest.raises(e.RefreshTokenReusedError):
        services.refresh(first["refresh_token"])
    session = AuthSession.objects.get()
    assert session.revoked_at is not None and session.revoked_reason == "reuse"
    with pytest.raises(e.TokenRevokedError):
        services.refresh(second["refresh_token"])
    with pytest.raises(e.TokenRevokedError):
        services.actor_from_access_token(second["access_token"])
    assert len(events("auth.refresh-reused")) == 1


def test_two_racing_refreshes_of_one_token_have_exactly_one_winner(world):
    token = services.login("admin", PASSWORD)["refresh_token"]
    outcomes = []

    def attempt():
        try:
            services.refresh(token)
            outcomes.append("ok")
        except e.DomainError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"auth.refresh-token-reused", "auth.token-revoked"}
    assert RefreshToken.objects(used_at__ne=None).count() == 1


def test_unknown_and_expired_refresh_tokens_are_refused(world):
    with pytest.raises(e.TokenInvalidError):
        services.refresh("not-a-token")
    token = services.login("admin", PASSWORD)["refresh_token"]
    RefreshToken._get_collection().update_many({}, {"$set": {"expires_at": clock.now() - timedelta(seconds=1)}})
    with pytest.raises(e.TokenExpiredError):
        services.refresh(token)


def test_an_access_token_names_the_actor_with_its_office_jurisdiction_and_pools(world):
    supervisor = services.actor_from_access_token(world.tokens("supervisor_east")["access_token"])
    assert supervisor.role == Role.SUPERVISOR and supervisor.office_id == world.id("office_east")
    assert supervisor.jurisdiction_roots == (world.id("east"),)
    inspector = services.actor_from_access_token(world.tokens("inspector_east")["access_token"])
    assert inspector.jurisdiction_roots == () and inspector.pool_offices == (world.id("office_east"),)
    assert inspector.home_unit == world.id("office_city") and inspector.session_id


def test_tokens_of_another_type_or_key_or_past_expiry_are_refused(world):
    claims = tokens.decode_access_token(world.tokens("admin")["access_token"])
    key = get_settings().secret_key
    with pytest.raises(e.TokenInvalidError):
        services.actor_from_access_token(jwt.encode({**claims, "typ": "refresh"}, key, algorithm="HS256"))
    with pytest.raises(e.TokenInvalidError):
        services.actor_from_access_token(jwt.encode(claims, "another-key-of-sufficient-length-0123456789", "HS256"))
    with pytest.raises(e.TokenExpiredError):
        services.actor_from_access_token(jwt.encode({**claims, "exp": claims["iat"] - 1}, key, algorithm="HS256"))


def test_change_password_revokes_every_other_session_but_this_one(world):
    this = world.tokens("inspector_east")
    other = services.login("inspector_east", PASSWORD)
    actor = services.actor_from_access_token(this["access_token"])
    with pytest.raises(e.WrongCurrentPasswordError):
        services.change_password(actor, "Wrong@2026", "Better@2027")
    with pytest.raises(e.WeakPasswordError):
        services.change_password(actor, PASSWORD, "weakpass")
    services.change_password(actor, PASSWORD, "Better@2027")
    services.actor_from_access_token(this["access_token"])
    with pytest.raises(e.TokenRevokedError):
        services.actor_from_access_token(other["access_token"])
    with pytest.raises(e.InvalidCredentialsError):
        services.login("inspector_east", PASSWORD)
    services.login("inspector_east", "Better@2027")


ROLE_RULES = [
    ("supervisor", "east", None, (), "office-required"),
    ("leader", "office_city", "water", (), "office-required"),
    ("inspector", "east", "office_east", (), "office-not-allowed"),
    ("liaison", "site_water", None, (), "liaison-home-unit"),
    ("liaison", "east", None, (), "liaison-home-unit"),
    ("inspector", "east", None, ("water",), "pool-not-office"),
    ("supervisor", "office_east", "office_east", ("office_east",), "pool-inspectors-only"),
    ("system", "east", None, (), "role-not-assignable"),
]


@pytest.mark.parametrize("role,home,office,pool,rule", ROLE_RULES, ids=[r[-1] + "-" + r[0] for r in ROLE_RULES])
def test_account_creation_enforces_the_role_rules(world, role, home, office, pool, rule):
    with pytest.raises(e.AccountRoleRuleError) as raised:
        services.create_account(admin(world), "newbie", "新人", role, world.id(home), "Strong@2026",
                                office=world.id(office) if office else None, pool_offices=[world.id(p) for p in pool])
    assert raised.value.params == {"rule": rule}
    assert not Account.objects(username="newbie").first()


def test_a_home_unit_that_does_not_exist_breaks_a_rule(world):
    with pytest.raises(e.AccountRoleRuleError) as raised:
        services.create_account(admin(world), "newbie", "新人", "inspector", "0" * 24, "Strong@2026")
    assert raised.value.params == {"rule": "home-unit-missing"}


def test_a_created_account_is_audited_without_its_hash_and_can_log_in(world):
    created = services.create_account(admin(world), "Li.Ming", "李明", "liaison", world.id("water"), "Strong@2026")
    assert created["username"] == "li.ming" and created["home_unit"] == {"id": world.id("water"), "name": "蓬江区水务局"}
    [event] = events("account.created")
    assert event.chain == world.id("office_east") and "password" not in str(event.after)
    assert services.login("LI.MING", "Strong@2026")["token_type"] == "Bearer"


def test_usernames_are_unique_whatever_their_case(world):
    with pytest.raises(e.UsernameTakenError):
        services.create_account(admin(world), "ADMIN", "x", "inspector", world.id("east"), "Strong@2026")


def test_only_account_managers_create_accounts(world):
    supervisor = services.actor_for(world.accounts["supervisor_east"])
    with pytest.raises(e.Forbidden):
        services.create_account(supervisor, "newbie", "x", "inspector", world.id("east"), "Strong@2026")


def test_the_system_actor_may_create_an_admin(world):
    created = services.create_account(SYSTEM, "root", "root", "admin", world.id("city"), "Strong@2026")
    assert created["role"] == "admin"


def test_disabling_an_account_revokes_its_sessions_and_fails_its_next_request(world):
    token = world.tokens("liaison_water")["access_token"]
    account = world.accounts["liaison_water"]
    services.update_account(admin(world), account.pk, active=False)
    assert AuthSession.objects.get(account=account.pk).revoked_reason == "disabled"
    with pytest.raises(e.AccountDisabledError):
        services.actor_from_access_token(token)
    [event] = events("account.updated")
    assert event.before == {"active": True} and event.after == {"active": False, "sessions_revoked": 1}


def test_an_update_keeps_the_failure_counter_written_by_logins_meanwhile(world):
    with pytest.raises(e.InvalidCredentialsError):
        services.login("inspector_east", "Wrong@2026")
    stale = world.accounts["inspector_east"]  # read before the failure was counted
    services.update_account(admin(world), stale.pk, display_name="王督查")
    fresh = Account.objects.get(pk=stale.pk)
    assert fresh.display_name == "王督查" and fresh.failed_logins == 1


def test_reset_password_lifts_the_lock_and_ends_every_session(world):
    token = world.tokens("inspector_east")["access_token"]
    Account._get_collection().update_one({"username": "inspector_east"}, {"$set": {
        "locked_until": clock.now() + timedelta(hours=1)}})
    services.reset_password(admin(world), world.accounts["inspector_east"].pk, "Reset@2026")
    with pytest.raises(e.TokenRevokedError):
        services.actor_from_access_token(token)
    services.login("inspector_east", "Reset@2026")
