"""Queue names, the Redis connection, the RQ adapter of the domain's TaskQueue port, and what
/readyz needs to know about Redis, the workers and the scheduler."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry, Worker
from rq.cron import CronScheduler
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from domain.ports import QUEUES, QueueName, QueueUnavailable

DEFAULT, LOW = QueueName.DEFAULT.value, QueueName.LOW.value  # names live in domain.ports
__all__ = ["DEFAULT", "LOW", "QUEUES", "RQTaskQueue", "connection", "install_outbox_kick", "queue_states"]

# Jobs are idempotent, so transient failures are simply retried.
RETRY = Retry(max=5, interval=[5, 15, 60, 300, 900])

# A job in one of these states will run (or is running): dispatching its entry again would
# only run it twice, and re-enqueueing a running job's id would overwrite its record.
_PENDING_OR_RUNNING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED,
                       JobStatus.CREATED}

# The scheduler's loop sleeps until its next sweep (the outbox sweep every 5 s) and
# heartbeats after each: older than this, it is not looping.
SCHEDULER_MIN_MAX_AGE = 15


@lru_cache(maxsize=4)
def _connection(url: str, fast: bool) -> redis.Redis:
    if fast:
        # The API kicks the dispatcher and answers /readyz on the request path: a short timeout
        # and no retries (redis-py retries three times with backoff by default, ~3.4 s against
        # a closed port), so a Redis outage costs a request a fraction of a second and the
        # sweep catches up later.
        return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=RedisRetry(NoBackoff(), 0))
    return redis.Redis.from_url(url, socket_connect_timeout=5.0, socket_timeout=5.0)


def connection(url: str | None = None, *, fast: bool = False) -> redis.Redis:
    from domain.config import get_settings

    url = url or get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not configured")
    return _connection(url, fast)


class RQTaskQueue:
    """Adapter: puts outbox entries on RQ queues under a job id derived from the entry."""

    def __init__(self, conn: redis.Redis):
        self.conn = conn

    def enqueue(self, *, job_id: str, job: str, args: list, kwargs: dict, queue: str) -> None:
        try:
            try:
                status = Job.fetch(job_id, connection=self.conn).get_status(refresh=False)
            except NoSuchJobError:
                status = None
            if status in _PENDING_OR_RUNNING:
                return
            Queue(queue, connection=self.conn).enqueue(job, *args, job_id=job_id, retry=RETRY,
                                                       result_ttl=3600, failure_ttl=30 * 24 * 3600, **kwargs)
        except RedisError as exc:
            raise QueueUnavailable(str(exc)) from exc


def _age(now: datetime, ts: datetime | None) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return (now - ts).total_seconds()


def queue_states(conn: redis.Redis, heartbeat_max_age: int) -> dict[str, dict]:
    """Redis, the workers and the cron scheduler, each ``{"state": "up"|"down"|"unknown", ...}``.

    A worker killed with SIGKILL stays registered until its key expires, so liveness is the
    age of the last heartbeat, never the registration (InspectionWorker heartbeats often enough).
    """
    try:
        conn.ping()
        now = datetime.now(timezone.utc)
        workers = [w for w in Worker.all(connection=conn)
                   if (a := _age(now, w.last_heartbeat)) is not None and a <= heartbeat_max_age]
        schedulers = [s for s in CronScheduler.all(conn, cleanup=False)
                      if (a := _age(now, s.last_heartbeat)) is not None
                      and a <= max(heartbeat_max_age, SCHEDULER_MIN_MAX_AGE)]
    except RedisError as exc:
        unknown = {"state": "unknown", "reason": "redis down"}
        return {"redis": {"state": "down", "error": type(exc).__name__}, "workers": unknown, "scheduler": unknown}
    return {
        "redis": {"state": "up"},
        "workers": {"state": "up" if workers else "down", "live": len(workers)},
        "scheduler": {"state": "up" if schedulers else "down", "live": len(schedulers)},
    }


def _dispatch_after_commit(ids) -> None:
    """Best effort, short timeout, no retries: with Redis down the entries stay pending for the sweep."""
    from domain.config import get_settings
    from domain.outbox import dispatch_pending

    url = get_settings().redis_url  # read now, not at install: a process's settings may change (tests)
    if url:
        dispatch_pending(RQTaskQueue(connection(url, fast=True)), ids=ids)


def install_outbox_kick() -> None:
    """After a commit that wrote outbox entries, dispatch them at once (API and worker processes)."""
    from domain import storage

    storage.on_commit_with_outbox(_dispatch_after_commit)
