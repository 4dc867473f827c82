"""The RQ worker class: imports the job modules up front so each forked work horse starts warm.

Importing pymongo and mongoengine in every work horse cost ~60 ms per job; importing them
once in the parent (without connecting: clients are created lazily, after the fork) ~9 ms.
"""
from __future__ import annotations

import logging

from rq.worker import Worker

from . import bootstrap, jobs  # noqa: F401  (warm imports for the work horses)


class InspectionWorker(Worker):
    def __init__(self, *args, **kwargs):
        from api.context import configure_logging

        configure_logging()
        bootstrap.setup()
        super().__init__(*args, **kwargs)


logging.getLogger("rq.worker").setLevel(logging.INFO)
