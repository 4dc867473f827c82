"""Scope stored on the documents (辖区路径): ``scope_units`` and ``leader_visible`` of tasks, reports and
evidence, how they are computed, and the jobs that keep them true after a unit moves (docs/scope.md).

A scoped list is then one indexed ``$match`` (``{"scope_units": {"$in": roots}}``), never a list of
every visible unit or of every submitted undercover task built in Python.
"""
from __future__ import annotations

from pymongo import UpdateMany, UpdateOne

from . import clock, storage
from .access import Actor, Permission
from .filters import oid

SCOPE_JOB = "workers.units.refresh_scope"
BATCH = 200  # tasks per transaction: with their reports and evidence, well inside a transaction's limits
_SUBMITTED_OR_LATER = ("submitted", "reviewed", "closed")


def scope_of(units: list[dict]) -> list:
    """The union of each unit's ancestors and the unit itself (target first, then the site), in order,
    without repeats. ``units``: raw unit documents with ``_id`` and ``ancestors``."""
    out: list = []
    for unit in units:
        for uid in [*(unit.get("ancestors") or []), unit["_id"]]:
            if uid not in out:
                out.append(uid)
    return out


def _units(ids, session=None) -> dict:
    from .units.models import Unit

    keys = [k for k in (oid(i) for i in ids) if k is not None]
    cursor = Unit._get_collection().find({"_id": {"$in": keys}}, {"ancestors": 1}, session=session)
    return {d["_id"]: d for d in cursor}


def task_scope(target_id, site_id, session=None) -> list:
    """``scope_units`` of a task on ``target_id`` at ``site_id``, from the unit tree as the session sees it."""
    found = _units([target_id, site_id], session)
    return scope_of([found[k] for k in (oid(target_id), oid(site_id)) if k in found])


def leader_visible(mode, status) -> bool:
    """A leader sees an open task's records at once, an undercover one's only once the task is submitted."""
    return str(mode) == "open" or str(status) in _SUBMITTED_OR_LATER


def release_to_leader(tx: storage.Tx, task_id) -> None:
    """In the transition that submits an undercover task: its reports and photos become visible to leaders.
    The revision moves too, so a writer holding an older read (a verdict job) cannot put the flag back."""
    from .reports import Evidence, Report

    now = clock.now()
    for doc_cls in (Report, Evidence):
        tx.collection(doc_cls).update_many({"task": oid(task_id), "leader_visible": {"$ne": True}},
                                           {"$set": {"leader_visible": True, "updated_at": now}, "$inc": {"rev": 1}},
                                           session=tx.session)


def _refresh_batch(tx: storage.Tx, tasks: list[dict]) -> dict:
    """Recompute, inside one transaction, ``scope_units`` of the given tasks from the unit tree and copy
    them (with ``leader_visible``) to the tasks' reports and evidence. Writes only what differs."""
    from .reports import Evidence, Report
    from .tasks.models import Task

    units = _units([u for t in tasks for u in (t["target_unit"], t["site"]["site"])], tx.session)
    now = clock.now()
    task_ops, child_ops = [], []
    for t in tasks:
        scope = scope_of([units[k] for k in (t["target_unit"], t["site"]["site"]) if k in units])
        if t.get("scope_units") != scope:
            task_ops.append(UpdateOne({"_id": t["_id"]}, {"$set": {"scope_units": scope, "updated_at": now},
                                                          "$inc": {"rev": 1}}))
        visible = leader_visible(t["mode"], t["status"])
        stale = {"task": t["_id"], "$or": [{"scope_units": {"$ne": scope}}, {"leader_visible": {"$ne": visible}}]}
        child_ops.append(UpdateMany(stale, {"$set": {"scope_units": scope, "leader_visible": visible,
                                                     "updated_at": now}, "$inc": {"rev": 1}}))
    counts = {"tasks": len(task_ops), "reports": 0, "evidence": 0}
    if task_ops:
        tx.collection(Task).bulk_write(task_ops, ordered=False, session=tx.session)
    for key, doc_cls in (("reports", Report), ("evidence", Evidence)):
        counts[key] = tx.collection(doc_cls).bulk_write(child_ops, ordered=False, session=tx.session).modified_count
    return counts


def _refresh(selector: dict, batch: int) -> dict:
    """Walk the tasks matching ``selector`` in ``_id`` order, ``batch`` per transaction. Each batch re-reads
    its tasks and the tree in its own snapshot, so a rerun, or two runs at once, converge (a run that
    overlaps another's write to the same task conflicts and retries on a fresh snapshot)."""
    from .tasks.models import Task

    total = {"checked": 0, "tasks": 0, "reports": 0, "evidence": 0}
    last = None
    projection = {"target_unit": 1, "site.site": 1, "mode": 1, "status": 1, "scope_units": 1}
    while True:
        flt = {**selector, **({"_id": {"$gt": last}} if last is not None else {})}

        def work(tx: storage.Tx) -> tuple[int, object, dict]:
            tasks = list(tx.collection(Task).find(flt, projection, session=tx.session).sort("_id", 1).limit(batch))
            return len(tasks), (tasks[-1]["_id"] if tasks else None), (_refresh_batch(tx, tasks) if tasks else {})

        n, last_id, counts = storage.atomic(work)
        total["checked"] += n
        for key, value in counts.items():
            total[key] += value
        if n < batch:
            return total
        last = last_id


def refresh_scope_below(actor: Actor, unit_id, *, batch: int = BATCH) -> dict:
    """System (the job a unit move queues). Recomputes the stored scope of every task whose target or site
    is the moved unit or below it (their ``scope_units`` hold its id, whatever path it has now), with their
    reports and evidence. Idempotent; returns counts of what it checked and changed."""
    actor.require(Permission.JOB_RUN)
    key = oid(unit_id)
    if key is None:
        return {"checked": 0, "tasks": 0, "reports": 0, "evidence": 0}
    return _refresh({"scope_units": key}, batch)


def backfill_scope_units() -> dict:
    """Migration ``scope-units``: every task, report and evidence record gets its stored scope and leader
    flag (development data written before they existed). A second run changes nothing."""
    return _refresh({}, BATCH)
