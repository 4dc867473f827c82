"""Jobs for evidence: the validation of a received report.

Minimal for now: ``validate_report`` only records that validation began (the verdict work is its
own issue). Idempotent, because the outbox may dispatch it twice and RQ retries it.
"""
from __future__ import annotations

from domain.access import SYSTEM
from domain.reports import services

from . import bootstrap


def validate_report(report_id: str) -> dict:
    """Queued (through the outbox) when a report's last declared file arrived."""
    bootstrap.setup()
    return services.start_validation(SYSTEM, report_id)
