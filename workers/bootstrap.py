"""Process set-up shared by workers and the scheduler: settings, the domain's wiring and a lazy
database client."""
from __future__ import annotations

from domain import bootstrap, storage
from domain.config import get_settings


def setup() -> None:
    settings = get_settings()
    if not settings.mongodb_uri:
        raise RuntimeError("MONGODB_URI is not set for this process (the run command passes it)")
    bootstrap.wire()
    storage.connect(settings.mongodb_uri, settings.mongodb_db)
    from .queues import install_outbox_kick

    install_outbox_kick()  # a job's follow-up jobs go to RQ at once, not at the next 5 s sweep
