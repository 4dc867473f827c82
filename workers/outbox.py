"""Jobs for the outbox: the dispatcher sweep."""
from __future__ import annotations

from domain.outbox import dispatch_pending

from . import bootstrap, queues


def dispatch_outbox() -> dict:
    """Move every pending outbox entry to RQ (scheduled by ``rq cron``)."""
    bootstrap.setup()
    return dispatch_pending(queues.RQTaskQueue(queues.connection()))
