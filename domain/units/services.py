"""Use cases of the unit tree: create, update, move (with the subtree), delete, and the site recount.

Writes are admin-only (``unit:manage``); the system actor holds it too for CSV imports and the
demo seed. Every change commits with its audit event, and a change to the sites below a unit
with an outbox entry for ``workers.units.recount_sites``; a move also with one for
``workers.units.refresh_scope``.
"""
from __future__ import annotations

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from .. import storage
from ..access import Actor, Permission
from ..audit.chain import ensure_chain
from ..errors import (UnitCodeTakenError, UnitFieldRuleError, UnitHasChildrenError, UnitHasHistoryError,
                      UnitMoveIntoOwnSubtreeError, UnitNotFoundError)
from ..jurisdiction import chain_for_path, chain_for_unit
from . import geo, queries, rules
from .models import RegionLevel, Unit, UnitKind
from .references import history_reason
from .. import clock
from ..ids import new_id

RECOUNT_JOB = "workers.units.recount_sites"
SCOPE_JOB = "workers.units.refresh_scope"  # domain.scope.refresh_scope_below
UNSET = object()


def summary(unit: Unit) -> dict:
    """What an audit event records of a unit (before/after)."""
    data = {
        "code": unit.code, "name": unit.name, "name_en": unit.name_en, "kind": str(unit.kind),
        "level": str(unit.level) if unit.level else None, "parent": str(unit.parent) if unit.parent else None,
        "active": unit.active, "address": unit.address, "radius_m": unit.radius_m,
        "location": unit.location["coordinates"] if unit.location else None,
        "location_input": dict(unit.location_input) if unit.location_input else None,
        "jurisdiction_roots": [str(r) for r in unit.jurisdiction_roots] or None,
        "validation_thresholds": dict(unit.validation_thresholds) or None,
    }
    return {k: v for k, v in data.items() if v is not None}


def _thresholds(unit: Unit, overrides: dict | None) -> dict:
    """Per-office photo validation overrides, checked against the validator's own rules."""
    from ..validation.thresholds import Thresholds

    if unit.kind is not UnitKind.OFFICE:
        raise UnitFieldRuleError(field="validation_thresholds", rule="offices-only")
    try:
        Thresholds().with_overrides(overrides or {})
    except (ValueError, TypeError) as exc:
        raise UnitFieldRuleError(field="validation_thresholds", rule=str(exc)) from None
    return dict(overrides or {})


def _owner_chain(path: list[ObjectId], extra_office: tuple[ObjectId, list[ObjectId]] | None = None) -> str:
    """``chain_for_path`` for a unit whose path (or own office) is not committed yet."""
    return chain_for_path(path, [extra_office] if extra_office else [])


def _parent(actor: Actor, parent_id) -> Unit | None:
    if parent_id in (None, ""):
        return None
    try:
        return queries.get_unit(actor, parent_id)
    except UnitNotFoundError:
        raise UnitFieldRuleError(field="parent_id", rule="unknown-unit", unit=str(parent_id)) from None


def _set_position(unit: Unit, position) -> None:
    if position is None:
        unit.location, unit.location_input = None, {}
        return
    pos = geo.position(position.get("lon"), position.get("lat"), position.get("crs"))
    unit.location, unit.location_input = pos.geojson, pos.input


def _set_jurisdiction(actor: Actor, unit: Unit, root_ids) -> None:
    wanted = list(dict.fromkeys(queries.oid(r) for r in root_ids or ()))
    rules.check_jurisdiction_roots(wanted, queries.units_by_ids(actor, [w for w in wanted if w]))
    unit.jurisdiction_roots = wanted


def _enum(field: str, enum, value):
    if value in (None, ""):
        return None
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        raise UnitFieldRuleError(field=field, rule="unknown-value", value=str(value)) from None


def create_unit(actor: Actor, *, code, name, kind, name_en=None, level=None, parent_id=None, address=None,
                position: dict | None = None, radius_m=None, jurisdiction_root_ids=()) -> Unit:
    """Admin or system. Raises UnitCodeFormatError, UnitCodeTakenError, UnitParentRuleError,
    UnitFieldRuleError, CoordinateOutOfRangeError, CoordinateSystemUnknownError."""
    actor.require(Permission.UNIT_MANAGE)
    kind = _enum("kind", UnitKind, kind)
    if kind is None:
        raise UnitFieldRuleError(field="kind", rule="required")
    code = rules.normalise_code(code)
    rules.check_code(kind, code)
    parent = _parent(actor, parent_id)
    unit = Unit(pk=new_id(), code=code, kind=kind, level=_enum("level", RegionLevel, level),
                name=rules.check_text("name", name, required=True),
                name_en=rules.check_text("name_en", name_en),
                address=rules.check_text("address", address, max_length=300),
                radius_m=radius_m, parent=parent.pk if parent else None,
                ancestors=parent.path_ids if parent else [])
    if position is not None:
        _set_position(unit, position)
    if kind is UnitKind.OFFICE or jurisdiction_root_ids:
        _set_jurisdiction(actor, unit, jurisdiction_root_ids)
    rules.check_kind_fields(unit)
    rules.check_parent(kind, unit.level, parent)
    extra_office = None
    if kind is UnitKind.OFFICE:
        # The office's own chain head must exist before any transaction appends to it.
        ensure_chain(str(unit.pk))
        extra_office = (unit.pk, list(unit.jurisdiction_roots))
    chain = _owner_chain(unit.path_ids, extra_office)

    def write(tx):
        tx.insert(unit)
        tx.audit(actor, "unit.create", target_type="unit", target_id=unit.pk, target_unit=unit.pk,
                 chain=chain, after=summary(unit))
        if kind is UnitKind.SITE and unit.parent:
            tx.enqueue(RECOUNT_JOB, str(unit.parent))
        return unit

    try:
        return storage.atomic(write)
    except DuplicateKeyError:
        raise UnitCodeTakenError(code=code) from None


def update_unit(actor: Actor, unit_id, *, name=UNSET, name_en=UNSET, active=UNSET, address=UNSET,
                position=UNSET, radius_m=UNSET, level=UNSET, jurisdiction_root_ids=UNSET,
                validation_thresholds=UNSET) -> Unit:
    """Admin or system. Only the given fields change; nothing is written when nothing differs.
    ``validation_thresholds`` (offices only) overrides the photo validation defaults for the office's
    tasks; ``{}`` returns to the defaults.
    Deactivate (``active=False``) instead of deleting a unit with history.
    Raises UnitNotFoundError, UnitFieldRuleError, UnitParentRuleError, Coordinate*Error."""

    def write(tx):
        unit = queries.get_unit_in_tx(tx, actor, unit_id)
        actor.require(Permission.UNIT_MANAGE)
        before = summary(unit)
        was_active = unit.active
        if name is not UNSET:
            unit.name = rules.check_text("name", name, required=True)
        if name_en is not UNSET:
            unit.name_en = rules.check_text("name_en", name_en)
        if address is not UNSET:
            unit.address = rules.check_text("address", address, max_length=300)
        if active is not UNSET and active is not None:
            unit.active = bool(active)
        if position is not UNSET:
            _set_position(unit, position)
        if radius_m is not UNSET:
            unit.radius_m = radius_m
        if level is not UNSET:
            unit.level = _enum("level", RegionLevel, level)
        if jurisdiction_root_ids is not UNSET:
            _set_jurisdiction(actor, unit, jurisdiction_root_ids)
        if validation_thresholds is not UNSET:
            unit.validation_thresholds = _thresholds(unit, validation_thresholds)
        rules.check_kind_fields(unit)
        after = summary(unit)
        if after == before:
            return unit
        if unit.kind is UnitKind.REGION and after.get("level") != before.get("level"):
            rules.check_parent(unit.kind, unit.level, queries.units_by_ids(actor, [unit.parent])[0]
                               if unit.parent else None)
            rules.check_level_above_children(unit.level, queries.child_region_levels(unit.pk))
        tx.save(unit)
        tx.audit(actor, "unit.update", target_type="unit", target_id=unit.pk, target_unit=unit.pk,
                 chain=chain_for_unit(unit.pk), before=before, after=after)
        if unit.kind is UnitKind.SITE and unit.active != was_active and unit.parent:
            tx.enqueue(RECOUNT_JOB, str(unit.parent))
        return unit

    return storage.atomic(write)


def move_unit(actor: Actor, unit_id, new_parent_id) -> Unit:
    """Admin or system. Moves the unit with its whole subtree: every descendant's path is rewritten
    in the same transaction, and the move is kept in the unit's ``moves``. ``None`` moves to the root.
    The stored scope of the tasks, reports and photos below it follows through the outbox (SCOPE_JOB).
    Raises UnitNotFoundError, UnitMoveIntoOwnSubtreeError, UnitParentRuleError, UnitFieldRuleError."""
    has_sites = queries.subtree_has_sites(unit_id)

    def write(tx):
        unit = queries.get_unit_in_tx(tx, actor, unit_id)
        actor.require(Permission.UNIT_MANAGE)
        parent = None
        if new_parent_id not in (None, ""):
            try:
                parent = queries.get_unit_in_tx(tx, actor, new_parent_id)
            except UnitNotFoundError:
                raise UnitFieldRuleError(field="parent_id", rule="unknown-unit", unit=str(new_parent_id)) from None
            if parent.pk == unit.pk or unit.pk in parent.ancestors:
                raise UnitMoveIntoOwnSubtreeError(id=str(unit.pk), parent_id=str(parent.pk))
        new_parent = parent.pk if parent else None
        if new_parent == unit.parent:
            return unit
        rules.check_parent(unit.kind, unit.level, parent)
        old_parent, old_chain = unit.parent, chain_for_unit(unit.pk)
        before = summary(unit)
        new_path = parent.path_ids if parent else []
        unit.parent, unit.ancestors = new_parent, new_path
        unit.moves.append({"at": clock.now(), "from_parent": old_parent, "to_parent": new_parent,
                           "by": str(actor.id) if actor.id else actor.username})
        tx.save(unit)
        now = clock.now()
        updates = []
        for d in queries.descendants_in_tx(tx, unit.pk):
            tail = d["ancestors"][d["ancestors"].index(unit.pk):]
            updates.append(UpdateOne({"_id": d["_id"]}, {"$set": {"ancestors": [*new_path, *tail], "updated_at": now},
                                                        "$inc": {"rev": 1}}))
        if updates:
            tx.collection(Unit).bulk_write(updates, ordered=False, session=tx.session)
        after = {**summary(unit), "descendants_moved": len(updates)}
        new_chain = _owner_chain(unit.path_ids)
        for chain in dict.fromkeys((new_chain, old_chain)):
            tx.audit(actor, "unit.move", target_type="unit", target_id=unit.pk, target_unit=unit.pk,
                     chain=chain, before=before, after=after)
        if has_sites:
            tx.enqueue(RECOUNT_JOB, *[str(p) for p in (old_parent, new_parent) if p])
        # Tasks, reports and photos below the unit carry the old path until this job has run (docs/scope.md).
        tx.enqueue(SCOPE_JOB, str(unit.pk))
        return unit

    return storage.atomic(write)


def delete_unit(actor: Actor, unit_id) -> None:
    """Admin or system. Only a unit with no children and no history may go (a mistaken entry);
    anything else is deactivated instead. Raises UnitNotFoundError, UnitHasChildrenError,
    UnitHasHistoryError."""
    unit = queries.get_unit(actor, unit_id)
    actor.require(Permission.UNIT_MANAGE)
    children = queries.child_count(unit.pk)
    if children:
        raise UnitHasChildrenError(id=str(unit.pk), children=children)
    reason = history_reason(unit.pk)
    if reason:
        raise UnitHasHistoryError(id=str(unit.pk), reason=reason)
    chain = chain_for_unit(unit.pk)

    def write(tx):
        tx.delete(unit)
        tx.audit(actor, "unit.delete", target_type="unit", target_id=unit.pk, target_unit=unit.pk,
                 chain=chain, before=summary(unit))
        if unit.kind is UnitKind.SITE and unit.active and unit.parent:
            tx.enqueue(RECOUNT_JOB, str(unit.parent))

    storage.atomic(write)


def recount_sites(actor: Actor, unit_ids) -> dict:
    """System (the recount job). Sets ``site_count`` (active sites below) of the given units and all
    their ancestors; idempotent, writes only counts that differ. Not audited: a derived figure."""
    actor.require(Permission.JOB_RUN)
    ids = queries.path_with_ancestors(unit_ids)
    counts = {uid: queries.active_site_count(uid) for uid in ids}

    def write(tx):
        changed = 0
        for uid, n in counts.items():
            res = tx.collection(Unit).update_one(
                {"_id": uid, "site_count": {"$ne": n}},
                {"$set": {"site_count": n, "updated_at": clock.now()}, "$inc": {"rev": 1}}, session=tx.session)
            changed += res.modified_count
        return changed

    changed = storage.atomic(write) if counts else 0
    return {"checked": len(counts), "changed": changed}
