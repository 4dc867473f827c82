"""Every read of units, scoped to the actor's jurisdiction in the query itself (out of scope is 404)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bson import ObjectId

from ..filters import oid
from ..access import Actor
from ..errors import UnitNotFoundError
from ..jurisdiction import visible_units_filter
from ..pagination import Page, page
from .models import Unit, UnitKind

EARTH_RADIUS_M = 6378100.0



def _scoped(actor: Actor, *clauses: dict) -> dict:
    """One raw filter under ``$and`` so that pagination's own ``_id`` condition never collides with it."""
    parts = [c for c in (visible_units_filter(actor), *clauses) if c]
    return {"$and": parts} if parts else {}


def get_unit(actor: Actor, unit_id) -> Unit:
    """One unit the actor may see; anything else is ``UnitNotFoundError``."""
    uid = oid(unit_id)
    unit = Unit.objects(__raw__=_scoped(actor, {"_id": uid})).first() if uid else None
    if unit is None:
        raise UnitNotFoundError(id=str(unit_id))
    return unit


def get_unit_in_tx(tx, actor: Actor, unit_id) -> Unit:
    """Like ``get_unit``, read inside the transaction so a concurrent write conflicts and retries."""
    uid = oid(unit_id)
    raw = Unit._get_collection().find_one(_scoped(actor, {"_id": uid}), session=tx.session) if uid else None
    if raw is None:
        raise UnitNotFoundError(id=str(unit_id))
    return Unit._from_son(raw)


def units_by_ids(actor: Actor, ids) -> list[Unit]:
    wanted = [i for i in (oid(x) for x in ids) if i is not None]
    return list(Unit.objects(__raw__=_scoped(actor, {"_id": {"$in": wanted}}))) if wanted else []


def unit_by_code(actor: Actor, code: str) -> Unit | None:
    return Unit.objects(__raw__=_scoped(actor, {"code": code})).first()


def child_count(unit_id) -> int:
    return Unit.objects(parent=oid(unit_id)).count()


def child_region_levels(unit_id) -> list[str]:
    return [u.level for u in Unit.objects(parent=oid(unit_id), kind=UnitKind.REGION).only("level")]


def descendants_in_tx(tx, unit_id) -> list[dict]:
    """Ids and paths of every unit below ``unit_id``, read inside the transaction."""
    return list(Unit._get_collection().find({"ancestors": oid(unit_id)}, {"ancestors": 1}, session=tx.session))


def subtree_has_sites(unit_id) -> bool:
    uid = oid(unit_id)
    return Unit.objects(__raw__={"kind": UnitKind.SITE.value, "$or": [{"_id": uid}, {"ancestors": uid}]}).count() > 0


def path_with_ancestors(unit_ids) -> list[ObjectId]:
    """The given units and every ancestor of theirs, each once."""
    seen: dict[ObjectId, None] = {}
    for raw in Unit._get_collection().find({"_id": {"$in": [oid(u) for u in unit_ids]}}, {"ancestors": 1}):
        for uid in (*raw.get("ancestors", []), raw["_id"]):
            seen.setdefault(uid, None)
    return list(seen)


def active_site_count(unit_id) -> int:
    return Unit._get_collection().count_documents(
        {"ancestors": oid(unit_id), "kind": UnitKind.SITE.value, "active": True})


@dataclass(frozen=True)
class Near:
    lon: float
    lat: float
    within_m: float


def list_units(actor: Actor, *, kind=None, level=None, parent=None, ancestor=None, active=None, code=None,
               q=None, near: Near | None = None, cursor=None, limit: int = 50) -> Page:
    """Units in the actor's view, in creation order, filtered; ``q`` matches part of the name."""
    clauses: list[dict] = []
    if kind:
        clauses.append({"kind": str(kind)})
    if level:
        clauses.append({"level": str(level)})
    if parent is not None:
        clauses.append({"parent": oid(parent)} if oid(parent) else {"_id": {"$in": []}})
    if ancestor is not None:
        clauses.append({"ancestors": oid(ancestor)} if oid(ancestor) else {"_id": {"$in": []}})
    if active is not None:
        clauses.append({"active": bool(active)})
    if code:
        clauses.append({"code": str(code).strip().upper()})
    if q:
        # name is not indexed; a raw $regex is what SecantusDB matches reliably (see stack notes).
        clauses.append({"name": {"$regex": re.escape(q), "$options": "i"}})
    if near is not None:
        clauses.append({"location": {"$geoWithin": {"$centerSphere": [[near.lon, near.lat],
                                                                      near.within_m / EARTH_RADIUS_M]}}})
    return page(Unit.objects(__raw__=_scoped(actor, *clauses)), cursor, limit)
