"""The service's processes, as argv lists: the same commands run under `make run` and in compose."""
from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def api(bind: str) -> list[str]:
    return [str(BIN / "gunicorn"), "-c", "python:ops.gunicorn_conf", "--bind", bind, "api.wsgi:app"]


def worker(redis_url: str, name: str | None = None) -> list[str]:
    argv = [str(BIN / "rq"), "worker", "-w", "workers.worker.InspectionWorker", "--with-scheduler",
            "-u", redis_url, "default", "low"]
    if name:
        argv[2:2] = ["-n", name]
    return argv


def scheduler(redis_url: str) -> list[str]:
    return [str(BIN / "rq"), "cron", "-u", redis_url, "workers.cron"]
