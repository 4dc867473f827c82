"""Queue names, the Redis connection and the RQ adapter of the domain's TaskQueue port."""
from __future__ import annotations

from functools import lru_cache

import redis
from redis.exceptions import RedisError
from rq import Queue, Retry

from domain.ports import QueueUnavailable

DEFAULT = "default"
LOW = "low"
QUEUES = (DEFAULT, LOW)

# Jobs are idempotent, so transient failures are simply retried.
RETRY = Retry(max=5, interval=[5, 15, 60, 300, 900])


@lru_cache(maxsize=4)
def _connection(url: str, fast: bool) -> redis.Redis:
    # The API kicks the dispatcher on the request path: a short timeout there, so a Redis
    # outage costs a request a fraction of a second and the sweep catches up later.
    timeout = 0.5 if fast else 5.0
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


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
            Queue(queue, connection=self.conn).enqueue(job, *args, job_id=job_id, retry=RETRY,
                                                       result_ttl=3600, failure_ttl=30 * 24 * 3600, **kwargs)
        except RedisError as exc:
            raise QueueUnavailable(str(exc)) from exc
