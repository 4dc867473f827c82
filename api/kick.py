"""After a commit that wrote outbox entries, try to dispatch them at once.

Best effort with a short Redis timeout: when Redis is down the entries stay pending
and the scheduler's sweep dispatches them later.
"""
from __future__ import annotations

from domain import storage
from domain.config import Settings
from domain.outbox import dispatch_pending


def install_outbox_kick(settings: Settings) -> None:
    if not settings.redis_url or getattr(install_outbox_kick, "_installed", False):
        return

    def kick(ids):
        from workers.queues import RQTaskQueue, connection

        dispatch_pending(RQTaskQueue(connection(settings.redis_url, fast=True)), ids=ids)

    storage.on_commit_with_outbox(kick)
    install_outbox_kick._installed = True
