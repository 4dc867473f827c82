"""Rate limits kept in Redis, falling back to the process's memory when Redis is down."""
from __future__ import annotations

from flask_limiter import Limiter
from redis.backoff import NoBackoff
from redis.retry import Retry
from flask_limiter.util import get_remote_address

from domain.config import get_settings


def _storage_uri() -> str:
    url = get_settings().redis_url
    return url if url else "memory://"


limiter = Limiter(
    key_func=get_remote_address,
    storage_uri=None,
    in_memory_fallback_enabled=True,
    headers_enabled=True,
    default_limits=[],
    # No client-side retries: with Redis down a login must fall back to memory at once, not after ~3 s.
    storage_options={"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry": Retry(NoBackoff(), 0)},
)


def configure(app) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri())
