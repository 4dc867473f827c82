"""After a commit that wrote outbox entries, try to dispatch them at once.

Best effort with a short Redis timeout and no retries: when Redis is down the entries stay
pending and the scheduler's sweep dispatches them later.
"""
from __future__ import annotations

from domain import storage
from domain.config import Settings, get_settings
from domain.outbox import dispatch_pending


def _kick(ids) -> None:
    url = get_settings().redis_url  # read now, not at install: the process's settings may change (tests)
    if not url:
        return
    from workers.queues import RQTaskQueue, connection

    dispatch_pending(RQTaskQueue(connection(url, fast=True)), ids=ids)


def install_outbox_kick(settings: Settings) -> None:
    """Once per process (the hook list is module state in domain.storage)."""
    if not settings.redis_url or _kick in storage._post_commit_hooks:
        return
    storage.on_commit_with_outbox(_kick)
