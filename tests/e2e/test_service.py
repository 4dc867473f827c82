"""The whole service under `make run`'s runner: real SecantusDB, redis-server, gunicorn, a forking
RQ worker and `rq cron`, each a separate process. Tests run in file order on one service and
each leaves it ready again.

To watch the service without a program, the runner is paused (SIGSTOP) while the program is
killed, so the supervisor cannot restart it until the test resumes the runner.
"""
from __future__ import annotations

import os
import signal

import psutil
import pytest
import redis
from bson import ObjectId
from pymongo import MongoClient
from rq import Queue, Worker
from rq.job import Job

from domain import storage
from tests.e2e.harness import HEARTBEAT_MAX_AGE, alive, service_database, wait_for
from tests.personas import PASSWORD, build_world

pytestmark = pytest.mark.e2e
RECOUNT = "workers.units.recount_sites"


@pytest.fixture(scope="module")
def world(service):
    with service_database(service):
        return build_world()


@pytest.fixture(scope="module")
def admin(service, world):
    return service.login("admin", PASSWORD)


@pytest.fixture(scope="module")
def db(service):
    client = MongoClient(service.mongodb_uri, serverSelectionTimeoutMS=3000)
    yield client.get_default_database()
    client.close()


@pytest.fixture
def rconn(service):
    conn = redis.Redis.from_url(service.redis_url, socket_timeout=3)
    yield conn
    conn.close()


def _site(parent_id: str, code: str) -> dict:
    return {"code": code, "name": f"服务窗口 {code}", "kind": "site", "parent_id": parent_id,
            "address": "江门市蓬江区建设路 1 号", "position": {"crs": "wgs84", "lon": 113.078, "lat": 22.579},
            "radius_m": 100}


def _wait_site_count_settles(service, db, headers, unit_id: str, timeout: float = 20) -> int:
    """Poll the API until the unit's site_count equals the active sites below it in the database."""
    expected = db.units.count_documents({"ancestors": ObjectId(unit_id), "kind": "site", "active": True})

    def counted():
        r = service.get(f"/api/v1/units/{unit_id}", headers=headers)
        return r.status_code == 200 and r.json()["site_count"] == expected
    wait_for(counted, timeout, f"site_count of {unit_id} to become {expected}")
    return expected


def test_the_service_starts_from_an_empty_data_directory_with_every_program_up(service):
    code, body = service.readyz()
    assert code == 200 and body["status"] == "ok" and body["failing"] == []
    assert body["components"]["workers"]["live"] == 1
    assert body["components"]["scheduler"]["live"] == 1
    programs = service.state()["programs"]
    assert set(programs) == {"secantusdb", "redis", "api", "worker-1", "scheduler"}
    assert all(alive(pid) for pid in programs.values()), programs
    assert (service.data_dir / "secantus").is_dir()
    assert any((service.data_dir / "redis").glob("*.aof")), "redis runs with its append-only file"
    assert service.get("/healthz").json() == {"status": "ok"}


def test_a_site_created_through_the_api_is_counted_by_the_real_forking_worker(service, world, admin, db, rconn):
    r = service.post("/api/v1/units", json=_site(world.id("water"), "PJSW-CK02"), headers=admin)
    assert r.status_code == 201, r.text

    assert _wait_site_count_settles(service, db, admin, world.id("water")) == 2
    entry = db.outbox.find_one({"job": RECOUNT, "args": [world.id("water")]})
    assert entry["status"] == "sent"
    job = Job.fetch(f"outbox-{entry['_id']}", connection=rconn)
    assert job.get_status() == "finished"
    [worker] = [w for w in Worker.all(connection=rconn) if w.pid == service.pid("worker-1")]
    assert job.worker_name == worker.name  # run by the supervised worker process, in a forked work horse


def test_a_job_committed_with_its_change_survives_a_crash_before_the_enqueue(service, world, admin, db, rconn):
    """The change and its outbox entry commit together; nobody enqueues (a crash right after the
    commit); the scheduler's sweep, run by the real worker, dispatches it and the job runs."""
    from domain import storage
    from domain.units.models import Unit, UnitKind

    scheduler = service.pid("scheduler")
    os.kill(scheduler, signal.SIGSTOP)  # no sweep while we look at Redis
    try:
        default = Queue("default", connection=rconn)
        wait_for(lambda: default.count == 0 and all(w.get_state() == "idle" for w in Worker.all(connection=rconn)
                                                    if w.pid == service.pid("worker-1")),
                 10, "queued sweeps to finish")
        market = world.unit("market_west")
        site = Unit(code="XHSJ-CK02", name="新会区市场监管二号窗口", kind=UnitKind.SITE, parent=market.pk,
                    ancestors=[*market.ancestors, market.pk], address="江门市新会区会城",
                    location={"type": "Point", "coordinates": [113.034, 22.521]},
                    location_input={"crs": "wgs84", "lon": 113.034, "lat": 22.521}, radius_m=80)
        with service_database(service):
            def write(tx):
                tx.insert(site)
                return tx.enqueue(RECOUNT, str(market.pk))
            entry = storage.atomic(write)

        assert db.outbox.find_one({"_id": entry.pk})["status"] == "pending"
        assert not Job.exists(f"outbox-{entry.pk}", connection=rconn)
        assert default.count == 0
    finally:
        os.kill(scheduler, signal.SIGCONT)

    wait_for(lambda: db.outbox.find_one({"_id": entry.pk})["status"] == "sent", 15, "the sweep to dispatch the entry")
    assert _wait_site_count_settles(service, db, admin, str(market.pk)) == 2
    assert Job.fetch(f"outbox-{entry.pk}", connection=rconn).get_status() == "finished"


def test_a_job_whose_work_horse_is_killed_is_retried_and_finishes(service):
    with service_database(service):
        entry = storage.atomic(lambda tx: tx.enqueue("tests.e2e.jobs.slow_marker", "killed-once", 2))
        markers = storage.database()["e2e_markers"]
        rconn = redis.Redis.from_url(service.redis_url)
        job_id = f"outbox-{entry.pk}"
        started = wait_for(lambda: markers.find_one({"_id": "killed-once", "pids": {"$size": 1}}), 20,
                           "the job to start in a work horse")
        horse = started["pids"][0]
        assert psutil.Process(horse).ppid() == service.pid("worker-1")  # a forked horse of the real worker
        os.kill(horse, signal.SIGKILL)  # mid-job: its sleep has not ended, so it wrote nothing else
        assert "finished" not in markers.find_one({"_id": "killed-once"})
        wait_for(lambda: Job.fetch(job_id, connection=rconn).get_status() in ("scheduled", "queued", "started"),
                 10, "the job to be set up for a retry")
        done = wait_for(lambda: markers.find_one({"_id": "killed-once", "finished": 1}), 40, "the retry to finish")
        assert len(done["pids"]) == 2 and done["pids"][1] != horse
        assert Job.fetch(job_id, connection=rconn).get_status() == "finished"


def test_readiness_names_the_workers_when_the_only_worker_is_killed_until_the_runner_restarts_it(service):
    with service.paused():
        old = service.kill("worker-1")
        body = service.wait_readyz(lambda code, b: code == 200 and "workers" in b["failing"],
                                   HEARTBEAT_MAX_AGE + 10, "/readyz to name the dead worker")
        assert body["status"] == "degraded" and body["components"]["workers"]["live"] == 0
        assert service.get("/healthz").status_code == 200
    new = service.wait_restarted("worker-1", old)
    assert new != old
    service.wait_ready()
    assert "worker-1 exited with -9; restarting in 1.0s" in service.output()


def test_the_scheduler_is_restarted_after_each_exit_with_growing_delays(service):
    first = service.kill("scheduler")
    second = service.wait_restarted("scheduler", first)
    service.kill("scheduler")  # again at once: it did not stay up, so the delay doubles
    service.wait_restarted("scheduler", second)
    out = service.output()
    assert "scheduler exited with -9; restarting in 1.0s" in out
    assert "scheduler exited with -9; restarting in 2.0s" in out
    service.wait_ready()


def test_with_redis_down_readiness_degrades_intake_goes_on_and_the_backlog_drains_after_restart(
        service, world, admin, db):
    redis_pid, scheduler = service.pid("redis"), service.pid("scheduler")
    with service.paused():
        service.kill("redis")
        body = service.wait_readyz(lambda code, b: code == 200 and "redis" in b["failing"], 10,
                                   "/readyz to name redis")
        assert body["status"] == "degraded" and body["components"]["redis"]["state"] == "down"
        r = service.post("/api/v1/units", json=_site(world.id("water"), "PJSW-CK03"), headers=admin)
        assert r.status_code == 201, r.text
        entry = db.outbox.find_one({"job": RECOUNT, "status": "pending"})
        assert entry is not None, "the change is kept with its job while Redis is down"
        wait_for(lambda: not alive(scheduler), 10, "rq cron to exit without Redis")

    service.wait_restarted("redis", redis_pid)
    service.wait_restarted("scheduler", scheduler)
    service.wait_ready()
    wait_for(lambda: db.outbox.find_one({"_id": entry["_id"]})["status"] == "sent", 20, "the backlog to drain")
    assert _wait_site_count_settles(service, db, admin, world.id("water")) == 3


def test_with_the_database_killed_readiness_is_503_and_an_acknowledged_write_survives(service, world, admin):
    r = service.post("/api/v1/units", json=_site(world.id("east"), "PJ-CK09"), headers=admin)
    assert r.status_code == 201, r.text  # committed with w=majority, j=true
    unit_id = r.json()["id"]
    old = service.pid("secantusdb")
    with service.paused():
        service.kill("secantusdb")  # SIGKILL: no chance to flush anything
        body = service.wait_readyz(lambda code, b: code == 503, 10, "/readyz to answer 503")
        assert body["status"] == "down" and "mongodb" in body["failing"]
        assert service.get("/healthz").status_code == 200
    service.wait_restarted("secantusdb", old)
    service.wait_ready()
    r = wait_for(lambda: (resp := service.get(f"/api/v1/units/{unit_id}", headers=admin)).status_code == 200
                 and resp, 15, "the unit to be readable again")
    assert r.json()["code"] == "PJ-CK09"


def test_a_clean_restart_on_the_same_data_directory_keeps_data_and_ports(service, world, admin):
    ports = (service.state()["mongodb_port"], service.state()["redis_port"])
    service.restart()
    assert (service.state()["mongodb_port"], service.state()["redis_port"]) == ports
    r = service.get(f"/api/v1/units/{world.id('water')}", headers=admin)  # access tokens outlive the restart
    assert r.status_code == 200 and r.json()["site_count"] == 3
