"""Readiness (就绪): whether this instance can serve, and which parts are not up.

Only the database is essential: intake goes on while Redis, the workers or the scheduler are
down (their work waits in the outbox), so those make the service ``degraded``, never ``down``.
The queue side is probed by a function the process passes in (``workers.queues.queue_states``
in the API), so the domain knows nothing of Redis or RQ.
"""
from __future__ import annotations

from typing import Callable

import pymongo

from . import storage

# A readiness probe must answer quickly (an orchestrator's probe times out after a second or
# so); the client's own server selection would wait five seconds for a database that is gone.
PING_TIMEOUT = 1.0

QueueProbe = Callable[[], dict]  # -> {"redis": {...}, "workers": {...}, "scheduler": {...}}


def database_state() -> dict:
    try:
        with pymongo.timeout(PING_TIMEOUT):
            storage.client().admin.command("ping")
        return {"state": "up"}
    except Exception as exc:  # any failure means "cannot serve"
        return {"state": "down", "error": type(exc).__name__}


def readiness(queue_probe: QueueProbe | None) -> dict:
    """``{"status": ok|degraded|down, "failing": [...], "components": {...}}``; ``down`` only
    without the database. ``queue_probe`` is None where no Redis is configured."""
    components = {"mongodb": database_state()}
    if queue_probe is not None:
        components.update(queue_probe())
    else:
        components["redis"] = {"state": "down", "reason": "REDIS_URL not configured"}
    failing = sorted(k for k, v in components.items() if v["state"] != "up")
    if components["mongodb"]["state"] != "up":
        status = "down"
    else:
        status = "degraded" if failing else "ok"
    return {"status": status, "failing": failing, "components": components}
