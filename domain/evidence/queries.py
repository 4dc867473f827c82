"""Every read of evidence records, scoped to the actor through the report it belongs to.

A photo is readable exactly when its report is (domain/reports/queries.py: admin all, a supervisor its
office's tasks in its jurisdiction, a leader its jurisdiction, an inspector its own); a liaison reads
no report, so no photo either (photos of findings issued to its unit come with notices). Out of
scope is EvidenceNotFoundError, never 403.
"""
from __future__ import annotations

from ..access import Actor
from ..errors import EvidenceNotFoundError, ReportNotFoundError
from ..filters import oid
from ..reports import Evidence, Report
from ..reports import queries as report_queries


def get_evidence(actor: Actor, evidence_id) -> tuple[Evidence, Report]:
    """One photo the actor may read, with its report; anything else is the same EvidenceNotFoundError."""
    key = oid(evidence_id)
    record = Evidence.objects(pk=key).first() if key else None
    if record is None:
        raise EvidenceNotFoundError(id=str(evidence_id))
    try:
        report = report_queries.get_report(actor, record.report)  # the scope, applied in the query
    except ReportNotFoundError:
        raise EvidenceNotFoundError(id=str(evidence_id)) from None
    return record, report


def report_visible(actor: Actor, report_id) -> bool:
    try:
        report_queries.get_report(actor, report_id)
    except ReportNotFoundError:
        return False
    return True


def evidence_of_report(report_id) -> list[Evidence]:
    """Every photo of a report the caller was allowed to read, in arrival order."""
    return list(Evidence.objects(report=oid(report_id)).order_by("_id"))


def evidence_by_id(evidence_id) -> Evidence | None:
    key = oid(evidence_id)
    return Evidence.objects(pk=key).first() if key else None


def evidence_in_tx(tx, evidence_id) -> Evidence | None:
    raw = Evidence._get_collection().find_one({"_id": oid(evidence_id)}, session=tx.session)
    return Evidence._from_son(raw) if raw else None

