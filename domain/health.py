"""Readiness of the parts the service depends on. Only the database is essential:
intake goes on while Redis, the workers or the scheduler are down."""
from __future__ import annotations

from datetime import datetime, timezone

from . import storage


def database_state() -> dict:
    try:
        storage.client().admin.command("ping")
        return {"state": "up"}
    except Exception as exc:  # any failure means "cannot serve"
        return {"state": "down", "error": type(exc).__name__}


def queue_states(redis_conn, heartbeat_max_age: int) -> dict[str, dict]:
    """Redis, workers (live = heartbeat younger than the configured age) and the cron scheduler."""
    from redis.exceptions import RedisError
    from rq import Worker
    from rq.cron import CronScheduler

    try:
        redis_conn.ping()
    except RedisError as exc:
        down = {"state": "unknown", "reason": "redis down"}
        return {"redis": {"state": "down", "error": type(exc).__name__}, "workers": down, "scheduler": down}
    now = datetime.now(timezone.utc)

    def age(ts):
        if ts is None:
            return None
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return (now - ts).total_seconds()

    workers = [w for w in Worker.all(connection=redis_conn)
               if (a := age(w.last_heartbeat)) is not None and a <= heartbeat_max_age]
    schedulers = [s for s in CronScheduler.all(redis_conn, cleanup=False)
                  if (a := age(s.last_heartbeat)) is not None and a <= max(heartbeat_max_age, 120)]
    return {
        "redis": {"state": "up"},
        "workers": {"state": "up" if workers else "down", "live": len(workers)},
        "scheduler": {"state": "up" if schedulers else "down", "live": len(schedulers)},
    }
