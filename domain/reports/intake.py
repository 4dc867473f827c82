"""The ``evidence`` upload target: a declared file of a report arriving by tus or by a plain PUT.

``check`` runs when a tus upload is created (and before a plain upload is read); ``attach`` runs
inside the upload's completion transaction, beside its ``upload.complete`` audit event, so an
evidence record exists exactly when its blob is kept. The last declared file flips the report to
received and queues its validation through the outbox, in that same transaction.
"""
from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from .. import storage
from ..access import Actor
from ..errors import (EvidenceAlreadyReceivedError, EvidenceMismatchError, EvidenceNotDeclaredError,
                      ReportNotFoundError, UploadMetadataInvalidError)
from ..evidence import BlobInfo, Purpose
from ..uploads import Completion, Upload, register_blob_user, register_upload_target
from . import queries
from .models import Evidence, Report, ReportStatus
from .rules import parse_target
from .. import clock

KIND = "evidence"
VALIDATE_JOB = "workers.evidence.validate_report"


def _target(target_id) -> tuple[str, str]:
    parsed = parse_target(target_id)
    if parsed is None:
        raise UploadMetadataInvalidError(field="target_id", reason="report-id:client-id")
    return parsed


def check(actor: Actor, target_id, *, sha256: str | None = None, length: int | None = None) -> None:
    """Refuse before any byte is sent: the report must be the caller's own, the file declared and not
    received yet, and (when the uploads layer passes them) the declared SHA-256 and size must match.
    Raises UploadMetadataInvalidError, ReportNotFoundError, EvidenceNotDeclaredError,
    EvidenceAlreadyReceivedError, EvidenceMismatchError."""
    report_id, client_id = _target(target_id)
    report = queries.own_report(actor, report_id)
    declared = report.file(client_id)
    if declared is None:
        raise EvidenceNotDeclaredError(report=str(report.pk), client_id=client_id)
    if declared.evidence is not None:
        raise EvidenceAlreadyReceivedError(report=str(report.pk), client_id=client_id, evidence=str(declared.evidence))
    _match(declared, client_id, sha256, length)


def _match(declared, client_id: str, sha256: str | None, size: int | None) -> None:
    if (sha256 is not None and sha256 != declared.sha256) or (size is not None and size != declared.size):
        raise EvidenceMismatchError(client_id=client_id, declared_sha256=declared.sha256, sha256=sha256,
                                    declared_size=declared.size, size=size)


def attach(actor: Actor, upload: Upload, info: BlobInfo, tx: storage.Tx) -> Completion:
    """Inside the completion transaction: the evidence record, the file marked received, and, with the
    last declared file, the report received and its validation queued. Raising refuses the upload and
    nothing is kept (the uploads layer drops the blob it created and the upload record)."""
    report_id, client_id = _target(upload.target_id)
    report = queries.report_in_tx(tx, report_id)
    if report is None or str(report.inspector) != str(actor.id):
        raise ReportNotFoundError(id=report_id)
    declared = report.file(client_id)
    if declared is None:
        raise EvidenceNotDeclaredError(report=report_id, client_id=client_id)
    if declared.evidence is not None:
        raise EvidenceAlreadyReceivedError(report=report_id, client_id=client_id, evidence=str(declared.evidence))
    # The uploads layer proved the bytes hash to what the upload declared; this proves that is what
    # the report declared for this file.
    _match(declared, client_id, info.sha256, info.size)
    now = clock.now()
    record = Evidence(report=report.pk, client_id=client_id, task=report.task, office=report.office,
                      target_unit=report.target_unit, inspector=report.inspector, sha256=info.sha256,
                      size=info.size, media_type=info.media_type, declared_media_type=declared.media_type,
                      item=declared.item, finding=declared.finding, upload=upload.pk, protocol=upload.protocol,
                      received_at=now)
    try:
        tx.insert(record)
    except DuplicateKeyError:
        raise EvidenceAlreadyReceivedError(report=report_id, client_id=client_id, evidence=None) from None
    coll = tx.collection(Report)
    # An update of the one array element, not a replace of the report: two files of one report
    # completing at once conflict on the document and the later transaction is retried.
    # arrayFilters, not the positional "$": SecantusDB refuses "$" in findAndModify.
    raw = coll.find_one_and_update(
        {"_id": report.pk, "files": {"$elemMatch": {"client_id": client_id, "evidence": None}}},
        {"$set": {"files.$[f].evidence": record.pk, "files.$[f].received_at": now, "updated_at": now},
         "$inc": {"rev": 1}},
        array_filters=[{"f.client_id": client_id}], session=tx.session, return_document=ReturnDocument.AFTER)
    if raw is None:
        raise EvidenceAlreadyReceivedError(report=report_id, client_id=client_id, evidence=None)
    status = ReportStatus(raw["status"])
    if status is ReportStatus.INCOMPLETE and all(f.get("evidence") for f in raw["files"]):
        status = ReportStatus.RECEIVED
        coll.update_one({"_id": report.pk}, {"$set": {"status": status.value, "completed_at": now},
                                             "$inc": {"rev": 1}}, session=tx.session)
        tx.enqueue(VALIDATE_JOB, str(report.pk))
        tx.audit(actor, "report.receive", target_type="report", target_id=report.pk, chain=str(report.office),
                 target_unit=report.target_unit, before={"status": ReportStatus.INCOMPLETE.value},
                 after={"status": status.value, "files": len(raw["files"])})
    return Completion(result={"report_id": report_id, "client_id": client_id, "evidence_id": str(record.pk),
                              "report_status": status.value},
                      chain=str(report.office), target_unit=str(report.target_unit))


def _working_copy_needed(tx, sha256: str) -> bool:
    """Thumbnails and previews are blobs without an upload record: they are needed while evidence names them."""
    return Evidence._get_collection().find_one({"$or": [{"thumbnail_sha256": sha256}, {"preview_sha256": sha256}]},
                                               {"_id": 1}, session=tx.session) is not None


def register() -> None:
    """Called by the composition root (domain.bootstrap), once per process."""
    register_upload_target(KIND, attach, purpose=Purpose.INSPECTION_EVIDENCE, check=check)
    register_blob_user(_working_copy_needed)
