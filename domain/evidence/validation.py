"""Use cases of the validation jobs: judge one photo, make its preview, queue a report's photos, re-judge.

One job per photo (decisions.md "A job per photo"). The verdict job reads the photo once (guarded),
judges it against its task, and saves facts, verdict, thumbnail and fingerprint with its custody
event in one transaction; the 1600 px preview is its own job on the low-priority queue, so verdicts
never wait for it. Every job is idempotent: it checks the stored state first.
"""
from __future__ import annotations

import hashlib
import io

from .. import storage
from ..access import SYSTEM, Actor, Permission
from ..errors import (
    ConcurrentModificationError,
    EvidenceNotFoundError,
    ReportNotFoundError,
)
from ..outbox import OutboxEntry
from ..reports import Evidence, Report, ReportStatus
from ..reports import queries as report_queries
from ..tasks import Task
from ..units.models import Unit
from ..validation import (
    DeviceFix,
    GuardFailure,
    Site,
    ValidationContext,
    assess_photo,
    make_preview,
    record_fingerprint,
    run_guarded,
    thresholds_for,
)
from ..validation import verdict as verdicts
from . import blob_store, queries

VALIDATE_PHOTO_JOB = "workers.evidence.validate_photo"
PREVIEW_JOB = "workers.evidence.make_preview"
LOW_QUEUE = "low"  # workers/queues.py LOW: previews never hold up verdicts
PREVIEW_TIMEOUT_S = 20.0
PREVIEW_MEMORY_MB = 2048


def validator_version() -> int:
    """Read when called (not bound at import), so a changed rule set is seen everywhere at once."""
    return verdicts.VALIDATOR_VERSION


def _chain(record) -> str:
    # decisions.md "Audit": a photo's custody events go to its task's office chain.
    return str(record.office)


def validation_result(record: Evidence, *, judged: bool) -> dict:
    return {"evidence": str(record.pk), "judged": judged, "outcome": record.outcome,
            "validator_version": record.validator_version, "facts_digest": record.facts_digest}


def _context(record: Evidence, report: dict | None, task: dict | None, office: dict | None) -> ValidationContext:
    """The context from the projected report, task and office that queries.evidence_for_verdict loaded."""
    if report is None:
        raise Report.DoesNotExist(f"report {record.report} of evidence {record.pk}")
    if task is None:
        raise Task.DoesNotExist(f"task {record.task} of evidence {record.pk}")
    site = task["site"]
    fixes = tuple(DeviceFix(lat=f["lat"], lon=f["lon"], accuracy_m=f.get("accuracy_m") or 0.0, time=f["at"])
                  for f in report.get("fixes") or ())
    return ValidationContext(
        site=Site(lat=site["lat"], lon=site["lon"], radius_m=site["radius_m"]),
        starts_at=task["starts_at"], ends_at=task["ends_at"], device_fixes=fixes, received_at=record.received_at,
        report_id=str(record.report), task_id=str(record.task),
        thresholds=thresholds_for((office or {}).get("validation_thresholds") or None))


def _keep_blob(store, data: bytes) -> str:
    sha256 = hashlib.sha256(data).hexdigest()
    if store.exists(sha256):  # content-addressed: the same copy again (a re-judgement) costs no write
        return sha256
    return store.put_stream(io.BytesIO(data), max_bytes=len(data)).sha256


def _preview_queued(tx, evidence_id) -> bool:
    """One preview job per photo: a forced re-judgement does not queue another while one is on record
    (sent entries are kept 30 days; a preview still missing after that is queued again)."""
    return tx.collection(OutboxEntry).find_one({"job": PREVIEW_JOB, "args": [str(evidence_id)]}, {"_id": 1},
                                               session=tx.session) is not None


def _prior(record: Evidence) -> tuple[bool, dict | None]:
    """(never judged, the audit event's ``before``) of the record as read."""
    if record.validated_at is None:
        return True, None
    return False, {"outcome": record.outcome, "validator_version": record.validator_version,
                   "facts_digest": record.facts_digest}


def _judged_already(record: Evidence, force: bool) -> bool:
    return not force and record.validated_at is not None and record.validator_version == validator_version()


def validate_evidence(actor: Actor = SYSTEM, evidence_id=None, *, force: bool = False) -> dict:
    """Judge one photo and keep the result: facts, verdict, validator version, thumbnail, fingerprint,
    the custody event ``evidence.validate`` and, the first time, its preview job (queue ``low``).
    A photo judged by this validator version already is left as it is (its stored result is
    returned) unless ``force``. Expected outcomes (unreadable, hostile, off-site) are verdicts, not errors.

    Round trips are the cost here (docs/validation.md "Measurements"): one read for the photo, its
    report, task and office; the reuse lookups; a transaction that writes without reading back what
    it read before the image work (the save is conditional on the revision read then).

    Who: the system (EVIDENCE_VALIDATE). Raises Forbidden, EvidenceNotFoundError."""
    actor.require(Permission.EVIDENCE_VALIDATE)
    loaded = queries.evidence_for_verdict(evidence_id)
    if loaded is None:
        raise EvidenceNotFoundError(id=str(evidence_id))
    record, report, task, office = loaded
    if _judged_already(record, force):
        return validation_result(record, judged=False)
    store = blob_store()
    assessment = assess_photo(store.path(record.sha256), _context(record, report, task, office))
    facts, verdict = assessment.facts, assessment.verdict
    thumbnail = _keep_blob(store, facts.thumbnail) if facts.thumbnail else None
    fingerprint = assessment.fingerprint(evidence_id=str(record.pk), report_id=str(record.report),
                                         task_id=str(record.task))
    as_read = _prior(record)  # taken now: a retried attempt finds ``record`` changed by the one before

    def save(tx: storage.Tx, current: Evidence, prior: tuple[bool, dict | None]) -> tuple[Evidence, bool]:
        first, before = prior
        current.facts, current.facts_digest = facts.to_dict(), facts.digest
        current.verdict, current.outcome = verdict.to_dict(), str(verdict.outcome)
        current.validator_version, current.validated_at = verdict.validator_version, storage.utcnow()
        current.thumbnail_sha256 = thumbnail
        tx.save(current)  # conditional on the revision ``current`` was read at
        record_fingerprint(tx, fingerprint)
        # Every judgement that set validated_at queued the preview in its own transaction: a photo never
        # judged has none on record, so only a re-judgement without a preview asks the outbox.
        if current.preview_sha256 is None and (first or not _preview_queued(tx, current.pk)):
            tx.enqueue(PREVIEW_JOB, str(current.pk), queue=LOW_QUEUE)
        tx.audit(actor, "evidence.validate", target_type="evidence", target_id=current.pk, chain=_chain(current),
                 target_unit=current.target_unit, before=before,
                 after={"report": str(current.report), "sha256": current.sha256, "facts_digest": facts.digest,
                        "validator_version": verdict.validator_version, "outcome": str(verdict.outcome),
                        "codes": verdict.codes, "thumbnail_sha256": thumbnail})
        return current, True

    def work(tx: storage.Tx):
        # Unchanged since the read above (the usual case): save that copy without reading it again; the
        # save matches only the revision read then. Changed meanwhile: read it here and decide again.
        try:
            return save(tx, record, as_read)
        except ConcurrentModificationError:
            pass
        current = queries.evidence_in_tx(tx, record.pk)
        if current is None:
            raise EvidenceNotFoundError(id=str(evidence_id))
        if _judged_already(current, force):
            return current, False  # a concurrent run of the same job got there first
        return save(tx, current, _prior(current))

    saved, judged = storage.atomic(work)
    if thumbnail and not store.exists(thumbnail):
        _keep_blob(store, facts.thumbnail)  # dropped between storing and the commit: the record names it now
    return validation_result(saved, judged=judged)


def make_evidence_preview(actor: Actor = SYSTEM, evidence_id=None) -> dict:
    """Make the photo's 1600 px preview (EXIF-rotated, no metadata) in the guarded child and keep it.
    Idempotent: a photo with a preview keeps it. A file the guard had to stop gets no preview
    (returned as ``failure``; its verdict already says why). Who: the system (EVIDENCE_VALIDATE).
    Raises Forbidden, EvidenceNotFoundError."""
    actor.require(Permission.EVIDENCE_VALIDATE)
    record = queries.evidence_by_id(evidence_id)
    if record is None:
        raise EvidenceNotFoundError(id=str(evidence_id))
    store = blob_store()
    if record.preview_sha256 and store.exists(record.preview_sha256):
        return {"evidence": str(record.pk), "made": False, "preview_sha256": record.preview_sha256}
    office = Unit.objects(pk=record.office).only("validation_thresholds").first()
    max_pixels = thresholds_for(office.validation_thresholds if office else None).max_pixels
    data = run_guarded(make_preview, str(store.path(record.sha256)), timeout_s=PREVIEW_TIMEOUT_S,
                       memory_mb=PREVIEW_MEMORY_MB, max_pixels=max_pixels)
    if isinstance(data, GuardFailure):
        return {"evidence": str(record.pk), "made": False, "failure": data.kind}
    sha256 = _keep_blob(store, data)

    def work(tx: storage.Tx) -> bool:
        current = queries.evidence_in_tx(tx, record.pk)
        if current is None:
            raise EvidenceNotFoundError(id=str(evidence_id))
        if current.preview_sha256 == sha256:
            return False
        current.preview_sha256 = sha256
        tx.save(current)
        tx.audit(actor, "evidence.preview", target_type="evidence", target_id=current.pk, chain=_chain(current),
                 target_unit=current.target_unit, after={"preview_sha256": sha256, "bytes": len(data)})
        return True

    made = storage.atomic(work)
    if not store.exists(sha256):
        _keep_blob(store, data)
    return {"evidence": str(record.pk), "made": made, "preview_sha256": sha256}


def validate_report(actor: Actor = SYSTEM, report_id=None) -> dict:
    """The report job: once a report is received, queue one verdict job per photo, together with the
    mark that validation began and its audit event (one transaction). A second run queues nothing.
    Who: the system (REPORT_VALIDATE). Raises Forbidden, ReportNotFoundError."""
    actor.require(Permission.REPORT_VALIDATE)

    def work(tx: storage.Tx) -> dict:
        report = report_queries.report_in_tx(tx, report_id)
        if report is None:
            raise ReportNotFoundError(id=str(report_id))
        if report.validation_started_at is not None or report.status is not ReportStatus.RECEIVED:
            return {"report": str(report.pk), "started": False, "queued": 0, "status": str(report.status)}
        ids = [str(d["_id"]) for d in tx.collection(Evidence).find({"report": report.pk}, {"_id": 1},
                                                                    session=tx.session).sort("_id", 1)]
        for evidence_id in ids:
            tx.enqueue(VALIDATE_PHOTO_JOB, evidence_id)
        report.validation_started_at = storage.utcnow()
        tx.save(report)
        tx.audit(actor, "report.validation-start", target_type="report", target_id=report.pk,
                 chain=str(report.office), target_unit=report.target_unit,
                 after={"status": str(report.status), "evidence": ids})
        return {"report": str(report.pk), "started": True, "queued": len(ids), "status": str(report.status)}

    return storage.atomic(work)


def revalidate_report(actor: Actor, report_id, *, everything: bool = False) -> dict:
    """Judge a report's photos again after a rule change: those judged by another validator version
    (or never judged), or all of them with ``everything``; one forced verdict job each, audited.

    Who: a supervisor of the report's office, an admin (EVIDENCE_REVALIDATE), scoped like the report.
    Raises Forbidden, ReportNotFoundError."""
    actor.require(Permission.EVIDENCE_REVALIDATE)
    report = report_queries.get_report(actor, report_id)

    def work(tx: storage.Tx) -> dict:
        stale = []
        for doc in tx.collection(Evidence).find({"report": report.pk}, {"validator_version": 1},
                                                session=tx.session).sort("_id", 1):
            if everything or doc.get("validator_version") != validator_version():
                stale.append(str(doc["_id"]))
        for evidence_id in stale:
            tx.enqueue(VALIDATE_PHOTO_JOB, evidence_id, force=True)
        if stale:
            tx.audit(actor, "report.revalidate", target_type="report", target_id=report.pk, chain=str(report.office),
                     target_unit=report.target_unit,
                     after={"evidence": stale, "validator_version": validator_version(), "all": everything})
        return {"report": str(report.pk), "queued": len(stale), "evidence_ids": stale,
                "validator_version": validator_version()}

    return storage.atomic(work)
