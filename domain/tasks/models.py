"""Inspection tasks (检查任务): the plan of one visit, its assignments, its status history and its sync number."""
from __future__ import annotations

from enum import StrEnum

import mongoengine as me

from ..storage import Doc


class TaskStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class TaskMode(StrEnum):
    OPEN = "open"  # 明查: the unit may know of it
    UNDERCOVER = "undercover"  # 暗访: the unit never learns of the task, its plan or its inspectors


# A leader sees an undercover task only from here on (docs/tasks.md, "Who sees which task").
SUBMITTED_OR_LATER = (TaskStatus.SUBMITTED, TaskStatus.REVIEWED, TaskStatus.CLOSED)


class SiteSnapshot(me.EmbeddedDocument):
    """The site as it was at planning (or at the last update while planned): what the phone checks against,
    so a later edit of the site does not move a geofence under a visit already made."""

    site = me.ObjectIdField(required=True)
    name = me.StringField(required=True)
    address = me.StringField()
    lon = me.FloatField(required=True)  # WGS-84
    lat = me.FloatField(required=True)
    radius_m = me.IntField(required=True)


class Assignment(me.EmbeddedDocument):
    inspector = me.ObjectIdField(required=True)
    name = me.StringField()  # display name at assignment, so the task (and its sync ETag) never changes under it
    assigned_at = me.DateTimeField(required=True)
    acknowledged_at = me.DateTimeField()
    reported_at = me.DateTimeField()  # set by report intake (services.mark_reported)
    reported_late = me.BooleanField(default=False)  # after submission closed: the supervisor sees it here


class Transition(me.EmbeddedDocument):
    at = me.DateTimeField(required=True)
    by = me.StringField()  # account id; None for the system
    by_role = me.StringField(required=True)
    from_status = me.StringField()  # None when the task was planned
    to_status = me.StringField(required=True)
    reason = me.StringField()


class Task(Doc):
    office = me.ObjectIdField(required=True)  # the planning supervision office; its audit chain holds the events
    office_name = me.StringField(required=True)  # what a liaison sees instead of the inspectors
    mode = me.EnumField(TaskMode, required=True)
    title = me.StringField(required=True, max_length=200)
    instructions = me.StringField(max_length=4000)
    form_id = me.StringField(required=True)
    form_version = me.IntField(required=True)
    form_hash = me.StringField(required=True)  # the pinned version's content hash (its ETag on /forms)
    target_unit = me.ObjectIdField(required=True)
    target_name = me.StringField(required=True)
    site = me.EmbeddedDocumentField(SiteSnapshot, required=True)
    # Ancestors of the target and of the site, each with the unit itself (domain/scope.py): every scoped
    # read is one indexed match on it; a unit move refreshes it through the outbox (docs/scope.md).
    scope_units = me.ListField(me.ObjectIdField())
    starts_at = me.DateTimeField(required=True)
    ends_at = me.DateTimeField(required=True)
    assignments = me.EmbeddedDocumentListField(Assignment)
    inspectors = me.ListField(me.ObjectIdField())  # the assigned ids, copied out of assignments for indexed reads
    former_inspectors = me.ListField(me.ObjectIdField())  # un-assigned while planned: their phones get a removal
    status = me.EnumField(TaskStatus, default=TaskStatus.PLANNED)
    submitted_at = me.DateTimeField()  # when it became submitted: the phone keeps it SYNC_SUBMITTED_DAYS after
    cancel_reason = me.StringField(max_length=1000)
    sync_seq = me.IntField(required=True)  # the task_sync counter value of the last write (commit order)
    history = me.EmbeddedDocumentListField(Transition)

    meta = {"collection": "tasks", "indexes": [
        ("office", "_id"),
        ("target_unit", "_id"),
        ("site.site", "_id"),
        ("inspectors", "sync_seq"),
        ("former_inspectors", "sync_seq"),
        ("status", "_id"),
        ("scope_units", "_id"),
    ]}

    def assignment_of(self, inspector_id) -> Assignment | None:
        return next((a for a in self.assignments if str(a.inspector) == str(inspector_id)), None)

    def record(self, *, at, actor, to_status: TaskStatus, reason: str | None = None) -> None:
        """Move to ``to_status`` and keep who, when, from and to. The rules were checked before (rules.py)."""
        self.history.append(Transition(at=at, by=str(actor.id) if actor.id else None, by_role=str(actor.role),
                                       from_status=str(self.status) if self.history else None,
                                       to_status=str(to_status), reason=reason))
        self.status = to_status
        if to_status is TaskStatus.SUBMITTED:
            self.submitted_at = at
