"""Every read of tasks, scoped to the actor IN the query (out of scope is 404, never 403).

Who sees what (docs/tasks.md, "Who sees which task"):
- admin (and the system): every task;
- supervisor: its office's tasks whose target unit or site is in its jurisdiction;
- leader: tasks whose target unit or site is in its jurisdiction, an undercover one only once submitted;
- inspector: the tasks it is assigned to now, with its co-assignees (they visit together);
- liaison: open tasks whose target unit, or whose site, is its unit or below it; never an undercover
  task, before or after, and never the inspectors (the department view names the office instead).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bson import ObjectId

from ..filters import all_of, NOTHING, oid
from ..access import Actor, Permission, Role
from ..errors import TaskFilterNotAllowedError, TaskNotFoundError
from ..jurisdiction import scoped_to_roots
from ..pagination import page
from ..units.models import Unit
from .models import SUBMITTED_OR_LATER, Task, TaskMode, TaskStatus



class Audience(StrEnum):
    STAFF = "staff"  # sees the inspectors
    DEPARTMENT = "department"  # a liaison: the office's name instead, never the inspectors


@dataclass
class TaskView:
    task: Task
    audience: Audience


@dataclass
class TaskPage:
    items: list[Task]
    next_cursor: str | None
    audience: Audience




def audience(actor: Actor) -> Audience:
    return Audience.STAFF if actor.can(Permission.TASK_READ_INSPECTORS) else Audience.DEPARTMENT


def _scope(actor: Actor) -> dict:
    """The raw filter of the tasks ``actor`` may read: one match on the stored ``scope_units``
    (domain/scope.py), never a list of units or tasks built here."""
    if not actor.can(Permission.TASK_READ):
        return NOTHING
    if actor.is_global:
        return {}
    if actor.role == Role.SUPERVISOR:
        if not actor.office_id:
            return NOTHING
        return all_of({"office": oid(actor.office_id)}, scoped_to_roots(actor))
    if actor.role == Role.LEADER:
        return all_of(scoped_to_roots(actor), {"$or": [{"mode": TaskMode.OPEN.value},
                                                       {"status": {"$in": [s.value for s in SUBMITTED_OR_LATER]}}]})
    if actor.role == Role.INSPECTOR:
        return {"inspectors": oid(actor.id)} if oid(actor.id) else NOTHING
    if actor.role == Role.LIAISON and oid(actor.home_unit):
        # Its unit on the path of the target or of the site: the unit itself or a unit below it.
        return {"mode": TaskMode.OPEN.value, "scope_units": oid(actor.home_unit)}
    return NOTHING


def get_task(actor: Actor, task_id) -> Task:
    """One task the actor may read; anything else (out of scope, undercover for a liaison, no such id)
    is the same TaskNotFoundError."""
    key = oid(task_id)
    task = Task.objects(__raw__=all_of(_scope(actor), {"_id": key})).first() if key else None
    if task is None:
        raise TaskNotFoundError(id=str(task_id))
    return task


def view_task(actor: Actor, task_id) -> TaskView:
    return TaskView(get_task(actor, task_id), audience(actor))


def task_in_tx(tx, task_id) -> Task:
    """The task as this transaction's snapshot sees it (scope was checked before by ``get_task``)."""
    raw = Task._get_collection().find_one({"_id": oid(task_id)}, session=tx.session)
    if raw is None:
        raise TaskNotFoundError(id=str(task_id))
    return Task._from_son(raw)


def _filters(actor: Actor, *, status=None, mode=None, target_unit=None, site=None, window_from: datetime | None = None,
             window_to: datetime | None = None, inspector=None) -> dict:
    clauses = [_scope(actor)]
    if status:
        clauses.append({"status": str(status)})
    if mode:
        clauses.append({"mode": str(mode)})
    if target_unit:
        clauses.append({"target_unit": oid(target_unit)} if oid(target_unit) else NOTHING)
    if site:
        clauses.append({"site.site": oid(site)} if oid(site) else NOTHING)
    if window_from is not None:  # overlap: the window ends after `from` and starts before `to`
        clauses.append({"ends_at": {"$gt": window_from}})
    if window_to is not None:
        clauses.append({"starts_at": {"$lt": window_to}})
    if inspector:
        if audience(actor) is not Audience.STAFF:
            # Refused whatever the data, so the answer tells a liaison nothing about who inspects.
            raise TaskFilterNotAllowedError(filter="inspector")
        clauses.append({"inspectors": oid(inspector)} if oid(inspector) else NOTHING)
    return all_of(*clauses)


def list_tasks(actor: Actor, *, cursor=None, limit: int = 50, **filters) -> TaskPage:
    """One page of the tasks in the actor's scope, oldest planned first (stable under new plans)."""
    result = page(Task.objects(__raw__=_filters(actor, **filters)), cursor, limit)
    return TaskPage(result.items, result.next_cursor, audience(actor))


def count_tasks(actor: Actor, **filters) -> int:
    """How many tasks ``list_tasks`` would walk through, scoped the same way."""
    return Task._get_collection().count_documents(_filters(actor, **filters))


# The phone's sync (sync.py): an inspector's own tasks, never scoped wider than its assignments.
def sync_active(inspector_id, now: datetime, days: int) -> list[Task]:
    """The inspector's active set: planned, in progress, or submitted within ``days``."""
    me = oid(inspector_id)
    flt = {"inspectors": me, "$or": [
        {"status": {"$in": [TaskStatus.PLANNED.value, TaskStatus.IN_PROGRESS.value]}},
        {"status": {"$in": [s.value for s in SUBMITTED_OR_LATER]}, "submitted_at": {"$gt": now - timedelta(days=days)}},
    ]}
    return list(Task.objects(__raw__=flt).order_by("created_at", "id"))


def sync_changed(inspector_id, after_seq: int, expired_from: datetime, expired_to: datetime) -> list[Task]:
    """Tasks of the inspector (assigned now or before) written after ``after_seq``, or whose submission
    aged out of the active set between ``expired_from`` and ``expired_to``; in commit order."""
    me = oid(inspector_id)
    flt = {"$and": [
        {"$or": [{"inspectors": me}, {"former_inspectors": me}]},
        {"$or": [{"sync_seq": {"$gt": after_seq}},
                 {"submitted_at": {"$gt": expired_from, "$lte": expired_to}}]},
    ]}
    return list(Task.objects(__raw__=flt).order_by("sync_seq", "id"))


def units_raw(ids) -> dict[ObjectId, dict]:
    """Units by id, unscoped (an inspector's home unit may lie outside the planner's jurisdiction):
    only for the conflict-of-interest check, never returned to a caller."""
    keys = [k for k in (oid(i) for i in ids) if k is not None]
    cursor = Unit._get_collection().find({"_id": {"$in": keys}}, {"parent": 1, "ancestors": 1, "name": 1})
    return {d["_id"]: d for d in cursor}


def references_unit(unit_id: ObjectId) -> str | None:
    """For the unit tree's delete check: a unit a task targets or visits has history."""
    flt = {"$or": [{"target_unit": unit_id}, {"site.site": unit_id}, {"office": unit_id}]}
    return "tasks" if Task._get_collection().count_documents(flt, limit=1) else None
