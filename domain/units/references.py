"""What keeps a unit from being deleted: its own history, and the references other features register.

A feature that points at units (tasks, notices...) registers a check here instead of
editing the units code: ``register_reference_check(fn)`` where ``fn(unit_id)`` returns a
short reason (e.g. ``"tasks"``) when the unit is referenced, else ``None``.
"""
from __future__ import annotations

from typing import Callable

from bson import ObjectId

ReferenceCheck = Callable[[ObjectId], "str | None"]
_checks: list[ReferenceCheck] = []


def register_reference_check(fn: ReferenceCheck) -> ReferenceCheck:
    """Add a check (usable as a decorator); registering the same function twice is harmless."""
    if fn not in _checks:
        _checks.append(fn)
    return fn


def _moves(unit_id: ObjectId) -> str | None:
    from .models import Unit

    return "moves" if Unit._get_collection().count_documents({"_id": unit_id, "moves.0": {"$exists": True}}) else None


def _accounts(unit_id: ObjectId) -> str | None:
    from ..accounts.models import Account

    flt = {"$or": [{"home_unit": unit_id}, {"office": unit_id}, {"pool_offices": unit_id}]}
    return "accounts" if Account._get_collection().count_documents(flt, limit=1) else None


def _audit_events(unit_id: ObjectId) -> str | None:
    """Anything audited about the unit other than its own creation."""
    from ..audit.chain import AuditEvent

    sid = str(unit_id)
    flt = {"$or": [{"target_unit": sid}, {"target_type": "unit", "target_id": sid}], "action": {"$ne": "unit.create"}}
    return "audit-events" if AuditEvent._get_collection().count_documents(flt, limit=1) else None


def _jurisdiction_roots(unit_id: ObjectId) -> str | None:
    from .models import Unit, UnitKind

    flt = {"kind": UnitKind.OFFICE.value, "jurisdiction_roots": unit_id}
    return "jurisdiction-root" if Unit._get_collection().count_documents(flt, limit=1) else None


BUILT_IN: tuple[ReferenceCheck, ...] = (_moves, _jurisdiction_roots, _accounts, _audit_events)


def history_reason(unit_id: ObjectId) -> str | None:
    """The first reason the unit has history, or ``None`` when it may be deleted."""
    for check in (*BUILT_IN, *_checks):
        reason = check(unit_id)
        if reason:
            return reason
    return None
