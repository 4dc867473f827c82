"""A report's validation at a glance, and a supervisor's override of one photo's verdict.

The summary returns codes and params only; the edge renders zh-CN and English text from the
message catalogue. Reuse reasons name another report's photo: a reader who may not see that
report gets the reason without the names (``hidden_match``), never an id outside its scope.
"""
from __future__ import annotations

from .. import storage
from ..access import Actor, Permission
from ..errors import EvidenceNotValidatedError, EvidenceOverrideInvalidError
from ..reports import services as report_services
from ..validation import Outcome
from . import queries
from .. import clock

OUTCOMES = ("pass", "review", "fail")
PENDING = "pending"
OVERRIDE_MIN_REASON = 5
WORST_REASONS = 10
_RANK = {"pass": 0, "review": 1, "fail": 2}


def effective_outcome(record) -> str:
    """What counts for the photo: a supervisor's override, else the verdict, else pending."""
    if record.override:
        return record.override["outcome"]
    return record.outcome or PENDING


def _scoped_reasons(actor: Actor, reasons: list[dict], visible: dict) -> list[dict]:
    out = []
    for reason in reasons:
        params = dict(reason.get("params") or {})
        other = params.get("other_report_id")
        if other is not None:
            if other not in visible:
                visible[other] = queries.report_visible(actor, other)
            if not visible[other]:
                params["other_report_id"] = params["other_evidence_id"] = None
                reason = {**reason, "hidden_match": True}
        out.append({**reason, "params": params})
    return out


def _photo(actor: Actor, record, visible: dict) -> dict:
    return {"id": str(record.pk), "client_id": record.client_id, "item": record.item, "finding": record.finding,
            "outcome": effective_outcome(record), "verdict_outcome": record.outcome,
            "reasons": _scoped_reasons(actor, (record.verdict or {}).get("reasons", []), visible),
            "validator_version": record.validator_version, "validated_at": record.validated_at,
            "override": dict(record.override) if record.override else None,
            "thumbnail": bool(record.thumbnail_sha256), "preview": bool(record.preview_sha256)}


def report_summary(actor: Actor, report_id) -> dict:
    """Counts per outcome (pass / review / fail / pending, overrides counted as overridden), the worst
    reasons across the photos (most severe, then most frequent), and each finding and item with the
    photos behind it. Who: REPORT_READ, scoped like the report (a leader read-only in its
    jurisdiction). Raises Forbidden, ReportNotFoundError."""
    report = report_services.read_report(actor, report_id)
    visible: dict = {str(report.pk): True}
    photos = [_photo(actor, r, visible) for r in queries.evidence_of_report(report.pk)]
    counts = {k: 0 for k in (*OUTCOMES, PENDING)}
    for p in photos:
        counts[p["outcome"]] += 1
    worst: dict[str, dict] = {}
    for p in photos:
        for reason in p["reasons"]:
            if reason["outcome"] == str(Outcome.PASS):
                continue
            entry = worst.setdefault(reason["code"], {"code": reason["code"], "outcome": reason["outcome"],
                                                      "params": reason["params"], "count": 0, "evidence_ids": []})
            entry["count"] += 1
            entry["evidence_ids"].append(p["id"])
    ranked = sorted(worst.values(), key=lambda r: (-_RANK[r["outcome"]], -r["count"], r["code"]))
    findings = [{"id": f.client_id, "item": f.item, "category": f.category, "severity": f.severity,
                 "photos": [p for p in photos if f.client_id and p["finding"] == f.client_id]}
                for f in report.findings]
    items: dict[str, list] = {}
    for p in photos:
        if p["item"]:
            items.setdefault(p["item"], []).append(p)
    return {"report_id": str(report.pk), "status": str(report.status), "total": len(photos), "counts": counts,
            "worst_reasons": ranked[:WORST_REASONS], "findings": findings,
            "items": [{"item": k, "photos": v} for k, v in items.items()], "photos": photos}


def override_verdict(actor: Actor, evidence_id, *, outcome: str, reason: str):
    """A supervisor of the photo's office sets the outcome that counts, with a written reason; the
    verdict as judged stays beside it, and the change is audited (``evidence.override``). The same
    override again by the same supervisor is idempotent: it answers the record and writes nothing.
    Scope first (404), then authorise (403). Raises Forbidden, EvidenceNotFoundError,
    EvidenceOverrideInvalidError, EvidenceNotValidatedError, ConcurrentModificationError."""
    actor.require(Permission.EVIDENCE_READ)
    record, _report = queries.get_evidence(actor, evidence_id)
    actor.require(Permission.EVIDENCE_OVERRIDE)
    if outcome not in OUTCOMES:
        raise EvidenceOverrideInvalidError(field="verdict")
    reason = (reason or "").strip()
    if len(reason) < OVERRIDE_MIN_REASON:
        raise EvidenceOverrideInvalidError(field="reason")

    def work(tx: storage.Tx):
        current = queries.evidence_in_tx(tx, record.pk)
        if current.validated_at is None:
            raise EvidenceNotValidatedError(id=str(record.pk))
        earlier = dict(current.override) if current.override else None
        if earlier and (earlier.get("outcome"), earlier.get("reason"), str(earlier.get("by"))) == (
                outcome, reason, str(actor.id)):
            return current  # an identical retry (the phone lost the answer): same result, no second event
        if earlier and hasattr(earlier.get("at"), "isoformat"):
            earlier["at"] = earlier["at"].isoformat()
        before = {"outcome": current.outcome, "override": earlier}
        current.override = {"outcome": outcome, "reason": reason, "by": actor.id, "by_name": actor.username,
                            "at": clock.now()}
        tx.save(current)
        tx.audit(actor, "evidence.override", target_type="evidence", target_id=current.pk, chain=str(current.office),
                 target_unit=current.target_unit, before=before,
                 after={"outcome": outcome, "reason": reason, "verdict_outcome": current.outcome})
        return current

    return storage.atomic(work)
