"""Readiness of the database, the one part the service cannot serve without: intake goes on
while Redis, the workers or the scheduler are down (their state is in workers/queues.py)."""
from __future__ import annotations

import pymongo

from . import storage

# A readiness probe must answer quickly (an orchestrator's probe times out after a second or
# so); the client's own server selection would wait five seconds for a database that is gone.
PING_TIMEOUT = 1.0


def database_state() -> dict:
    try:
        with pymongo.timeout(PING_TIMEOUT):
            storage.client().admin.command("ping")
        return {"state": "up"}
    except Exception as exc:  # any failure means "cannot serve"
        return {"state": "down", "error": type(exc).__name__}
