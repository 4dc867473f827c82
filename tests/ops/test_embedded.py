"""The embedded servers as real processes: they start on an empty directory, and what they
acknowledged survives a clean restart and a hard kill (SIGKILL) on the same directory."""
from __future__ import annotations

import time

import pytest
import redis
from pymongo import MongoClient, WriteConcern
from rq import Queue, SimpleWorker
from rq.job import Job

from ops.embedded import EmbeddedServer, mongo_spec, redis_spec


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"  # does not exist yet


def test_an_acknowledged_database_write_survives_a_hard_kill_and_a_restart_on_the_same_directory(data_dir):
    """A clean stop and restart of the whole service is tested end to end (tests/e2e)."""
    server = EmbeddedServer(mongo_spec(data_dir)).start()
    client = MongoClient(server.url, serverSelectionTimeoutMS=5000)
    try:
        coll = client.get_default_database().get_collection("notes", write_concern=WriteConcern("majority", j=True))
        coll.insert_one({"_id": "n1", "text": "整改回复已收到"})
        server.kill()  # SIGKILL right after the acknowledgement: no chance to flush anything
        assert server.proc.returncode == -9
        server.start()
        assert coll.find_one({"_id": "n1"}) == {"_id": "n1", "text": "整改回复已收到"}
    finally:
        client.close()
        server.kill()  # its clean stop costs two seconds and is exercised end to end


def note_job(text: str) -> str:
    """A job for the test below: it only has to be importable by the worker."""
    return text


def _wait_for_aof_written(conn, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while conn.info("persistence")["aof_buffer_length"] != 0:
        assert time.monotonic() < deadline, "the AOF buffer was never written"
        time.sleep(0.01)


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_job_queued_in_redis_survives_a_redis_restart_and_then_runs(data_dir, how):
    server = EmbeddedServer(redis_spec(data_dir)).start()
    conn = redis.Redis.from_url(server.url)
    try:
        job = Queue("default", connection=conn).enqueue(f"{__name__}.note_job", "复查", job_id="survivor")
        if how == "kill":
            # appendfsync everysec: Redis may hold back its AOF write while a slow fsync runs (up to
            # ~2 s); once the buffer is written, a SIGKILL loses nothing (the kernel has the bytes).
            _wait_for_aof_written(conn)
        getattr(server, how)()
        server.start()
        assert Queue("default", connection=conn).job_ids == [job.id]
        SimpleWorker(["default"], connection=conn).work(burst=True)
        assert Job.fetch("survivor", connection=conn).return_value() == "复查"
    finally:
        conn.close()
        server.stop()
