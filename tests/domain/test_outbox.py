"""The outbox dispatcher's decisions, on the real database, with a recording TaskQueue port."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain import storage
from domain.outbox import OutboxEntry, OutboxStatus, dispatch_pending, pending_count
from domain.ports import QueueUnavailable
from domain import clock


class RecordingQueue:
    """The TaskQueue port: records what it was handed; ``down`` or ``refuse`` make it fail."""

    def __init__(self, *, down: bool = False, refuse: set[str] = frozenset()):
        self.sent: list[dict] = []
        self.down = down
        self.refuse = refuse

    def enqueue(self, *, job_id, job, args, kwargs, queue):
        if self.down:
            raise QueueUnavailable("connection refused")
        if job in self.refuse:
            raise ValueError("cannot serialise")
        self.sent.append({"job_id": job_id, "job": job, "args": args, "kwargs": kwargs, "queue": queue})


@pytest.fixture(autouse=True)
def no_kick(monkeypatch):
    """Nothing dispatches after commit here (the API's kick may be installed in this process)."""
    monkeypatch.setattr(storage, "_post_commit_hooks", [])


def enqueue(*jobs: tuple) -> list[OutboxEntry]:
    def write(tx):
        return [tx.enqueue(job, *args, **kwargs) for job, args, kwargs in jobs]
    return storage.atomic(write)


def status(entry) -> OutboxStatus:
    return OutboxEntry.objects.get(pk=entry.pk).status


def test_pending_entries_are_sent_oldest_first_under_a_job_id_derived_from_the_entry():
    first, second = enqueue(("workers.units.recount_sites", ("u1",), {}), ("workers.evidence.validate", ("p1",), {}))
    third, = enqueue(("workers.units.recount_sites", ("u2", "u3"), {"full": True}))
    queue = RecordingQueue()

    assert dispatch_pending(queue) == {"sent": 3, "failed": 0, "queue_down": False}
    assert [s["job_id"] for s in queue.sent] == [f"outbox-{e.pk}" for e in (first, second, third)]
    assert queue.sent[2] == {"job_id": f"outbox-{third.pk}", "job": "workers.units.recount_sites",
                             "args": ["u2", "u3"], "kwargs": {"full": True}, "queue": "default"}
    assert all(status(e) is OutboxStatus.SENT for e in (first, second, third))
    assert OutboxEntry.objects.get(pk=first.pk).sent_at is not None
    assert pending_count() == 0
    assert dispatch_pending(queue)["sent"] == 0, "a sent entry is never sent again"


def test_an_entry_leased_by_a_live_dispatcher_is_left_to_it():
    entry, = enqueue(("workers.units.recount_sites", ("u1",), {}))
    OutboxEntry.objects(pk=entry.pk).update(status=OutboxStatus.DISPATCHING,
                                            leased_until=clock.now() + timedelta(seconds=50))
    queue = RecordingQueue()
    assert dispatch_pending(queue)["sent"] == 0
    assert queue.sent == [] and status(entry) is OutboxStatus.DISPATCHING


def test_the_lease_of_a_dispatcher_that_died_mid_send_expires_and_the_next_sweep_sends_the_entry():
    entry, = enqueue(("workers.units.recount_sites", ("u1",), {}))
    OutboxEntry.objects(pk=entry.pk).update(status=OutboxStatus.DISPATCHING, attempts=1,
                                            leased_until=clock.now() - timedelta(seconds=1))
    queue = RecordingQueue()
    assert dispatch_pending(queue)["sent"] == 1
    stored = OutboxEntry.objects.get(pk=entry.pk)
    assert stored.status is OutboxStatus.SENT and stored.attempts == 2 and stored.leased_until is None


def test_with_the_queue_unavailable_every_entry_stays_pending_for_the_next_sweep():
    entries = enqueue(("workers.units.recount_sites", ("u1",), {}), ("workers.units.recount_sites", ("u2",), {}))
    assert dispatch_pending(RecordingQueue(down=True)) == {"sent": 0, "failed": 0, "queue_down": True}
    for e in entries:
        stored = OutboxEntry.objects.get(pk=e.pk)
        assert stored.status is OutboxStatus.PENDING and stored.leased_until is None
    assert pending_count() == 2

    later = RecordingQueue()  # the queue is back: the next sweep drains what accumulated
    assert dispatch_pending(later)["sent"] == 2
    assert [s["args"] for s in later.sent] == [["u1"], ["u2"]]


def test_an_entry_the_queue_refuses_stays_leased_and_does_not_hold_up_the_others():
    poison, good = enqueue(("workers.broken", (), {}), ("workers.units.recount_sites", ("u1",), {}))
    queue = RecordingQueue(refuse={"workers.broken"})
    assert dispatch_pending(queue) == {"sent": 1, "failed": 1, "queue_down": False}
    assert status(good) is OutboxStatus.SENT
    stored = OutboxEntry.objects.get(pk=poison.pk)
    assert stored.status is OutboxStatus.DISPATCHING and stored.leased_until > clock.now()


def test_a_kick_after_commit_sends_only_the_entries_it_names():
    mine, theirs = enqueue(("workers.units.recount_sites", ("u1",), {}), ("workers.units.recount_sites", ("u2",), {}))
    queue = RecordingQueue()
    assert dispatch_pending(queue, ids=[mine.pk])["sent"] == 1
    assert status(mine) is OutboxStatus.SENT and status(theirs) is OutboxStatus.PENDING


def test_a_sweep_sends_at_most_its_limit():
    enqueue(*[("workers.units.recount_sites", (f"u{i}",), {}) for i in range(5)])
    assert dispatch_pending(RecordingQueue(), limit=3)["sent"] == 3
    assert pending_count() == 2
