"""The scheduled export of audit chain heads: run directly, through Redis, and declared to rq cron."""
from __future__ import annotations

import dataclasses
import json

import pytest
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.job import JobStatus

from domain import storage
from domain.access import SYSTEM
from domain.audit import AuditEvent, AuditHead
from domain.config import set_settings
from domain.errors import AuditChainBrokenError
from workers.audit import export_audit_heads


@pytest.fixture
def heads_dir(settings, tmp_path):
    directory = tmp_path / "heads-elsewhere"
    set_settings(dataclasses.replace(settings, audit_heads_dir=directory))
    yield directory
    set_settings(settings)
    storage.connect(settings.mongodb_uri, settings.mongodb_db)


def _append(chain: str, n: int = 1) -> None:
    for i in range(n):
        storage.atomic(lambda tx: tx.audit(SYSTEM, "test.append", target_type="probe", target_id=i, chain=chain))


def _lines(directory) -> list[dict]:
    return [json.loads(line) for line in (directory / "heads.jsonl").read_text().splitlines()]


def test_the_job_appends_one_line_per_moved_chain_to_the_configured_directory(heads_dir):
    _append("office-a", 2)
    _append("system")
    result = export_audit_heads()
    assert result == {"file": str(heads_dir / "heads.jsonl"), "chains": 2, "written": 2}
    heads = {h["_id"]: h for h in AuditHead._get_collection().find()}
    lines = _lines(heads_dir)
    assert [(x["chain"], x["seq"], x["hash"]) for x in lines] == [
        ("office-a", 2, heads["office-a"]["hash"]), ("system", 1, heads["system"]["hash"])]
    assert all(x["exported_at"].endswith("Z") for x in lines)


def test_the_job_runs_through_redis_in_a_worker(heads_dir, redis_conn):
    _append("office-a", 3)
    job = Queue("default", connection=redis_conn).enqueue("workers.audit.export_audit_heads")
    SimpleWorker(["default"], connection=redis_conn).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value()["written"] == 1
    assert [(x["chain"], x["seq"]) for x in _lines(heads_dir)] == [("office-a", 3)]


def test_the_job_fails_loudly_for_a_chain_cut_short_and_still_exports_the_others(heads_dir):
    _append("office-a", 2)
    _append("office-b", 1)
    export_audit_heads()
    last = AuditEvent._get_collection().find_one({"chain": "office-a", "seq": 2})
    AuditEvent._get_collection().delete_one({"_id": last["_id"]})
    first = AuditEvent._get_collection().find_one({"chain": "office-a", "seq": 1})
    AuditHead._get_collection().update_one({"_id": "office-a"}, {"$set": {"seq": 1, "hash": first["hash"]}})
    _append("office-b", 1)
    with pytest.raises(AuditChainBrokenError) as caught:
        export_audit_heads()
    assert caught.value.params == {"chain": "office-a", "seq": 2, "reason": "shorter-than-exported-head",
                                   "_broken": [{"chain": "office-a", "seq": 2,
                                                "reason": "shorter-than-exported-head"}]}
    assert [(x["chain"], x["seq"]) for x in _lines(heads_dir)] == [("office-a", 2), ("office-b", 1), ("office-b", 2)]


def test_rq_cron_runs_the_export_every_ten_minutes(redis_conn):
    scheduler = CronScheduler(connection=redis_conn)
    scheduler.load_config_from_file("workers.cron")
    jobs = {job.func_name: job for job in scheduler._cron_jobs}
    assert jobs["workers.audit.export_audit_heads"].interval == 600
