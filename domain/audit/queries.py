"""Every QuerySet over audit events, scoped by the actor's jurisdiction in the query itself."""
from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId
from bson.errors import InvalidId

from .. import jurisdiction
from ..access import Actor
from .chain import AuditEvent


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


# Targets owned by the office that planned them: only that office's supervisors (and admins) see them,
# exactly as tasks and reports are scoped, even when the target's unit lies in a wider jurisdiction
# (a city office over a district office's undercover task). An office-owned event sits on its
# owner's chain (docs/audit.md), so the chain names the owner. Custody events are "evidence" events;
# an upload's event takes its report's office.
OFFICE_OWNED = ("task", "report", "evidence", "upload")


def visible_events(actor: Actor):
    """Admin and system see every event; others the events they may see the target of: its unit in
    their jurisdiction, and for an office-owned target their own office's (an event with no target
    unit is theirs to see only if they are global)."""
    unit_ids = jurisdiction.jurisdiction_unit_ids(actor)
    if unit_ids is None:
        return AuditEvent.objects
    owned = {"target_type": {"$nin": list(OFFICE_OWNED)}}
    if actor.office_id:
        owned = {"$or": [owned, {"chain": str(actor.office_id)}]}
    return AuditEvent.objects(target_unit__in=[str(u) for u in unit_ids]).filter(__raw__=owned)


def events(actor: Actor, *, action: str | None = None, target_type: str | None = None,
           target_id: str | None = None, actor_id: str | None = None, chain: str | None = None,
           since: datetime | None = None, until: datetime | None = None):
    """The actor's events matching every given filter; ``since`` inclusive, ``until`` exclusive."""
    qs = visible_events(actor)
    exact = {"action": action, "target_type": target_type, "target_id": target_id, "actor_id": actor_id,
             "chain": chain}
    qs = qs.filter(**{k: v for k, v in exact.items() if v is not None})
    if since is not None:
        qs = qs.filter(at__gte=_utc(since))
    if until is not None:
        qs = qs.filter(at__lt=_utc(until))
    return qs


def event(actor: Actor, event_id: str) -> AuditEvent | None:
    """One event, or None when it does not exist or lies outside the actor's jurisdiction."""
    try:
        oid = ObjectId(str(event_id))
    except (InvalidId, TypeError):
        return None
    return visible_events(actor).filter(id=oid).first()
