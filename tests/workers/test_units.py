"""The site recount job, run through the real Redis by an RQ worker after the outbox is dispatched."""
from __future__ import annotations

from bson import ObjectId
from rq import Queue, SimpleWorker
from rq.registry import FinishedJobRegistry

from domain.access import Actor, Role
from domain.outbox import OutboxEntry, OutboxStatus, dispatch_pending
from domain.units import services
from domain.units.models import Unit
from workers import units as unit_jobs
from workers.queues import DEFAULT, RQTaskQueue

ADMIN = Actor(id=str(ObjectId()), role=Role.ADMIN, username="admin")


def counts() -> dict[str, int]:
    return {u.code: u.site_count for u in Unit.objects}


def test_a_site_change_is_recounted_by_a_worker_after_the_outbox_is_dispatched(world, redis_conn):
    services.update_unit(ADMIN, world.id("hall_east"), active=False)
    entry = OutboxEntry.objects.get(job="workers.units.recount_sites")
    dispatch_pending(RQTaskQueue(redis_conn))  # (the API's commit kick may already have sent it)
    assert OutboxEntry.objects.get(pk=entry.pk).status == OutboxStatus.SENT

    queue = Queue(DEFAULT, connection=redis_conn)
    assert queue.count == 1
    SimpleWorker([queue], connection=redis_conn).work(burst=True)

    finished = FinishedJobRegistry(DEFAULT, connection=redis_conn)
    assert finished.get_job_ids() == [f"outbox-{entry.pk}"]
    assert queue.fetch_job(f"outbox-{entry.pk}").return_value() == {"checked": 2, "changed": 2}
    c = counts()
    assert c["440703000000"] == 1  # 蓬江区: the water window; the hall is inactive now
    assert c["440700000000"] == 2  # 江门市: plus the 新会区 market window
    assert c["440705000000"] == 0  # not asked about, not touched


def test_the_recount_job_is_idempotent(world):
    first = unit_jobs.recount_sites(world.id("site_west"))
    again = unit_jobs.recount_sites(world.id("site_west"))
    assert first == {"checked": 4, "changed": 3} and again == {"checked": 4, "changed": 0}
    assert counts()["440705000000"] == 1 and counts()["11440705MB2D54321Y"] == 1
