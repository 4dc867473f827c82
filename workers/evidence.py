"""Jobs for evidence: queue a received report's photos, judge one photo, make one preview.

Thin: set up, call one service, return a small dict. Expected outcomes (a hostile file, an
off-site photo) are saved as verdicts by the services; unexpected errors propagate to RQ, whose
Retry (workers/queues.py RETRY, set by the outbox adapter) runs the idempotent job again.
"""
from __future__ import annotations

from domain import storage
from domain.access import SYSTEM
from domain.evidence import validation
from domain.outbox import dispatch_pending

from . import bootstrap, queues


def _kick(ids) -> None:
    """Hand the outbox entries this job just committed to RQ at once (the sweep would in 5 s)."""
    dispatch_pending(queues.RQTaskQueue(queues.connection(fast=True)), ids=ids)


def _setup() -> None:
    bootstrap.setup()
    if _kick not in storage._post_commit_hooks:
        storage.on_commit_with_outbox(_kick)


def validate_report(report_id: str) -> dict:
    """Queued (through the outbox) when a report's last declared file arrived: one verdict job per photo."""
    _setup()
    return validation.validate_report(SYSTEM, report_id)


def validate_photo(evidence_id: str, force: bool = False) -> dict:
    """The verdict on one photo, its thumbnail and custody event; queues its preview (queue ``low``)."""
    _setup()
    return validation.validate_evidence(SYSTEM, evidence_id, force=force)


def make_preview(evidence_id: str) -> dict:
    """The 1600 px preview of one photo, on the low-priority queue so verdicts never wait for it."""
    _setup()
    return validation.make_evidence_preview(SYSTEM, evidence_id)
