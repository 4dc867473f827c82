"""Reading the audit log. Writing is ``storage.Tx.audit``; integrity tooling is in ``heads.py``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..access import Actor, Permission
from ..errors import AuditChainFilterForbiddenError, AuditEventNotFoundError
from ..pagination import page_newest_first
from . import queries
from .chain import AuditEvent

# Summary fields a reader sees only with the permission that shows them on the target itself.
GUARDED_FIELDS: dict[str, dict[str, Permission]] = {
    "task": {"inspectors": Permission.TASK_READ_INSPECTORS},
}


@dataclass
class EventView:
    """An event as one reader may see it. ``integrity``: the chain position and hashes, for admins
    only: a supervisor seeing seq 7 and 9 of a chain would learn that event 8 is hidden from it."""
    event: AuditEvent
    integrity: bool
    before: dict
    after: dict


def _view(actor: Actor, event: AuditEvent) -> EventView:
    hidden = {f for f, perm in GUARDED_FIELDS.get(event.target_type, {}).items() if not actor.can(perm)}

    def shown(summary) -> dict:
        return {k: v for k, v in (summary or {}).items() if k not in hidden}
    return EventView(event, actor.is_global, shown(event.before), shown(event.after))


@dataclass
class EventPage:
    items: list[EventView]
    next_cursor: str | None


def list_events(actor: Actor, *, cursor: str | None, limit: int, action: str | None = None,
                target_type: str | None = None, target_id: str | None = None, actor_id: str | None = None,
                chain: str | None = None, since: datetime | None = None, until: datetime | None = None) -> EventPage:
    """Admins (every event) and supervisors (events whose target they may see: its unit in their
    jurisdiction and, for a task, report, photo or upload, their own office's; docs/audit.md).

    Newest first. Filtering by chain is for admins: a chain is an office's whole history,
    beyond any one jurisdiction. Raises Forbidden (no audit permission),
    AuditChainFilterForbiddenError, InvalidCursorError.
    """
    actor.require(Permission.AUDIT_READ)
    if chain is not None and not actor.is_global:
        raise AuditChainFilterForbiddenError()
    qs = queries.events(actor, action=action, target_type=target_type, target_id=target_id, actor_id=actor_id,
                        chain=chain, since=since, until=until)
    found = page_newest_first(qs, cursor, limit)
    return EventPage([_view(actor, e) for e in found.items], found.next_cursor)


def get_event(actor: Actor, event_id: str) -> EventView:
    """Admins and supervisors, like ``list_events``. Raises Forbidden, AuditEventNotFoundError
    (also for an event outside the actor's jurisdiction)."""
    actor.require(Permission.AUDIT_READ)
    found = queries.event(actor, event_id)
    if found is None:
        raise AuditEventNotFoundError(id=str(event_id))
    return _view(actor, found)
