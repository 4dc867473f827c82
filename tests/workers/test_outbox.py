"""The outbox through real Redis and RQ: the adapter, a duplicate dispatch, the sweep job."""
from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker, get_current_job

from domain import storage
from domain.outbox import OutboxEntry, OutboxStatus, dispatch_pending
from domain.ports import QueueUnavailable
from ops.embedded import free_port
from workers.queues import RQTaskQueue, connection


def count_run(key: str) -> int:
    """A job for these tests: counts its runs in Redis."""
    return get_current_job().connection.incr(key)


JOB = f"{__name__}.count_run"


@pytest.fixture(autouse=True)
def no_kick(monkeypatch):
    """Entries wait for an explicit dispatch (the API's kick may be installed in this process)."""
    monkeypatch.setattr(storage, "_post_commit_hooks", [])


def enqueue(job: str, *args) -> OutboxEntry:
    return storage.atomic(lambda tx: tx.enqueue(job, *args))


def work(redis_conn) -> None:
    SimpleWorker(["default", "low"], connection=redis_conn).work(burst=True)


def test_a_duplicate_dispatch_of_one_entry_queues_one_job_under_the_same_id(redis_conn):
    entry = enqueue(JOB, "runs:dup")
    queue = RQTaskQueue(redis_conn)
    assert dispatch_pending(queue)["sent"] == 1
    # A dispatcher that died after the enqueue and before marking the entry sent: it goes out again.
    OutboxEntry.objects(pk=entry.pk).update(status=OutboxStatus.PENDING)
    assert dispatch_pending(queue)["sent"] == 1

    assert Queue("default", connection=redis_conn).job_ids == [f"outbox-{entry.pk}"]
    work(redis_conn)
    assert int(redis_conn.get("runs:dup")) == 1

    # Sent again after the job ran: it runs again, which idempotent jobs allow.
    OutboxEntry.objects(pk=entry.pk).update(status=OutboxStatus.PENDING)
    dispatch_pending(queue)
    work(redis_conn)
    assert int(redis_conn.get("runs:dup")) == 2


def test_with_redis_unreachable_the_adapter_says_so_and_the_entry_stays_pending():
    dead = connection(f"redis://127.0.0.1:{free_port()}/0", fast=True)  # the API's: no retries
    entry = enqueue(JOB, "runs:never")
    with pytest.raises(QueueUnavailable):
        RQTaskQueue(dead).enqueue(job_id="x", job=JOB, args=[], kwargs={}, queue="default")
    assert dispatch_pending(RQTaskQueue(dead))["queue_down"] is True
    assert OutboxEntry.objects.get(pk=entry.pk).status is OutboxStatus.PENDING


def test_the_sweep_job_dispatches_pending_entries_and_the_worker_then_runs_them(redis_conn):
    entries = [enqueue(JOB, "runs:swept") for _ in range(3)]
    Queue("default", connection=redis_conn).enqueue("workers.outbox.dispatch_outbox")
    work(redis_conn)  # runs the sweep, then the three jobs it queued
    assert int(redis_conn.get("runs:swept")) == 3
    assert all(OutboxEntry.objects.get(pk=e.pk).status is OutboxStatus.SENT for e in entries)


def test_entries_go_to_the_queue_they_name(redis_conn):
    entry = storage.atomic(lambda tx: tx.enqueue(JOB, "runs:low", queue="low"))
    dispatch_pending(RQTaskQueue(redis_conn))
    assert Queue("low", connection=redis_conn).job_ids == [f"outbox-{entry.pk}"]
    assert Queue("default", connection=redis_conn).count == 0
