"""Jurisdiction (辖区): which units an actor may see, and which office's audit chain owns a unit.

Scoping is always a query filter built here and applied in ``queries.py`` modules,
never a filter over fetched results. Tasks, reports and evidence carry their ``scope_units``
(domain/scope.py), so their filter is ``scoped_to_roots``: one indexed match on the actor's roots.
"""
from __future__ import annotations

from bson import ObjectId

from .access import Actor, Role
from .audit.chain import SYSTEM_CHAIN


def _oid(value) -> ObjectId | None:
    if value is None:
        return None
    return value if isinstance(value, ObjectId) else ObjectId(str(value))


def subtree_filter(roots) -> dict:
    """Units that are one of ``roots`` or below one of them."""
    ids = [_oid(r) for r in roots]
    return {"$or": [{"_id": {"$in": ids}}, {"ancestors": {"$in": ids}}]}


def visible_units_filter(actor: Actor) -> dict | None:
    """A raw filter on the units collection; ``None`` means every unit (admin, system).

    Supervisors and leaders see their office's jurisdiction; liaisons and inspectors their home unit.
    """
    if actor.is_global:
        return None
    if actor.role in (Role.SUPERVISOR, Role.LEADER):
        return subtree_filter(actor.jurisdiction_roots) if actor.jurisdiction_roots else {"_id": {"$in": []}}
    return {"_id": {"$in": [_oid(actor.home_unit)]}} if actor.home_unit else {"_id": {"$in": []}}


def scoped_to_roots(actor: Actor) -> dict:
    """Documents with a stored ``scope_units`` that lie in the actor's jurisdiction (supervisors, leaders):
    a match on the roots themselves, never a list of every unit below them."""
    roots = [r for r in (_oid(r) for r in actor.jurisdiction_roots) if r is not None]
    return {"scope_units": {"$in": roots}} if roots else {"_id": {"$in": []}}


def jurisdiction_unit_ids(actor: Actor) -> list[ObjectId] | None:
    """Ids of every unit in the actor's view (``None``: all). For filtering other collections by unit."""
    from .units.models import Unit

    flt = visible_units_filter(actor)
    if flt is None:
        return None
    return [d["_id"] for d in Unit._get_collection().find(flt, {"_id": 1})]


def chain_for_path(path: list, extra_offices: list[tuple] = ()) -> str:
    """The chain of the office whose jurisdiction root is deepest on ``path`` (root first).

    ``extra_offices`` adds (office_id, roots) not committed yet, for a unit being created or moved.
    """
    from .units.models import Unit, UnitKind

    path = [_oid(p) for p in path]
    offices = [(o["_id"], o.get("jurisdiction_roots", [])) for o in Unit._get_collection().find(
        {"kind": UnitKind.OFFICE.value, "jurisdiction_roots": {"$in": path}}, {"jurisdiction_roots": 1})]
    offices.extend(extra_offices)
    best, best_depth = None, -1
    for office_id, roots in offices:
        for root in roots:
            if root in path and path.index(root) > best_depth:
                best, best_depth = office_id, path.index(root)
    return str(best) if best is not None else SYSTEM_CHAIN


def chain_for_unit(unit_id) -> str:
    """The audit chain of the office whose jurisdiction root is the nearest ancestor-or-self of the unit."""
    from .units.models import Unit

    if unit_id is None:
        return SYSTEM_CHAIN
    unit = Unit._get_collection().find_one({"_id": _oid(unit_id)}, {"ancestors": 1})
    if unit is None:
        return SYSTEM_CHAIN
    return chain_for_path([*unit.get("ancestors", []), unit["_id"]])
