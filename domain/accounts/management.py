"""Account administration: create, change, disable, reset passwords, unlock (admins; the CLI as SYSTEM)."""
from __future__ import annotations

import unicodedata

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from .. import jurisdiction
from ..access import Actor, Permission, Role
from ..errors import AccountRoleRuleError, ConcurrentModificationError, UsernameTakenError
from .. import clock
from ..storage import Tx, atomic
from ..units.models import UnitKind
from . import passwords, queries
from .models import Account, AuthSession

EDITABLE = ("display_name", "active", "home_unit", "office", "pool_offices")
ROLES_WITH_OFFICE = (Role.SUPERVISOR, Role.LEADER)
LIAISON_HOME_KINDS = (UnitKind.ORGANISATION.value, UnitKind.OFFICE.value)


def revoke_sessions(tx: Tx, flt: dict, reason: str, now) -> int:
    """Revoke the live sessions matching ``flt``; their refresh and access tokens die with them."""
    result = tx.collection(AuthSession).update_many(
        {**flt, "revoked_at": None}, {"$set": {"revoked_at": now, "revoked_reason": reason, "updated_at": now}},
        session=tx.session)
    return result.modified_count


def update_fields(tx: Tx, account: Account, changes: dict) -> None:
    """Set only ``changes`` (by field name), if nobody edited the account since it was read.

    Not ``tx.save``: replacing the whole document would undo failure counters and login
    times that sign-ins write meanwhile without touching the revision."""
    son = {account._fields[k].db_field: account._fields[k].to_mongo(v) if v is not None else None
           for k, v in changes.items()}
    now = clock.now()
    done = tx.collection(Account).update_one({"_id": account.pk, "rev": account.rev},
                                             {"$set": {**son, "updated_at": now}, "$inc": {"rev": 1}},
                                             session=tx.session)
    if done.matched_count != 1:
        raise ConcurrentModificationError(kind="Account", id=str(account.pk))
    rev = account.rev + 1

    def apply():
        for k, v in changes.items():
            setattr(account, k, v)
        account.rev, account.updated_at = rev, now
    tx.after_commit(apply)


def summary(account: Account) -> dict:
    """What audit events record of an account: never the password hash."""
    return {"username": account.username, "display_name": account.display_name, "role": str(account.role),
            "home_unit": account.home_unit, "office": account.office, "pool_offices": list(account.pool_offices),
            "active": account.active}


def _unit_id(value, rule: str) -> ObjectId:
    key = queries.oid(value)
    if key is None:
        raise AccountRoleRuleError(rule=rule)
    return key


def _check_roles(role: Role, home_unit, office, pool_offices) -> None:
    """The role rules of accounts (README "What the API does", docs/tasks.md "Who sees which task"); each failure names its rule."""
    if role == Role.SYSTEM:
        raise AccountRoleRuleError(rule="role-not-assignable")
    units = queries.units_by_id([home_unit, office, *pool_offices])
    home = units.get(home_unit)
    if home is None:
        raise AccountRoleRuleError(rule="home-unit-missing")
    if role in ROLES_WITH_OFFICE:
        if office is None or units.get(office, {}).get("kind") != UnitKind.OFFICE.value:
            raise AccountRoleRuleError(rule="office-required")
    elif office is not None:
        raise AccountRoleRuleError(rule="office-not-allowed")
    if role == Role.LIAISON and home.get("kind") not in LIAISON_HOME_KINDS:
        raise AccountRoleRuleError(rule="liaison-home-unit")
    if pool_offices and role != Role.INSPECTOR:
        raise AccountRoleRuleError(rule="pool-inspectors-only")
    if any(units.get(p, {}).get("kind") != UnitKind.OFFICE.value for p in pool_offices):
        raise AccountRoleRuleError(rule="pool-not-office")


def _audit(tx: Tx, actor: Actor, action: str, account: Account, before=None, after=None) -> None:
    tx.audit(actor, action, target_type="account", target_id=account.pk,
             chain=jurisdiction.chain_for_unit(account.home_unit), target_unit=account.home_unit,
             before=before, after=after)


def create_account(actor: Actor, username: str, display_name: str, role, home_unit, password: str,
                   office=None, pool_offices=()) -> dict:
    """Admins (ACCOUNT_MANAGE). Raises AccountRoleRuleError, WeakPasswordError, UsernameTakenError."""
    actor.require(Permission.ACCOUNT_MANAGE)
    try:
        role = Role(str(role))
    except ValueError:
        raise AccountRoleRuleError(rule="role-not-assignable") from None
    home = _unit_id(home_unit, "home-unit-missing")
    office_id = _unit_id(office, "office-required") if office is not None else None
    pool = list(dict.fromkeys(_unit_id(p, "pool-not-office") for p in pool_offices))
    _check_roles(role, home, office_id, pool)
    passwords.check_policy(password)
    account = Account(username=unicodedata.normalize("NFC", username.strip()).lower(), display_name=display_name, role=role, home_unit=home,
                      office=office_id, pool_offices=pool, password_hash=passwords.hash_password(password),
                      password_changed_at=clock.now())

    def work(tx: Tx) -> None:
        tx.insert(account)
        _audit(tx, actor, "account.created", account, after=summary(account))

    try:
        atomic(work)
    except DuplicateKeyError:
        # The unique index decides: a check before inserting would race with a second admin.
        raise UsernameTakenError(username=account.username) from None
    return queries.describe([account])[0]


def update_account(actor: Actor, account_id, **changes) -> dict:
    """Admins. Changes display_name, active, home_unit, office, pool_offices; disabling revokes
    every session of the account. Raises AccountNotFoundError, AccountRoleRuleError,
    ConcurrentModificationError."""
    actor.require(Permission.ACCOUNT_MANAGE)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    account = queries.load_account(actor, account_id)
    if "home_unit" in changes:
        changes["home_unit"] = _unit_id(changes["home_unit"], "home-unit-missing")
    if "office" in changes and changes["office"] is not None:
        changes["office"] = _unit_id(changes["office"], "office-required")
    if "pool_offices" in changes:
        changes["pool_offices"] = list(dict.fromkeys(_unit_id(p, "pool-not-office") for p in changes["pool_offices"]))
    merged = {k: changes.get(k, getattr(account, k)) for k in ("home_unit", "office", "pool_offices")}
    _check_roles(account.role, merged["home_unit"], merged["office"], merged["pool_offices"])
    before_all = summary(account)
    changed = {k: v for k, v in changes.items() if v != getattr(account, k)}
    if not changed:
        return queries.describe([account])[0]
    now = clock.now()

    def work(tx: Tx) -> None:
        update_fields(tx, account, changed)
        after = dict(changed)
        if changed.get("active") is False:
            after["sessions_revoked"] = revoke_sessions(tx, {"account": account.pk}, "disabled", now)
        home = changed.get("home_unit", account.home_unit)
        tx.audit(actor, "account.updated", target_type="account", target_id=account.pk,
                 chain=jurisdiction.chain_for_unit(home), target_unit=home,
                 before={k: before_all[k] for k in changed}, after=after)

    atomic(work)
    return queries.describe([account])[0]


def reset_password(actor: Actor, account_id, new_password: str) -> None:
    """Admins. Sets a new password, lifts any lock-out and revokes every session of the account.
    Raises AccountNotFoundError, WeakPasswordError."""
    actor.require(Permission.ACCOUNT_MANAGE)
    account = queries.load_account(actor, account_id)
    passwords.check_policy(new_password)
    new_hash = passwords.hash_password(new_password)
    now = clock.now()

    def work(tx: Tx) -> None:
        update_fields(tx, account, {"password_hash": new_hash, "password_changed_at": now,
                                    "failed_logins": 0, "locked_until": None})
        revoked = revoke_sessions(tx, {"account": account.pk}, "password-reset", now)
        _audit(tx, actor, "account.password-reset", account, after={"sessions_revoked": revoked})

    atomic(work)


def unlock_account(actor: Actor, account_id) -> None:
    """Admins. Clears the account's log-in back-off (every address) and the old lock fields.
    Raises AccountNotFoundError."""
    actor.require(Permission.ACCOUNT_MANAGE)
    account = queries.load_account(actor, account_id)
    before = {"locked_until": account.locked_until, "failed_logins": account.failed_logins}

    def work(tx: Tx) -> None:
        tx.collection(Account).update_one({"_id": account.pk}, {"$set": {"failed_logins": 0},
                                                                "$unset": {"locked_until": ""}}, session=tx.session)
        _audit(tx, actor, "account.unlocked", account, before=before, after={"locked_until": None, "failed_logins": 0})

    atomic(work)
    from . import throttle

    throttle.clear(account.username)
