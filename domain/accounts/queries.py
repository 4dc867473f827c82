"""Every query on accounts and sessions, scoped to the actor in the query itself."""
from __future__ import annotations

from bson import ObjectId

from ..filters import all_of, NOTHING, oid
from ..access import Actor, Permission, Role
from ..errors import AccountNotFoundError
from ..pagination import Page, page
from ..units.models import Unit
from .models import Account, AuthSession, RefreshToken





def _scope(actor: Actor) -> dict:
    """Accounts the actor may list: admins all, a supervisor the inspectors of its office's pool."""
    if actor.can(Permission.ACCOUNT_READ):
        return {}
    if actor.can(Permission.INSPECTOR_POOL_READ) and actor.office_id:
        return {"role": Role.INSPECTOR.value, "pool_offices": oid(actor.office_id)}
    return NOTHING


def _readable(actor: Actor) -> dict:
    """What the actor may read one at a time: its scope plus its own account."""
    own = oid(actor.id)
    scope = _scope(actor)
    if own is None or scope == {}:
        return scope
    return {"$or": [scope, {"_id": own}]}


def load_account(actor: Actor, account_id) -> Account:
    """The account if the actor may read it; otherwise AccountNotFoundError (existence is not revealed)."""
    key = oid(account_id)
    if key is None:
        raise AccountNotFoundError()
    account = Account.objects(__raw__=all_of({"_id": key}, _readable(actor))).first()
    if account is None:
        raise AccountNotFoundError()
    return account


def get_account(actor: Actor, account_id) -> dict:
    return describe([load_account(actor, account_id)])[0]


def own_account(actor: Actor) -> dict:
    return get_account(actor, actor.id)


def list_accounts(actor: Actor, *, role: str | None = None, home_unit: str | None = None,
                  active: bool | None = None, cursor: str | None = None, limit: int = 50) -> Page:
    """One page of the accounts in the actor's scope, oldest first."""
    clauses = [_scope(actor)]
    if role:
        clauses.append({"role": str(role)})
    if home_unit:
        clauses.append({"home_unit": oid(home_unit)} if oid(home_unit) else NOTHING)
    if active is not None:
        clauses.append({"active": active})
    result = page(Account.objects(__raw__=all_of(*clauses)), cursor, limit)
    return Page(describe(result.items), result.next_cursor)


def account_by_username(username: str) -> Account | None:
    """For login only: the account whose (lower-case) username this is."""
    return Account.objects(username=username).first()


def account_by_id(account_id) -> Account | None:
    """For token checks only: unscoped, by id."""
    key = oid(account_id)
    return Account.objects(id=key).first() if key else None


def session_by_id(session_id, account_id) -> AuthSession | None:
    key = oid(session_id)
    return AuthSession.objects(id=key, account=account_id).first() if key else None


def refresh_token_by_hash(token_hash: str) -> RefreshToken | None:
    return RefreshToken.objects(token_hash=token_hash).first()


def units_by_id(ids) -> dict[ObjectId, dict]:
    """Kind, name and jurisdiction roots of the given units, by id."""
    keys = [k for k in ids if k is not None]
    if not keys:
        return {}
    cursor = Unit._get_collection().find({"_id": {"$in": keys}}, {"name": 1, "kind": 1, "jurisdiction_roots": 1})
    return {d["_id"]: d for d in cursor}


def _ref(units: dict, key) -> dict | None:
    if key is None:
        return None
    unit = units.get(key)
    return {"id": str(key), "name": unit["name"] if unit else None}


def describe(accounts: list[Account]) -> list[dict]:
    """The wire view of accounts, with unit names; never the password hash."""
    ids = {a.home_unit for a in accounts} | {a.office for a in accounts} | {p for a in accounts for p in a.pool_offices}
    units = units_by_id(ids)
    return [{
        "id": str(a.pk),
        "username": a.username,
        "display_name": a.display_name,
        "role": str(a.role),
        "home_unit": _ref(units, a.home_unit),
        "office": _ref(units, a.office),
        "pool_offices": [_ref(units, p) for p in a.pool_offices],
        "active": a.active,
        "locked_until": a.locked_until,
        "last_login_at": a.last_login_at,
        "password_changed_at": a.password_changed_at,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    } for a in accounts]
