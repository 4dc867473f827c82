"""Jobs for uploads: the sweep that removes expired tus partials (scheduled by ``rq cron``)."""
from __future__ import annotations

from domain.access import SYSTEM
from domain.uploads import services

from . import bootstrap


def expire_uploads() -> dict:
    """Remove unfinished uploads past their expiry, and partial files that no upload owns."""
    bootstrap.setup()
    return services.expire_uploads(SYSTEM)
