"""Nothing lost: a report that completes while Redis is down is kept, and its validation runs once Redis
is back, through the outbox sweep (a real ``rq cron`` process) and a real forking worker.

This module starts its OWN redis-server (stopped and restarted here) so the session's shared one is
never disturbed; the database is the session's embedded SecantusDB.
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pytest

from domain.config import set_settings
from domain.forms import load_shipped_forms
from domain.outbox import OutboxEntry, OutboxStatus
from domain.reports import Report
from ops import programs
from ops.embedded import EmbeddedServer, redis_spec
from tests.e2e.harness import program_env, real_worker, start_program, stop_program
from tests.factories.reports import photos_for, report_body
from tests.factories.tasks import task_in

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
VALIDATE = "workers.evidence.validate_report"


@pytest.fixture(scope="module")
def redis_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("intake-redis")


@pytest.fixture(scope="module")
def own_redis(redis_dir):
    server = EmbeddedServer(redis_spec(redis_dir)).start()
    yield server
    server.stop()


@pytest.fixture
def worker(settings, own_redis, redis_dir):
    """One real forking rq worker on our Redis, as `make run` starts it."""
    log = redis_dir / "worker.log"
    with real_worker(settings, own_redis.url, "intake-e2e", log) as proc:
        yield proc, log


@pytest.fixture
def pointed_at_own_redis(settings, own_redis):
    """This process (the API's outbox kick) uses our Redis for the duration of the test."""
    set_settings(dataclasses.replace(settings, redis_url=own_redis.url))
    yield
    set_settings(settings)


def test_a_report_completed_while_redis_is_down_is_kept_and_validated_after_redis_returns(
        client, world, settings, own_redis, redis_dir, worker, pointed_at_own_redis):
    load_shipped_forms()
    shutil.rmtree(settings.data_dir / "blobs", ignore_errors=True)
    task = task_in(world)
    photos = photos_for(task)
    headers = world.headers("inspector_east")
    report = client.post("/api/v1/reports", json=report_body(task, photos), headers=headers).get_json()
    *first, last = photos.items()
    for client_id, (_decl, data) in first:
        resp = client.put(f"/api/v1/reports/{report['id']}/evidence/{client_id}", data=data,
                          headers={**headers, "Content-Type": "image/jpeg"})
        assert resp.status_code == 201, resp.get_data(as_text=True)

    own_redis.stop()
    started = time.monotonic()
    resp = client.put(f"/api/v1/reports/{report['id']}/evidence/{last[0]}", data=last[1][1],
                      headers={**headers, "Content-Type": "image/jpeg"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert time.monotonic() - started < 3, "intake must not wait on a dead Redis"
    assert resp.get_json()["report"]["status"] == "received"
    entry = OutboxEntry.objects.get(job=VALIDATE, args=[report["id"]])
    assert entry.status is OutboxStatus.PENDING  # the kick found no Redis; the entry waits for the sweep
    assert Report.objects.get(pk=report["id"]).validation_started_at is None

    # Redis returns (same port, same data); the scheduler's sweep dispatches, the worker validates.
    restarted = EmbeddedServer(redis_spec(redis_dir, port=own_redis.spec.port)).start()
    own_redis.proc = restarted.proc
    cron = start_program(programs.scheduler(own_redis.url), program_env(settings, own_redis.url), redis_dir / "cron.log")
    try:
        deadline = time.monotonic() + 60
        while Report.objects.get(pk=report["id"]).validation_started_at is None:
            if time.monotonic() > deadline:
                logs = {n: (redis_dir / n).read_text(errors="replace")[-1500:] for n in ("worker.log", "cron.log")}
                pytest.fail(f"validation did not run within 60 s after Redis returned: {logs}")
            time.sleep(0.1)
    finally:
        stop_program(cron)
    assert OutboxEntry.objects.get(pk=entry.pk).status is OutboxStatus.SENT
    assert worker[0].poll() is None, "the worker survived the outage"
