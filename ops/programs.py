"""The service's processes, as argv lists: the same commands run under `make run` and in compose
(where the Redis URL comes from RQ_REDIS_URL instead of ``-u``; tests/ops/test_compose.py compares them)."""
from __future__ import annotations

import sys
from pathlib import Path

from workers.queues import QUEUES

BIN = Path(sys.executable).parent
WORKER_CLASS = "workers.worker.InspectionWorker"


def api(bind: str) -> list[str]:
    return [str(BIN / "gunicorn"), "-c", "python:ops.gunicorn_conf", "--bind", bind, "api.wsgi:app"]


def worker(redis_url: str | None = None, name: str | None = None) -> list[str]:
    # --with-scheduler: delayed one-off jobs and RQ's Retry intervals need a scheduler in some worker.
    argv = [str(BIN / "rq"), "worker", "-w", WORKER_CLASS, "--with-scheduler"]
    if name:
        argv += ["-n", name]
    if redis_url:
        argv += ["-u", redis_url]
    return argv + list(QUEUES)


def scheduler(redis_url: str | None = None) -> list[str]:
    argv = [str(BIN / "rq"), "cron"]
    if redis_url:
        argv += ["-u", redis_url]
    return argv + ["workers.cron"]
