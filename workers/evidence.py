"""Jobs for evidence: queue a received report's photos, judge one photo, make one preview.

Thin: set up, call one service, return a small dict. Expected outcomes (a hostile file, an
off-site photo) are saved as verdicts by the services; unexpected errors propagate to RQ, whose
Retry (workers/queues.py RETRY, set by the outbox adapter) runs the idempotent job again.
"""
from __future__ import annotations

from domain.access import SYSTEM
from domain.evidence import validation

from . import bootstrap


def validate_report(report_id: str) -> dict:
    """Queued (through the outbox) when a report's last declared file arrived: one verdict job per photo."""
    bootstrap.setup()
    return validation.validate_report(SYSTEM, report_id)


def validate_photo(evidence_id: str, force: bool = False) -> dict:
    """The verdict on one photo, its thumbnail and custody event; queues its preview (queue ``low``)."""
    bootstrap.setup()
    return validation.validate_evidence(SYSTEM, evidence_id, force=force)


def make_preview(evidence_id: str) -> dict:
    """The 1600 px preview of one photo, on the low-priority queue so verdicts never wait for it."""
    bootstrap.setup()
    return validation.make_evidence_preview(SYSTEM, evidence_id)


def requeue_stalled_verdicts() -> dict:
    """The sweep (``rq cron``): photos that should have had a verdict by now get their job again."""
    bootstrap.setup()
    return validation.requeue_stalled_verdicts(SYSTEM)
