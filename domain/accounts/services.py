"""Sign-in use cases: login, refresh rotation, logout, password change, and token → Actor.

Account administration lives in ``management.py`` and is re-exported here, so callers
import every account use case from this one module.
"""
from __future__ import annotations

import unicodedata

from datetime import datetime, timedelta
from typing import NamedTuple


from .. import jurisdiction
from ..access import Actor, Role
from ..audit.chain import SYSTEM_CHAIN
from ..config import get_settings
from ..errors import (AccountDisabledError, InvalidCredentialsError, LoginThrottledError,
                      RefreshTokenReusedError, TokenExpiredError, TokenInvalidError, TokenRevokedError,
                      WrongCurrentPasswordError)
from .. import clock
from ..storage import Tx, atomic
from . import passwords, queries, throttle, tokens
from .management import (create_account, reset_password, revoke_sessions, unlock_account,  # noqa: F401
                         update_account, update_fields)
from .models import Account, AuthSession, RefreshToken


class _Claimant(NamedTuple):
    """Who an audit event names when nobody is signed in: the username that was tried."""
    id: str | None
    role: str
    username: str


def _principal(account: Account) -> Actor:
    return Actor(id=str(account.pk), role=account.role, username=account.username,
                 home_unit=str(account.home_unit))


def _audit_account(tx: Tx, actor, action: str, account: Account, **after) -> None:
    tx.audit(actor, action, target_type="account", target_id=account.pk,
             chain=jurisdiction.chain_for_unit(account.home_unit), target_unit=account.home_unit, after=after)


def _pair(access: str, refresh: str, expires_in: int) -> dict:
    return {"access_token": access, "refresh_token": refresh, "expires_in": expires_in, "token_type": "Bearer"}


def _issue(tx: Tx, account: Account, session_id, now: datetime, rotated: str | None = None) -> dict:
    """A new refresh token in the session's family and an access token for it; rotating ``rotated``,
    both are derived from it (``tokens.successor``) so that a retry can be given them again."""
    if rotated is None:
        (refresh, refresh_hash), jti = tokens.new_refresh_token(), None
    else:
        refresh, refresh_hash, jti = tokens.successor(rotated)
    tx.insert(RefreshToken(token_hash=refresh_hash, session=session_id, account=account.pk,
                           expires_at=now + timedelta(seconds=get_settings().refresh_token_ttl)))
    access, expires_in = tokens.issue_access_token(account.pk, session_id, now, jti=jti)
    return _pair(access, refresh, expires_in)


def login(username: str, password: str, *, user_agent: str | None = None, address: str | None = None) -> dict:
    """Anyone may call. Returns tokens for a new session.

    Failures make the next try from ``address`` (the client's address) wait longer, for unknown
    usernames exactly as for real ones (``throttle.py``); nothing locks. Raises LoginThrottledError
    (inside the wait: the password is not even checked), InvalidCredentialsError (unknown user or
    wrong password, alike), AccountDisabledError (the right password of a disabled account).
    """
    # NFC, as stored (docs/text.md): a phone keyboard may send a decomposed form of the same name.
    name = unicodedata.normalize("NFC", (username or "").strip()).lower()
    where = address or "unknown"
    wait = throttle.retry_after(name, where)
    if wait:
        raise LoginThrottledError(seconds=wait)
    account = queries.account_by_username(name)
    now = clock.now()
    if account is None:
        passwords.burn_verify(password)
        failures = throttle.record_failure(name, where)
        atomic(lambda tx: tx.audit(_Claimant(None, "anonymous", name), "auth.login-failed",
                                   target_type="account", target_id=None, chain=SYSTEM_CHAIN,
                                   after={"username": name, "reason": "unknown-user", "failures": failures}))
        raise InvalidCredentialsError()
    principal = _principal(account)
    if not passwords.verify_password(account.password_hash, password):
        failures = throttle.record_failure(name, where)
        atomic(lambda tx: _audit_account(tx, principal, "auth.login-failed", account, username=name,
                                         reason="wrong-password", failures=failures))
        raise InvalidCredentialsError()
    if not account.active:
        atomic(lambda tx: _audit_account(tx, principal, "auth.login-failed", account, username=name, reason="disabled"))
        raise AccountDisabledError()
    throttle.clear(name, where)
    new_hash = passwords.hash_password(password) if passwords.needs_rehash(account.password_hash) else None

    def work(tx: Tx) -> dict:
        changes = {"failed_logins": 0, "last_login_at": now}
        if new_hash:
            changes["password_hash"] = new_hash
        done = tx.collection(Account).update_one({"_id": account.pk, "active": True},
                                                 {"$set": changes, "$unset": {"locked_until": ""}}, session=tx.session)
        if done.matched_count != 1:
            raise AccountDisabledError()
        session = tx.insert(AuthSession(account=account.pk, user_agent=(user_agent or "")[:300] or None,
                                        expires_at=now + timedelta(seconds=get_settings().refresh_token_ttl)))
        _audit_account(tx, principal, "auth.login", account, session=str(session.pk), rehashed=bool(new_hash))
        return _issue(tx, account, session.pk, now)

    return atomic(work)


def refresh(refresh_token: str, *, user_agent: str | None = None) -> dict:
    """Anyone holding a refresh token may call. Rotates it: the token is spent, a new one issued.

    A phone whose answer was lost retries with the token it still holds: within
    ``refresh_grace_seconds`` of the first use, while the new token is unspent, it gets the same
    pair again. Any other reuse means someone holds a copy. Raises TokenInvalidError (unknown),
    TokenExpiredError, TokenRevokedError (family revoked), RefreshTokenReusedError (a spent token
    presented again after the grace: the whole family is revoked), AccountDisabledError.
    """
    token = refresh_token or ""
    record = queries.refresh_token_by_hash(tokens.hash_refresh_token(token))
    if record is None:
        raise TokenInvalidError()
    account = queries.account_by_id(record.account)
    session = queries.session_by_id(record.session, record.account)
    if account is None or session is None:
        raise TokenInvalidError()
    if session.revoked_at is not None:
        raise TokenRevokedError()
    now = clock.now()
    if record.used_at is not None:
        return _retried(account, session.pk, record, token, now)
    if record.expires_at <= now:
        raise TokenExpiredError()
    if not account.active:
        raise AccountDisabledError()
    s = get_settings()

    def work(tx: Tx) -> dict | None:
        # Spend the token only if nobody spent it first: of two racing refreshes exactly one rotates.
        spent = tx.collection(RefreshToken).update_one({"_id": record.pk, "used_at": None},
                                                       {"$set": {"used_at": now}}, session=tx.session)
        if spent.modified_count != 1:
            return None
        alive = tx.collection(AuthSession).update_one(
            {"_id": session.pk, "revoked_at": None},
            {"$set": {"expires_at": now + timedelta(seconds=s.refresh_token_ttl), "updated_at": now}},
            session=tx.session)
        if alive.matched_count != 1:
            raise TokenRevokedError()
        _audit_account(tx, _principal(account), "auth.refresh", account, session=str(session.pk),
                       user_agent=(user_agent or "")[:300] or None)
        return _issue(tx, account, session.pk, now, rotated=token)

    issued = atomic(work)
    if issued is None:  # spent meanwhile (committed: the snapshot saw it): a racing retry, or a copy
        return _retried(account, session.pk, queries.refresh_token_by_hash(record.token_hash), token, now)
    return issued


def _retried(account: Account, session_id, record: RefreshToken, token: str, now: datetime) -> dict:
    """A spent refresh token came back. Inside the grace after its use, with its successor not yet
    used, it is the same phone retrying: the same pair again (derived, nothing new stored). Else
    the family ends (``_revoke_for_reuse``)."""
    grace = timedelta(seconds=get_settings().refresh_grace_seconds)
    used_at = record.used_at if record is not None else None
    if used_at is not None and now - used_at <= grace and account.active:
        refresh, refresh_hash, jti = tokens.successor(token)
        nxt = queries.refresh_token_by_hash(refresh_hash)
        if nxt is not None and nxt.used_at is None:
            access, expires_in = tokens.issue_access_token(account.pk, session_id, used_at, jti=jti)
            atomic(lambda tx: _audit_account(tx, _principal(account), "auth.refresh-retried", account,
                                             session=str(session_id)))
            return _pair(access, refresh, expires_in)
    _revoke_for_reuse(account, session_id, now)


def _revoke_for_reuse(account: Account, session_id, now: datetime):
    """A spent refresh token came back: someone holds a copy, so the whole family ends."""
    def work(tx: Tx) -> None:
        if revoke_sessions(tx, {"_id": session_id}, "reuse", now):
            _audit_account(tx, _principal(account), "auth.refresh-reused", account, session=str(session_id))

    atomic(work)
    raise RefreshTokenReusedError()


def logout(actor: Actor) -> None:
    """Any signed-in actor. Ends its session: its refresh tokens and access tokens stop working at once."""
    account = queries.account_by_id(actor.id)
    if account is None or actor.session_id is None:
        raise TokenInvalidError()
    now = clock.now()

    def work(tx: Tx) -> None:
        if revoke_sessions(tx, {"_id": queries.oid(actor.session_id), "account": account.pk}, "logout", now):
            _audit_account(tx, actor, "auth.logout", account, session=actor.session_id)

    atomic(work)


def change_password(actor: Actor, current_password: str, new_password: str) -> None:
    """Any signed-in actor, for its own account. Every other session of the account is revoked.

    Raises WrongCurrentPasswordError, WeakPasswordError.
    """
    account = queries.account_by_id(actor.id)
    if account is None:
        raise TokenInvalidError()
    if not passwords.verify_password(account.password_hash, current_password):
        raise WrongCurrentPasswordError()
    passwords.check_policy(new_password)
    new_hash = passwords.hash_password(new_password)
    now = clock.now()

    def work(tx: Tx) -> None:
        update_fields(tx, account, {"password_hash": new_hash, "password_changed_at": now})
        revoked = revoke_sessions(tx, {"account": account.pk, "_id": {"$ne": queries.oid(actor.session_id)}},
                                  "password-changed", now)
        _audit_account(tx, actor, "auth.password-changed", account, other_sessions_revoked=revoked)

    atomic(work)


def actor_for(account: Account, session_id=None) -> Actor:
    """The Actor an account acts as; supervisors and leaders carry their office's jurisdiction roots."""
    roots: tuple[str, ...] = ()
    if account.role in (Role.SUPERVISOR, Role.LEADER) and account.office:
        office = queries.units_by_id([account.office]).get(account.office) or {}
        roots = tuple(str(r) for r in office.get("jurisdiction_roots", []))
    return Actor(id=str(account.pk), role=account.role, username=account.username,
                 home_unit=str(account.home_unit), office_id=str(account.office) if account.office else None,
                 jurisdiction_roots=roots, pool_offices=tuple(str(p) for p in account.pool_offices),
                 session_id=str(session_id) if session_id else None)


def actor_from_access_token(token: str) -> Actor:
    """Who a bearer token acts for. Account and session are read on every request, so a disabled
    account or a revoked session fails on its very next request, not at token expiry.

    Raises TokenExpiredError, TokenInvalidError, AccountDisabledError, TokenRevokedError.
    """
    claims = tokens.decode_access_token(token)
    account = queries.account_by_id(claims["sub"])
    if account is None:
        raise TokenInvalidError()
    if not account.active:
        raise AccountDisabledError()
    session = queries.session_by_id(claims["sid"], account.pk)
    if session is None:
        raise TokenInvalidError()
    if session.revoked_at is not None:
        raise TokenRevokedError()
    return actor_for(account, session.pk)
