"""The RQ worker class: imports the job modules up front so each forked work horse starts warm,
and heartbeats often enough for /readyz to tell a live worker from a dead one.

Importing pymongo and mongoengine in every work horse cost ~60 ms per job; importing them
once in the parent (without connecting: clients are created lazily, after the fork) ~9 ms.
"""
from __future__ import annotations

import logging

from rq.worker import Worker

from domain.config import get_settings
from domain.logs import configure_logging

from . import bootstrap, jobs  # noqa: F401  (warm imports for the work horses)


def heartbeat_intervals(max_age: int) -> dict:
    """Worker options under which a live worker's heartbeat is never older than ``max_age``.

    An idle worker heartbeats once per blocking dequeue (``worker_ttl - 15`` seconds, 405 s
    by default) and a busy one once per ``job_monitoring_interval`` (30 s by default); both
    must stay well under the age /readyz accepts. Maintenance (which restarts the worker's
    scheduler after a Redis outage, so Retry delays keep firing) runs every minute instead of
    every ten.
    """
    beat = max(1, max_age // 3)
    return {"worker_ttl": 15 + beat, "job_monitoring_interval": beat, "maintenance_interval": 60}


class InspectionWorker(Worker):
    def __init__(self, *args, **kwargs):
        configure_logging()
        bootstrap.setup()
        kwargs.pop("default_worker_ttl", None)  # deprecated alias the rq CLI still passes
        kwargs.update(heartbeat_intervals(get_settings().worker_heartbeat_max_age))
        super().__init__(*args, **kwargs)


logging.getLogger("rq.worker").setLevel(logging.INFO)
