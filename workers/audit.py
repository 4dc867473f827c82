"""Jobs for the audit log: the scheduled export of chain heads."""
from __future__ import annotations

from domain.audit import export_heads

from . import bootstrap


def export_audit_heads() -> dict:
    """Append each moved chain head to AUDIT_HEADS_DIR/heads.jsonl (scheduled by ``rq cron``).

    A chain that lost its last exported link raises AuditChainBrokenError: the job fails
    loudly into RQ's failed registry instead of exporting over the evidence.
    """
    bootstrap.setup()
    return export_heads()
