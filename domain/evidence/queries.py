"""Every read of evidence records, scoped to the actor through the report it belongs to.

A photo is readable exactly when its report is (domain/reports/queries.py: admin all, a supervisor its
office's tasks in its jurisdiction, a leader its jurisdiction, an inspector its own), by the same filter on
the photo's own stored ``scope_units`` and ``leader_visible`` (domain/scope.py); a liaison reads
no report, so no photo either (photos of findings issued to its unit come with notices). Out of
scope is EvidenceNotFoundError, never 403.
"""
from __future__ import annotations

from ..access import Actor
from ..errors import EvidenceNotFoundError, ReportNotFoundError
from ..filters import all_of, oid
from ..reports import Evidence, Report
from ..reports import queries as report_queries


def get_evidence(actor: Actor, evidence_id) -> tuple[Evidence, Report]:
    """One photo the actor may read, with its report; anything else is the same EvidenceNotFoundError."""
    key = oid(evidence_id)
    # The photo's own stored scope (the same filter as its report's), then its report, scoped again.
    scoped = all_of(report_queries.scope_filter(actor), {"_id": key})
    record = Evidence.objects(__raw__=scoped).first() if key else None
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
    return list(Evidence.objects(report=oid(report_id)).order_by("created_at", "_id"))


def evidence_by_id(evidence_id) -> Evidence | None:
    key = oid(evidence_id)
    return Evidence.objects(pk=key).first() if key else None


def evidence_blob(evidence_id) -> dict | None:
    """The stored file's name (SHA-256) and judgement state of a photo: the verdict job's first read,
    small so the guarded read of the file starts early. The system's read, unscoped."""
    key = oid(evidence_id)
    if key is None:
        return None
    return Evidence._get_collection().find_one({"_id": key}, {"sha256": 1, "validated_at": 1, "validator_version": 1})


# What the verdict job needs of the photo's report, task and office: projected on the server.
_VERDICT_LOOKUPS = (("reports", "report", "_report", {"fixes": 1}),
                    ("tasks", "task", "_task", {"site": 1, "starts_at": 1, "ends_at": 1}),
                    ("units", "office", "_office", {"validation_thresholds": 1}))


def evidence_for_verdict(evidence_id) -> tuple[Evidence, dict | None, dict | None, dict | None] | None:
    """The photo with what judging it needs of its report (device fixes), task (site, window) and office
    (thresholds) as raw projected documents (None when missing), in ONE round trip: an aggregate whose
    leading $match and $lookups go through the _id indexes. The system's read, unscoped: the verdict job."""
    key = oid(evidence_id)
    if key is None:
        return None
    pipeline: list[dict] = [{"$match": {"_id": key}}]
    for coll, local, as_field, projection in _VERDICT_LOOKUPS:
        pipeline.append({"$lookup": {"from": coll, "localField": local, "foreignField": "_id", "as": as_field,
                                     "pipeline": [{"$project": projection}]}})
    raw = next(iter(Evidence._get_collection().aggregate(pipeline)), None)
    if raw is None:
        return None
    report, task, office = ((raw.pop(as_field, None) or [None])[0] for _, _, as_field, _ in _VERDICT_LOOKUPS)
    return Evidence._from_son(raw), report, task, office


def evidence_in_tx(tx, evidence_id) -> Evidence | None:
    raw = Evidence._get_collection().find_one({"_id": oid(evidence_id)}, session=tx.session)
    return Evidence._from_son(raw) if raw else None

