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
from domain.clock import FixedClock


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


def _fail(username, address="10.0.0.1", times=1, fixed: FixedClock | None = None):
    """Fail ``times`` log-ins; with ``fixed``, wait out each back-off first (the clock, not the test)."""
    for _ in range(times):
        while True:
            try:
                services.login(username, "Wrong@2026", address=address)
            except e.LoginThrottledError as throttled:
                assert fixed is not None, "unexpected back-off"
                fixed.advance(timedelta(seconds=throttled.params["seconds"]))
                continue
            except e.InvalidCredentialsError:
                break


def test_failures_make_the_next_try_wait_longer_and_never_lock_the_account(world):
    free = get_settings().login_free_failures
    with clock.using(FixedClock(clock.now())) as fixed:
        _fail("inspector_east", times=free - 1)
        services.login("inspector_east", PASSWORD, address="10.0.0.1")  # under the limit: no wait
        _fail("inspector_east", times=free)
        waits = []
        for _ in range(3):
            with pytest.raises(e.LoginThrottledError) as throttled:
                services.login("inspector_east", PASSWORD, address="10.0.0.1")  # not even checked
            waits.append(throttled.value.params["seconds"])
            fixed.advance(timedelta(seconds=waits[-1]))
            _fail("inspector_east")
        assert waits == [1, 2, 4]
        fixed.advance(timedelta(seconds=8))
        assert services.login("inspector_east", PASSWORD, address="10.0.0.1")["access_token"]
        # Success forgets that address's failures: the next wrong password is answered at once.
        _fail("inspector_east")
    assert Account.objects.get(username="inspector_east").locked_until is None
    assert events("auth.login-failed")[-1].after["reason"] == "wrong-password"


def test_an_unknown_username_waits_exactly_like_a_real_one(world):
    answers = {}
    with clock.using(FixedClock(clock.now())) as fixed:
        for name in ("inspector_east", "no_such_user"):
            _fail(name, times=get_settings().login_free_failures + 2, fixed=fixed)
            with pytest.raises(e.LoginThrottledError) as throttled:
                services.login(name, "Wrong@2026", address="10.0.0.1")
            answers[name] = (throttled.value.code, throttled.value.params)
    assert answers["inspector_east"] == answers["no_such_user"]


def test_a_stranger_elsewhere_cannot_keep_the_owner_out(world):
    s = get_settings()
    with clock.using(FixedClock(clock.now())) as fixed:
        _fail("supervisor_east", address="198.51.100.7", times=s.login_free_failures + 10, fixed=fixed)
        # The owner's own address is not held back by the stranger's guesses.
        assert services.login("supervisor_east", PASSWORD, address="10.0.0.1")["access_token"]
        # Guesses from every address together slow the username, but only up to a short cap.
        for i in range(s.login_username_free_failures):
            _fail("supervisor_east", address=f"203.0.113.{i % 250}", fixed=fixed)
        with pytest.raises(e.LoginThrottledError) as throttled:
            services.login("supervisor_east", PASSWORD, address="10.0.0.1")
        assert throttled.value.params["seconds"] <= s.login_username_backoff_max_seconds
        fixed.advance(timedelta(seconds=s.login_username_backoff_max_seconds))
        assert services.login("supervisor_east", PASSWORD, address="10.0.0.1")["access_token"]


def test_an_admin_unlock_clears_the_back_off_from_every_address(world):
    with clock.using(FixedClock(clock.now())) as fixed:
        _fail("inspector_east", times=get_settings().login_free_failures + 3, fixed=fixed)
        with pytest.raises(e.LoginThrottledError):
            services.login("inspector_east", PASSWORD, address="10.0.0.1")
        services.unlock_account(admin(world), world.accounts["inspector_east"].pk)
        assert services.login("inspector_east", PASSWORD, address="10.0.0.1")["access_token"]


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


def test_a_retried_refresh_within_the_grace_gets_the_same_pair_and_stores_nothing_new(world):
    with clock.using(FixedClock(clock.now())) as fixed:
        first = services.login("admin", PASSWORD)
        second = services.refresh(first["refresh_token"])
        fixed.advance(timedelta(seconds=get_settings().refresh_grace_seconds))
        again = services.refresh(first["refresh_token"])  # the phone never got the answer
    assert again == second
    assert services.actor_from_access_token(again["access_token"]).username == "admin"
    assert RefreshToken.objects.count() == 2 and AuthSession.objects.get().revoked_at is None
    assert len(events("auth.refresh-retried")) == 1
    stored = {r.token_hash for r in RefreshToken.objects}
    assert tokens.hash_refresh_token(second["refresh_token"]) in stored and second["refresh_token"] not in stored


def test_a_retry_after_the_successor_was_used_revokes_the_family(world):
    first = services.login("admin", PASSWORD)
    second = services.refresh(first["refresh_token"])
    services.refresh(second["refresh_token"])
    with pytest.raises(e.RefreshTokenReusedError):
        services.refresh(first["refresh_token"])
    assert AuthSession.objects.get().revoked_reason == "reuse"


def test_a_reused_refresh_token_revokes_the_whole_family(world):
    with clock.using(FixedClock(clock.now())) as fixed:
        first = services.login("admin", PASSWORD)
        second = services.refresh(first["refresh_token"])
        fixed.advance(timedelta(seconds=get_settings().refresh_grace_seconds + 1))
        with pytest.raises(e.RefreshTokenReusedError):
            services.refresh(first["refresh_token"])
    session = AuthSession.objects.get()
    assert session.revoked_at is not None and session.revoked_reason == "reuse"
    with pytest.raises(e.TokenRevokedError):
        services.refresh(second["refresh_token"])
    with pytest.raises(e.TokenRevokedError):
        services.actor_from_access_token(second["access_token"])
    assert len(events("auth.refresh-reused")) == 1


def test_racing_refreshes_of_one_token_rotate_it_once_and_all_get_the_same_pair(world):
    token = services.login("admin", PASSWORD)["refresh_token"]
    outcomes = []

    def attempt():
        try:
            outcomes.append(services.refresh(token)["refresh_token"])
        except e.DomainError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 4 and len(set(outcomes)) == 1 and not outcomes[0].startswith("auth.")
    assert RefreshToken.objects(used_at__ne=None).count() == 1 and RefreshToken.objects.count() == 2


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


def test_reset_password_lifts_the_lock_and_ends_every_session(world):
    token = world.tokens("inspector_east")["access_token"]
    Account._get_collection().update_one({"username": "inspector_east"}, {"$set": {
        "locked_until": clock.now() + timedelta(hours=1)}})
    services.reset_password(admin(world), world.accounts["inspector_east"].pk, "Reset@2026")
    with pytest.raises(e.TokenRevokedError):
        services.actor_from_access_token(token)
    services.login("inspector_east", "Reset@2026")


def test_a_username_typed_in_a_decomposed_form_signs_in_to_the_account_stored_in_nfc(world):
    """docs/text.md: one name has one form; a phone keyboard may send é as e + U+0301."""
    from tests.factories.accounts import PASSWORD as FACTORY_PASSWORD

    AccountFactory(username="andré", home_unit=world.unit("east").pk)
    assert services.login("Andre\u0301", FACTORY_PASSWORD)["token_type"] == "Bearer"
