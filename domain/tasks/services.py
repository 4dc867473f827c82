"""Use cases of tasks: plan, update while planned, cancel, acknowledge, close submission, review, close,
and the report mark that intake sets.

Every write commits in one transaction with its audit event (chain: the planning office) and the
next value of the sync counter, which the task keeps as ``sync_seq`` (see sync.py).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .. import scope, storage
from ..access import Actor, Permission
from ..errors import (
    Forbidden,
    PreconditionFailedError,
    TaskNotAssignedError,
    TaskNotFoundError,
    TaskReasonRequiredError,
    TaskTransitionError,
)
from . import planning, queries, rules, sync
from .models import SUBMITTED_OR_LATER, Task, TaskMode, TaskStatus
from .. import clock

UNSET = object()
NO_CHANGE = object()


def task_etag(task: Task) -> str:
    """The staff representation's validator: it changes with every write (the revision)."""
    return '"' + hashlib.sha256(f"{task.pk}:{task.rev}".encode()).hexdigest()[:32] + '"'


def summary(task: Task) -> dict:
    """What an audit event records of a task (before/after)."""
    return {"status": str(task.status), "mode": str(task.mode), "title": task.title,
            "form": f"{task.form_id}@{task.form_version}", "target_unit": str(task.target_unit),
            "site": str(task.site.site), "starts_at": task.starts_at, "ends_at": task.ends_at,
            "inspectors": [str(i) for i in task.inspectors], "sync_seq": task.sync_seq}


def _ms(value: datetime) -> datetime:
    # Mongo keeps milliseconds: what we check is what is stored.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _commit(tx: storage.Tx, actor: Actor, task: Task, action: str, before: dict | None, insert=False) -> Task:
    task.sync_seq = sync.next_seq(tx)
    if (task.mode is TaskMode.UNDERCOVER and task.status in SUBMITTED_OR_LATER
            and (before or {}).get("status") not in [s.value for s in SUBMITTED_OR_LATER]):
        # The leader's "undercover only once submitted", stored on its reports and photos in this transaction.
        scope.release_to_leader(tx, task.pk)
    (tx.insert if insert else tx.save)(task)
    tx.audit(actor, action, target_type="task", target_id=task.pk, chain=str(task.office),
             target_unit=task.target_unit, before=before, after=summary(task))
    return task


def plan_task(actor: Actor, *, mode, title: str, form_id: str, target_unit_id, site_id, inspector_ids,
              starts_at: datetime, ends_at: datetime, form_version: int | None = None,
              instructions: str | None = None) -> Task:
    """Plan a task for the actor's office.

    Who: a supervisor (Permission.TASK_PLAN); target and site in its jurisdiction; inspectors from
    its office's pool. Raises Forbidden, UnitNotFoundError (target or site outside the jurisdiction),
    TaskUnitRuleError, FormVersionNotFoundError, TaskFormModeMismatchError, TaskWindowInvalidError,
    TaskInspectorNotInPoolError, TaskConflictOfInterestError.
    """
    office = planning.office_of(actor)
    now = clock.now()
    mode = TaskMode(mode)
    starts_at, ends_at = _ms(starts_at), _ms(ends_at)
    rules.check_window(starts_at, ends_at, now)
    target = planning.target_unit(actor, target_unit_id)
    site = planning.site_unit(actor, site_id)
    form = planning.form_version(actor, form_id, form_version, mode)
    assigned = planning.assignments(actor, office, inspector_ids, [target, site], now)
    task = Task(office=office.id, office_name=office.name, mode=mode, title=title, instructions=instructions,
                form_id=form.form_id, form_version=form.version, form_hash=form.content_hash,
                target_unit=target.pk, target_name=target.name, site=planning.site_snapshot(site),
                starts_at=starts_at, ends_at=ends_at, assignments=assigned,
                inspectors=[a.inspector for a in assigned], sync_seq=0)
    task.record(at=now, actor=actor, to_status=TaskStatus.PLANNED)

    def work(tx: storage.Tx) -> Task:
        # From the tree in this transaction's snapshot (a unit move's refresh job re-reads it: docs/scope.md).
        task.scope_units = scope.task_scope(target.pk, site.pk, tx.session)
        return _commit(tx, actor, task, "task.plan", None, insert=True)
    return storage.atomic(work)


def update_task(actor: Actor, task_id, *, if_match: list[str] | None = None, title=UNSET, instructions=UNSET,
                starts_at=UNSET, ends_at=UNSET, site_id=UNSET, inspector_ids=UNSET, form_version=UNSET) -> Task:
    """Change a task while it is still planned; only the fields given change. ``if_match``: ETags of
    which the task's current one must be one ("*" for any).

    Who: a supervisor of the planning office (Permission.TASK_PLAN). Raises TaskNotFoundError,
    TaskNotEditableError, PreconditionFailedError and the planning errors of ``plan_task``.
    """
    office = planning.office_of(actor)
    current = queries.get_task(actor, task_id)
    now = clock.now()
    site = planning.site_unit(actor, site_id) if site_id is not UNSET else None
    target = planning.target_unit(actor, current.target_unit) if site or inspector_ids is not UNSET else None
    form = (planning.form_version(actor, current.form_id, form_version, current.mode)
            if form_version is not UNSET else None)

    def work(tx: storage.Tx) -> Task:
        task = queries.task_in_tx(tx, current.pk)
        if if_match and "*" not in if_match and task_etag(task).strip('"') not in [m.strip('"') for m in if_match]:
            raise PreconditionFailedError(id=str(task.pk))
        rules.require_editable(task.status)
        before = summary(task)
        for name, value in (("title", title), ("instructions", instructions)):
            if value is not UNSET:
                setattr(task, name, value)
        if starts_at is not UNSET or ends_at is not UNSET:
            new_start = _ms(starts_at) if starts_at is not UNSET else task.starts_at
            new_end = _ms(ends_at) if ends_at is not UNSET else task.ends_at
            rules.check_window(new_start, new_end, now)
            task.starts_at, task.ends_at = new_start, new_end
        if site is not None:
            task.site = planning.site_snapshot(site)
            task.scope_units = scope.task_scope(task.target_unit, site.pk, tx.session)
        if form is not None:
            task.form_version, task.form_hash = form.version, form.content_hash
        if site is not None or inspector_ids is not UNSET:
            wanted = inspector_ids if inspector_ids is not UNSET else [str(i) for i in task.inspectors]
            place = site or planning.site_unit(actor, task.site.site)
            kept = {str(a.inspector): a for a in task.assignments}
            assigned = planning.assignments(actor, office, wanted, [target, place], now, keep=kept)
            new_ids = [a.inspector for a in assigned]
            dropped = [i for i in task.inspectors if i not in new_ids]
            task.former_inspectors = [i for i in [*task.former_inspectors, *dropped] if i not in new_ids]
            task.assignments, task.inspectors = assigned, new_ids
        return _commit(tx, actor, task, "task.update", before)

    return storage.atomic(work)


def _transition(actor: Actor, task_id, action: str, audit_action: str,
                apply: Callable[[Task, datetime], object] | None = None) -> Task:
    """Move a task by ``action`` (rules.TRANSITIONS) in one transaction; ``apply`` may change more,
    or return NO_CHANGE when the call repeats what is already recorded (then nothing is written)."""
    current = queries.get_task(actor, task_id)

    def work(tx: storage.Tx) -> Task:
        task = queries.task_in_tx(tx, current.pk)
        to = rules.next_status(action, task.status)
        now = clock.now()
        before = summary(task)
        if apply is not None and apply(task, now) is NO_CHANGE:
            return task
        if to is not task.status:
            task.record(at=now, actor=actor, to_status=to, reason=task.cancel_reason if action == "cancel" else None)
        return _commit(tx, actor, task, audit_action, before)

    return storage.atomic(work)


def cancel_task(actor: Actor, task_id, reason: str) -> Task:
    """Cancel a planned or in-progress task, with a reason; assigned phones get a removal marker.

    Who: a supervisor of the planning office (Permission.TASK_PLAN). Raises TaskNotFoundError,
    TaskReasonRequiredError, TaskTransitionError.
    """
    actor.require(Permission.TASK_PLAN)
    reason = (reason or "").strip()
    if not reason:
        raise TaskReasonRequiredError(action="cancel")

    def apply(task: Task, now):
        task.cancel_reason = reason
    return _transition(actor, task_id, "cancel", "task.cancel", apply)


def acknowledge_task(actor: Actor, task_id) -> Task:
    """An assigned inspector acknowledges its task: the first acknowledgement starts it (planned ->
    in progress); later ones are recorded only; repeating one's own changes nothing.

    Who: an assigned inspector (Permission.TASK_ACKNOWLEDGE). Raises TaskNotFoundError (not assigned),
    TaskTransitionError (submitted or later, cancelled).
    """
    actor.require(Permission.TASK_ACKNOWLEDGE)

    def apply(task: Task, now):
        mine = task.assignment_of(actor.id)
        if mine is None:  # un-assigned since the scoped read
            raise TaskNotFoundError(id=str(task.pk))
        if mine.acknowledged_at is not None:
            return NO_CHANGE
        mine.acknowledged_at = now
    return _transition(actor, task_id, "acknowledge", "task.acknowledge", apply)


def close_submission(actor: Actor, task_id) -> Task:
    """Mark an in-progress task submitted even if not every inspector has reported (a late report is
    still kept by intake, flagged late). Who: a supervisor of the planning office (TASK_PLAN).
    Raises TaskNotFoundError, TaskTransitionError."""
    actor.require(Permission.TASK_PLAN)
    return _transition(actor, task_id, "close_submission", "task.close-submission")


def review_task(actor: Actor, task_id) -> Task:
    """Submitted -> reviewed. Who: a supervisor of the planning office (TASK_REVIEW).
    Raises TaskNotFoundError, TaskTransitionError."""
    actor.require(Permission.TASK_REVIEW)
    return _transition(actor, task_id, "review", "task.review")


def close_task(actor: Actor, task_id) -> Task:
    """Reviewed -> closed. Who: a supervisor of the planning office (TASK_REVIEW).
    Raises TaskNotFoundError, TaskTransitionError."""
    actor.require(Permission.TASK_REVIEW)
    return _transition(actor, task_id, "close", "task.close")


@dataclass
class ReportMark:
    task: Task
    late: bool  # reported after the task was submitted (or reviewed, closed): kept, reopens nothing
    changed: bool  # False when this inspector's report was already recorded


def record_report(tx: storage.Tx, actor: Actor, task_id, inspector_id) -> ReportMark:
    """Inside intake's own transaction: mark ``inspector_id`` as reported. The first report of an
    assigned inspector starts a planned task; the last one outstanding submits it.
    The caller has checked scope (``queries.get_task``). Raises TaskNotAssignedError, TaskTransitionError."""
    task = queries.task_in_tx(tx, task_id)
    if task.status is TaskStatus.CANCELLED:
        raise TaskTransitionError(**{"from": str(task.status), "to": str(TaskStatus.SUBMITTED), "action": "report"})
    mine = task.assignment_of(inspector_id)
    if mine is None:
        raise TaskNotAssignedError(inspector=str(inspector_id), task=str(task.pk))
    late = task.status in SUBMITTED_OR_LATER
    if mine.reported_at is not None:
        return ReportMark(task, late, False)
    now = clock.now()
    before = summary(task)
    mine.reported_at, mine.reported_late = now, late
    if task.status is TaskStatus.PLANNED:
        task.record(at=now, actor=actor, to_status=TaskStatus.IN_PROGRESS)
    if task.status is TaskStatus.IN_PROGRESS and all(a.reported_at for a in task.assignments):
        task.record(at=now, actor=actor, to_status=TaskStatus.SUBMITTED)
    _commit(tx, actor, task, "task.mark-reported", before)
    return ReportMark(task, late, True)


def mark_reported(actor: Actor, task_id, inspector_id) -> ReportMark:
    """Record that an assigned inspector has reported (report intake calls ``record_report`` inside its
    own transaction instead). Who: the system, or the inspector for itself (TASK_RECORD_REPORT).
    Raises Forbidden, TaskNotFoundError, TaskNotAssignedError, TaskTransitionError."""
    actor.require(Permission.TASK_RECORD_REPORT)
    if not actor.is_global and str(actor.id) != str(inspector_id):
        raise Forbidden(permission=str(Permission.TASK_RECORD_REPORT))
    task = queries.get_task(actor, task_id)
    return storage.atomic(lambda tx: record_report(tx, actor, task.pk, inspector_id))


def read_task(actor: Actor, task_id) -> queries.TaskView:
    """One task in the view the actor's role gets. Who: Permission.TASK_READ, scoped (queries.py).
    Raises Forbidden, TaskNotFoundError."""
    actor.require(Permission.TASK_READ)
    return queries.view_task(actor, task_id)


def list_tasks(actor: Actor, **kwargs) -> queries.TaskPage:
    """Who: Permission.TASK_READ, scoped. Raises Forbidden, TaskFilterNotAllowedError, InvalidCursorError."""
    actor.require(Permission.TASK_READ)
    return queries.list_tasks(actor, **kwargs)


def count_tasks(actor: Actor, **filters) -> int:
    """Who: Permission.TASK_READ, scoped exactly as ``list_tasks``."""
    actor.require(Permission.TASK_READ)
    return queries.count_tasks(actor, **filters)
