"""The outbox: jobs written in the same transaction as the change that calls for them.

A dispatcher moves pending entries to the task queue. Entries are leased before
sending, so a dispatcher that dies mid-send leaves them to the next sweep, and jobs
are idempotent, so a duplicate dispatch does no harm.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

import mongoengine as me
from pymongo import ReturnDocument

from .ports import QueueName, QueueUnavailable, TaskQueue
from . import clock
from .base import Doc

LEASE = timedelta(seconds=60)
log = logging.getLogger(__name__)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DISPATCHING = "dispatching"
    SENT = "sent"


class OutboxEntry(Doc):
    job = me.StringField(required=True)
    args = me.ListField()
    kwargs = me.DictField()
    queue = me.StringField(default=QueueName.DEFAULT.value)
    status = me.EnumField(OutboxStatus, default=OutboxStatus.PENDING)
    leased_until = me.DateTimeField()
    sent_at = me.DateTimeField()
    attempts = me.IntField(default=0)

    meta = {"collection": "outbox", "indexes": [("status", "created_at"), {"fields": ["sent_at"],
                                                                           "expireAfterSeconds": 30 * 24 * 3600}]}


def _claim(entry_filter: dict):
    now = clock.now()
    query = {"$and": [entry_filter, {"$or": [
        {"status": OutboxStatus.PENDING.value},
        {"status": OutboxStatus.DISPATCHING.value, "leased_until": {"$lt": now}},
    ]}]}
    return OutboxEntry._get_collection().find_one_and_update(
        query,
        {"$set": {"status": OutboxStatus.DISPATCHING.value, "leased_until": now + LEASE}, "$inc": {"attempts": 1}},
        sort=[("created_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


def _release(entry_id) -> None:
    OutboxEntry._get_collection().update_one(
        {"_id": entry_id, "status": OutboxStatus.DISPATCHING.value},
        {"$set": {"status": OutboxStatus.PENDING.value}, "$unset": {"leased_until": ""}})


def dispatch_pending(queue: TaskQueue, *, ids: list | None = None, limit: int = 1000) -> dict:
    """Send up to ``limit`` pending entries (only ``ids`` when given), oldest first.

    Stops at the first queue outage, leaving that entry pending for the next sweep. An entry
    the queue refuses for another reason stays leased, is retried when the lease runs out, and
    does not hold up the others.
    """
    sent = failed = 0
    entry_filter: dict = {"_id": {"$in": list(ids)}} if ids is not None else {}
    while sent + failed < limit:
        raw = _claim(entry_filter)
        if raw is None:
            break
        try:
            queue.enqueue(job_id=f"outbox-{raw['_id']}", job=raw["job"], args=raw.get("args", []),
                          kwargs=raw.get("kwargs", {}), queue=raw.get("queue", QueueName.DEFAULT.value))
        except QueueUnavailable:
            _release(raw["_id"])
            return {"sent": sent, "failed": failed, "queue_down": True}
        except Exception:
            log.exception("outbox entry %s (%s) could not be enqueued; retried after its lease", raw["_id"], raw["job"])
            failed += 1
            continue
        OutboxEntry._get_collection().update_one(
            {"_id": raw["_id"]},
            {"$set": {"status": OutboxStatus.SENT.value, "sent_at": clock.now()}, "$unset": {"leased_until": ""}})
        sent += 1
    return {"sent": sent, "failed": failed, "queue_down": False}


def pending_count() -> int:
    return OutboxEntry.objects(status__ne=OutboxStatus.SENT).count()
