"""Use cases of the validation jobs: judge one photo, make its preview, queue a report's photos, re-judge.

One job per photo (docs/validation.md, "The verdict job"). The verdict job reads the photo once (guarded),
judges it against its task, and saves facts, verdict, the pHash's band keys and the thumbnail with its
custody event in one transaction; the 1600 px preview is its own job on the low-priority queue, queued
beside it by the report job, so verdicts never wait for it. Every job is idempotent: it checks the
stored state first.
"""
from __future__ import annotations

import hashlib
import io
import threading
from datetime import timedelta

from .. import storage
from ..access import SYSTEM, Actor, Permission
from ..audit.chain import ChainHead, peek_head
from ..ports import QueueName
from ..errors import (
    ConcurrentModificationError,
    EvidenceNotFoundError,
    ReportNotFoundError,
)
from ..reports import Evidence, Report, ReportStatus
from ..reports import queries as report_queries
from ..tasks import Task
from ..units.models import Unit
from ..validation import (
    DEFAULT_THRESHOLDS,
    DeviceFix,
    GuardFailure,
    PhotoAssessment,
    PhotoReading,
    Site,
    ValidationContext,
    band_keys,
    make_preview,
    run_guarded,
    thresholds_for,
)
from ..validation import verdict as verdicts
from . import blob_store, queries
from .. import clock

VALIDATE_PHOTO_JOB = "workers.evidence.validate_photo"
PREVIEW_JOB = "workers.evidence.make_preview"
LOW_QUEUE = QueueName.LOW  # previews never hold up verdicts
PREVIEW_TIMEOUT_S = 20.0
PREVIEW_MEMORY_MB = 2048
# A photo of a report whose validation began this long ago and that still has no verdict lost its job.
STALLED_AFTER = timedelta(minutes=15)
MAX_REQUEUES = 3


def validator_version() -> int:
    """Read when called (not bound at import), so a changed rule set is seen everywhere at once."""
    return verdicts.VALIDATOR_VERSION


def _chain(record) -> str:
    # A photo's custody events go to its task's office chain (docs/audit.md, "Chains").
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


def _before(record: Evidence) -> dict | None:
    """The audit event's ``before``: the judgement the record holds as read (None if never judged)."""
    if record.validated_at is None:
        return None
    return {"outcome": record.outcome, "validator_version": record.validator_version,
            "facts_digest": record.facts_digest}


def _judged_already(validated_at, version, force: bool) -> bool:
    return not force and validated_at is not None and version == validator_version()


def validate_evidence(actor: Actor = SYSTEM, evidence_id=None, *, force: bool = False) -> dict:
    """Judge one photo and keep the result: facts, verdict, validator version, thumbnail, band keys
    and the custody event ``evidence.validate`` (its preview is a job of its own, queued with this one).
    A photo judged by this validator version already is left as it is (its stored result is
    returned) unless ``force``. Expected outcomes (unreadable, hostile, off-site) are verdicts, not errors.

    The guarded child reads the file while this process does its round trips (docs/validation.md
    "The verdict job"): the file's name is read first, so the child starts at once; the photo with its
    report, task and office, the exact-reuse lookup and the audit head's peek go beside the decode,
    the near-duplicate lookup beside the thumbnail. The transaction starts once the facts are in (a
    snapshot held across the decode would conflict with every other write to the office's audit
    chain meanwhile) and writes two documents and the head: the record (verdict, facts, band keys)
    and the custody event.

    Who: the system (EVIDENCE_VALIDATE). Raises Forbidden, EvidenceNotFoundError."""
    actor.require(Permission.EVIDENCE_VALIDATE)
    blob = queries.evidence_blob(evidence_id)
    if blob is None:
        raise EvidenceNotFoundError(id=str(evidence_id))
    if _judged_already(blob.get("validated_at"), blob.get("validator_version"), force):
        return validation_result(_evidence(evidence_id), judged=False)
    store = blob_store()
    with PhotoReading(store.path(blob["sha256"]), max_pixels=DEFAULT_THRESHOLDS.max_pixels) as reading:
        loaded = queries.evidence_for_verdict(evidence_id)
        if loaded is None:
            raise EvidenceNotFoundError(id=str(evidence_id))
        record, report, task, office = loaded
        if _judged_already(record.validated_at, record.validator_version, force):  # another run finished in between
            return validation_result(record, judged=False)
        context = _context(record, report, task, office)
        reading.with_pixel_cap(context.thresholds.max_pixels)
        assessment = PhotoAssessment(reading, context, sha256=record.sha256)
        assessment.exact_matches()
        head = peek_head(_chain(record))
        assessment.near_matches()  # waits for the child's hashes
        judging = _Judging(actor, record, assessment, head, store, force)
        saved, judged = storage.atomic(judging.save)
    if judged and judging.thumbnail and not store.exists(judging.thumbnail):
        _keep_blob(store, assessment.result().facts.thumbnail)  # dropped before the commit: the record names it
    return validation_result(saved, judged=judged)


class _Judging:
    """The verdict job's transaction, run again by ``atomic`` after a conflict: the judgement is
    computed once (PhotoAssessment), the record to save is read again when it changed meanwhile."""

    def __init__(self, actor: Actor, record: Evidence, assessment: PhotoAssessment, head: ChainHead | None,
                 store, force: bool):
        self.actor, self.assessment, self.head = actor, assessment, head
        self.store, self.force = store, force
        self.record: Evidence | None = record  # the copy read before the transaction; None once stale
        self.evidence_id = record.pk
        self.thumbnail: str | None = None
        self._thumbnail_write: _BlobWrite | None = None

    def _current(self, tx: storage.Tx) -> Evidence | None:
        if self.record is not None:
            return self.record
        current = queries.evidence_in_tx(tx, self.evidence_id)
        if current is None:
            raise EvidenceNotFoundError(id=str(self.evidence_id))
        return None if _judged_already(current.validated_at, current.validator_version, self.force) else current

    def save(self, tx: storage.Tx) -> tuple[Evidence, bool]:
        current = self._current(tx)
        if current is None:  # a concurrent run of the same job got there first
            return queries.evidence_in_tx(tx, self.evidence_id), False
        before = _before(current)
        judged = self.assessment.result()  # waits for the facts
        facts, verdict = judged.facts, judged.verdict
        thumbnail = self._thumbnail(facts.thumbnail)
        current.facts, current.facts_digest = facts.to_dict(), verdict.facts_digest
        current.phash_keys = band_keys(facts.phash)
        current.verdict, current.outcome = verdict.to_dict(), str(verdict.outcome)
        current.validator_version, current.validated_at = verdict.validator_version, clock.now()
        current.thumbnail_sha256 = self.thumbnail = thumbnail.sha256 if thumbnail else None
        try:
            tx.save(current)  # conditional on the revision ``current`` was read at
        except ConcurrentModificationError:
            self.record = None  # changed since it was read: read it again on a fresh snapshot
            raise storage.retry_transaction(f"evidence {current.pk} changed while it was judged") from None
        tx.audit(self.actor, "evidence.validate", target_type="evidence", target_id=current.pk,
                 chain=_chain(current), target_unit=current.target_unit, before=before,
                 after={"report": str(current.report), "sha256": current.sha256, "facts_digest": verdict.facts_digest,
                        "validator_version": verdict.validator_version, "outcome": str(verdict.outcome),
                        "codes": verdict.codes, "thumbnail_sha256": self.thumbnail}, expected_head=self.head)
        if thumbnail:
            thumbnail.wait()  # on disk before the commit that names it
        return current, True

    def _thumbnail(self, data: bytes | None) -> "_BlobWrite | None":
        if data and self._thumbnail_write is None:  # once: a retried attempt has the same facts
            self._thumbnail_write = _BlobWrite(self.store, data)
        return self._thumbnail_write


class _BlobWrite:
    """A working copy written to the blob store on its own thread (file I/O and fsync release the
    GIL) while the transaction's round trips go on; ``wait`` before the commit that names it."""

    def __init__(self, store, data: bytes):
        self.store, self.data = store, data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="blob-write", daemon=True)
        self._thread.start()

    def _write(self) -> None:
        try:
            _keep_blob(self.store, self.data)
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread by wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def _evidence(evidence_id) -> Evidence:
    record = queries.evidence_by_id(evidence_id)
    if record is None:
        raise EvidenceNotFoundError(id=str(evidence_id))
    return record


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
    """The report job: once a report is received, queue one verdict job per photo (queue ``default``)
    and one preview job (queue ``low``), together with the mark that validation began and its audit
    event (one transaction). A second run queues nothing.
    Who: the system (REPORT_VALIDATE). Raises Forbidden, ReportNotFoundError."""
    actor.require(Permission.REPORT_VALIDATE)

    def work(tx: storage.Tx) -> dict:
        report = report_queries.report_in_tx(tx, report_id)
        if report is None:
            raise ReportNotFoundError(id=str(report_id))
        # A report closed as incomplete has its arrived photos judged too (domain/reports/files.py).
        if report.validation_started_at is not None or report.status not in (ReportStatus.RECEIVED,
                                                                              ReportStatus.CLOSED_INCOMPLETE):
            return {"report": str(report.pk), "started": False, "queued": 0, "status": str(report.status)}
        ids = [str(d["_id"]) for d in tx.collection(Evidence).find({"report": report.pk}, {"_id": 1},
                                                                    session=tx.session).sort("_id", 1)]
        for evidence_id in ids:
            tx.enqueue(VALIDATE_PHOTO_JOB, evidence_id)
            tx.enqueue(PREVIEW_JOB, evidence_id, queue=LOW_QUEUE)  # independent of the verdict: never waits for it
        report.validation_started_at = clock.now()
        tx.save(report)
        tx.audit(actor, "report.validation-start", target_type="report", target_id=report.pk,
                 chain=str(report.office), target_unit=report.target_unit,
                 after={"status": str(report.status), "evidence": ids})
        return {"report": str(report.pk), "started": True, "queued": len(ids), "status": str(report.status)}

    return storage.atomic(work)


def requeue_stalled_verdicts(actor: Actor = SYSTEM, *, limit: int = 200) -> dict:
    """Queue the verdict job again for photos that should have a verdict by now and have none: their
    report began validation over STALLED_AFTER ago. A job can be lost after the outbox marked it sent
    (Redis acknowledged it, then crashed within its fsync second) or fail all its retries; the job is
    idempotent, so one queued twice does no harm. At most once per STALLED_AFTER per photo and
    MAX_REQUEUES in all: a photo still without a verdict after that is left to a person (the summary
    shows it unjudged) instead of failing every quarter of an hour forever. The sweep's job
    (workers.evidence, every 5 minutes). Who: the system (EVIDENCE_VALIDATE)."""
    actor.require(Permission.EVIDENCE_VALIDATE)
    now = clock.now()
    cutoff = now - STALLED_AFTER
    coll = Evidence._get_collection()
    candidates = list(coll.find({"validated_at": None, "received_at": {"$lt": cutoff},
                                 "verdict_requeues": {"$not": {"$gte": MAX_REQUEUES}},
                                 "$or": [{"verdict_requeued_at": None}, {"verdict_requeued_at": {"$lt": cutoff}}]},
                                {"report": 1, "office": 1, "target_unit": 1, "verdict_requeues": 1})
                      .sort("received_at", 1).limit(limit))
    started = {d["_id"] for d in Report._get_collection().find(
        {"_id": {"$in": list({c["report"] for c in candidates})}, "validation_started_at": {"$lt": cutoff}}, {"_id": 1})}
    queued = []
    for candidate in candidates:
        if candidate["report"] not in started:
            continue  # its files are still arriving, or validation began only just now

        def work(tx: storage.Tx, photo=candidate) -> bool:
            # Conditional on what was selected: a verdict or another sweep in between wins.
            moved = tx.collection(Evidence).update_one(
                {"_id": photo["_id"], "validated_at": None,
                 "$or": [{"verdict_requeued_at": None}, {"verdict_requeued_at": {"$lt": cutoff}}]},
                {"$set": {"verdict_requeued_at": now}, "$inc": {"verdict_requeues": 1, "rev": 1}}, session=tx.session)
            if moved.matched_count != 1:
                return False
            tx.enqueue(VALIDATE_PHOTO_JOB, str(photo["_id"]))
            tx.audit(actor, "evidence.verdict-requeued", target_type="evidence", target_id=photo["_id"],
                     chain=str(photo["office"]), target_unit=photo.get("target_unit"),
                     after={"report": str(photo["report"]), "requeues": photo.get("verdict_requeues", 0) + 1})
            return True

        if storage.atomic(work):
            queued.append(str(candidate["_id"]))
    return {"queued": len(queued), "evidence_ids": queued}


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
