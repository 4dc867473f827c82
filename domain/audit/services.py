"""Reading the audit log. Writing is ``storage.Tx.audit``; integrity tooling is in ``heads.py``."""
from __future__ import annotations

from datetime import datetime

from ..access import Actor, Permission
from ..errors import AuditChainFilterForbiddenError, AuditEventNotFoundError
from ..pagination import Page, page_newest_first
from . import queries
from .chain import AuditEvent


def list_events(actor: Actor, *, cursor: str | None, limit: int, action: str | None = None,
                target_type: str | None = None, target_id: str | None = None, actor_id: str | None = None,
                chain: str | None = None, since: datetime | None = None, until: datetime | None = None) -> Page:
    """Admins (every event) and supervisors (events whose target unit is in their jurisdiction).

    Newest first. Filtering by chain is for admins: a chain is an office's whole history,
    beyond any one jurisdiction. Raises Forbidden (no audit permission),
    AuditChainFilterForbiddenError, InvalidCursorError.
    """
    actor.require(Permission.AUDIT_READ)
    if chain is not None and not actor.is_global:
        raise AuditChainFilterForbiddenError()
    qs = queries.events(actor, action=action, target_type=target_type, target_id=target_id, actor_id=actor_id,
                        chain=chain, since=since, until=until)
    return page_newest_first(qs, cursor, limit)


def get_event(actor: Actor, event_id: str) -> AuditEvent:
    """Admins and supervisors, like ``list_events``. Raises Forbidden, AuditEventNotFoundError
    (also for an event outside the actor's jurisdiction)."""
    actor.require(Permission.AUDIT_READ)
    found = queries.event(actor, event_id)
    if found is None:
        raise AuditEventNotFoundError(id=str(event_id))
    return found
