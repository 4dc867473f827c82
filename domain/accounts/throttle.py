"""Log-in back-off (登录退避): failed log-ins make the next try wait longer; nothing ever locks.

A lock-out after N failures lets anyone lock out the supervisor, and locking only real accounts
tells which usernames exist. So failures are counted per username, known or not (both answer
alike), at two levels kept in one Redis hash per username:
- from one address: after ``login_free_failures`` the wait doubles per failure (1 s, 2 s, 4 s, …)
  up to ``login_backoff_max_seconds``: a guesser from one address gets a handful of tries an hour;
- from every address together: after the much higher ``login_username_free_failures`` the same
  doubling, capped at ``login_username_backoff_max_seconds``: a distributed guesser is slowed, and
  a stranger can at worst make the owner wait that long, never lock it out.
A try inside the wait is answered at once (429 with Retry-After; a request never sleeps) without
checking the password, so it costs no argon2 time and teaches nothing. Success clears its address's
counter; an admin's unlock clears the username's every counter. While Redis is unreachable the
counters live in the process's memory, like the rate limits.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
from functools import lru_cache

import redis

from .. import clock
from ..config import get_settings

ALL = "*"  # the field of the username-wide counter; an address is never "*"
log = logging.getLogger(__name__)


def _key(name: str) -> str:
    return "login:backoff:" + hashlib.sha256(name.encode()).hexdigest()


def wait_after(failures: int, free: int, cap: int) -> int:
    """Seconds to wait after the last of ``failures``: none before ``free``, then doubling up to ``cap``."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free, 62))


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


class _Memory:
    """The process's own counters, for while Redis is down (each process then counts alone)."""

    def __init__(self):
        self.data: dict[str, tuple[float, dict[str, str]]] = {}
        self.lock = threading.Lock()

    def get(self, key: str, now: float) -> dict[str, str]:
        with self.lock:
            expires, fields = self.data.get(key, (0.0, {}))
            return dict(fields) if expires > now else {}

    def fail(self, key: str, fields: list[str], at_ms: int, ttl: int, now: float) -> None:
        with self.lock:
            expires, stored = self.data.get(key, (0.0, {}))
            stored = stored if expires > now else {}
            for f in fields:
                stored[f] = str(int(stored.get(f, 0)) + 1)
                stored[f + "@"] = str(at_ms)
            self.data[key] = (now + ttl, stored)

    def delete(self, key: str, fields: list[str] | None) -> None:
        with self.lock:
            if fields is None:
                self.data.pop(key, None)
            elif key in self.data:
                for f in fields:
                    self.data[key][1].pop(f, None)
                    self.data[key][1].pop(f + "@", None)


_memory = _Memory()


def _fields(raw: dict) -> dict[str, str]:
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()}


def _read(key: str, now: float) -> dict[str, str]:
    url = get_settings().redis_url
    if url:
        try:
            return _fields(_redis(url).hgetall(key))
        except redis.RedisError:
            log.warning("login back-off read from process memory: Redis unreachable")
    return _memory.get(key, now)


def retry_after(name: str, address: str) -> int:
    """Seconds before ``name`` may try again from ``address`` (0: now)."""
    s = get_settings()
    now = clock.now().timestamp()
    fields = _read(_key(name), now)
    waits = [(address, s.login_free_failures, s.login_backoff_max_seconds),
             (ALL, s.login_username_free_failures, s.login_username_backoff_max_seconds)]
    left = 0.0
    for field, free, cap in waits:
        failures = int(fields.get(field, 0))
        if failures:
            last = int(fields.get(field + "@", 0)) / 1000
            left = max(left, last + wait_after(failures, free, cap) - now)
    return math.ceil(left) if left > 0 else 0


def record_failure(name: str, address: str) -> int:
    """Count one failed try; returns the failures of ``name`` from ``address`` so far."""
    s = get_settings()
    now = clock.now()
    at_ms, key, fields = int(now.timestamp() * 1000), _key(name), [address, ALL]
    url = get_settings().redis_url
    if url:
        try:
            pipe = _redis(url).pipeline(transaction=True)
            pipe.hincrby(key, address, 1).hincrby(key, ALL, 1)
            pipe.hset(key, mapping={address + "@": at_ms, ALL + "@": at_ms})
            pipe.expire(key, s.login_failure_memory_seconds)
            return int(pipe.execute()[0])
        except redis.RedisError:
            log.warning("login back-off counted in process memory: Redis unreachable")
    _memory.fail(key, fields, at_ms, s.login_failure_memory_seconds, now.timestamp())
    return int(_memory.get(key, now.timestamp()).get(address, 1))


def clear(name: str, address: str | None = None) -> None:
    """After a success, forget ``address``'s failures; with no address (an admin's unlock), all of them."""
    key = _key(name)
    fields = None if address is None else [address, address + "@"]
    url = get_settings().redis_url
    if url:
        try:
            client = _redis(url)
            client.delete(key) if fields is None else client.hdel(key, *fields)
        except redis.RedisError:
            log.warning("login back-off cleared in process memory only: Redis unreachable")
    _memory.delete(key, None if address is None else [address])
