"""Declared files a phone can recover from: the inspector withdraws or replaces a declared file (with a
reason, audited) until the task's review; a supervisor closes a report as incomplete; refusals are kept
on the file so the report says which files are still missing and why."""
from __future__ import annotations

from pymongo import ReturnDocument

from .. import clock, storage
from ..access import Actor, Permission
from ..config import get_settings
from ..errors import (EvidenceAlreadyReceivedError, EvidenceNotDeclaredError, ReportFilesSettledError,
                      ReportInvalidError, ReportNotFoundError, ReportNotIncompleteError, ReportReasonRequiredError)
from ..tasks import Task, TaskStatus
from . import queries
from .intake import VALIDATE_JOB
from .models import Report, ReportStatus

REASON_MIN, REASON_MAX = 5, 500
# "Until the report is reviewed" is the task's review: from then on the record stands as it is.
_REVIEWED = (TaskStatus.REVIEWED, TaskStatus.CLOSED)


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise ReportReasonRequiredError(min_length=REASON_MIN, max_length=REASON_MAX)
    return text


def _own_in_tx(tx: storage.Tx, actor: Actor, report_id) -> Report:
    report = queries.report_in_tx(tx, report_id)
    if report is None or str(report.inspector) != str(actor.id):
        raise ReportNotFoundError(id=str(report_id))
    return report


def _require_open(tx: storage.Tx, report: Report) -> None:
    task = tx.collection(Task).find_one({"_id": report.task}, {"status": 1}, session=tx.session)
    if task is not None and TaskStatus(task["status"]) in _REVIEWED:
        raise ReportFilesSettledError(report=str(report.pk), reason="task-reviewed")
    if report.status is ReportStatus.CLOSED_INCOMPLETE:
        raise ReportFilesSettledError(report=str(report.pk), reason="report-closed")
    if report.status is ReportStatus.RECEIVED:
        raise ReportFilesSettledError(report=str(report.pk), reason="report-received")


def _change_file(tx: storage.Tx, report: Report, client_id: str, update: dict) -> dict:
    """One update of the awaited file ``client_id`` (not received meanwhile); the report as stored after."""
    now = clock.now()
    raw = tx.collection(Report).find_one_and_update(
        {"_id": report.pk, "files": {"$elemMatch": {"client_id": client_id, "evidence": None}}},
        {**update, "$set": {**update.get("$set", {}), "updated_at": now}, "$inc": {"rev": 1}},
        array_filters=[{"f.client_id": client_id}], session=tx.session, return_document=ReturnDocument.AFTER)
    if raw is None:  # the file arrived in between
        raise EvidenceAlreadyReceivedError(report=str(report.pk), client_id=client_id, evidence=None)
    return raw


def _receive_if_complete(tx: storage.Tx, actor: Actor, report: Report, raw: dict) -> dict:
    """With nothing awaited any more the report is received and its validation queued, as when the last
    file arrives (intake.attach)."""
    if raw["status"] != ReportStatus.INCOMPLETE.value or any(
            not f.get("evidence") and not f.get("withdrawn_at") for f in raw["files"]):
        return raw
    now = clock.now()
    raw = tx.collection(Report).find_one_and_update(
        {"_id": report.pk}, {"$set": {"status": ReportStatus.RECEIVED.value, "completed_at": now}, "$inc": {"rev": 1}},
        session=tx.session, return_document=ReturnDocument.AFTER)
    tx.enqueue(VALIDATE_JOB, str(report.pk))
    tx.audit(actor, "report.receive", target_type="report", target_id=report.pk, chain=str(report.office),
             target_unit=report.target_unit, before={"status": ReportStatus.INCOMPLETE.value},
             after={"status": ReportStatus.RECEIVED.value, "files": len(raw["files"])})
    return raw


def withdraw_file(actor: Actor, report_id, client_id: str, *, reason: str) -> Report:
    """The report's inspector withdraws a declared file that has not arrived (refused, lost, never taken):
    it is no longer awaited, and if nothing else is, the report is received. Withdrawing it again
    answers the same report. Who: the inspector who submitted it (REPORT_SUBMIT), until the task's
    review. Raises ReportReasonRequiredError, ReportNotFoundError, EvidenceNotDeclaredError,
    EvidenceAlreadyReceivedError, ReportFilesSettledError."""
    actor.require(Permission.REPORT_SUBMIT)
    text = _reason(reason)

    def work(tx: storage.Tx) -> Report:
        report = _own_in_tx(tx, actor, report_id)
        declared = report.file(client_id)
        if declared is None:
            raise EvidenceNotDeclaredError(report=str(report.pk), client_id=client_id)
        if declared.withdrawn_at is not None:
            return report  # a retry
        if declared.evidence is not None:
            raise EvidenceAlreadyReceivedError(report=str(report.pk), client_id=client_id,
                                               evidence=str(declared.evidence))
        _require_open(tx, report)
        raw = _change_file(tx, report, client_id, {"$set": {"files.$[f].withdrawn_at": clock.now(),
                                                            "files.$[f].withdrawn_reason": text}})
        raw = _receive_if_complete(tx, actor, report, raw)
        tx.audit(actor, "report.file-withdraw", target_type="report", target_id=report.pk, chain=str(report.office),
                 target_unit=report.target_unit, after={"client_id": client_id, "reason": text})
        return Report._from_son(raw)

    return storage.atomic(work)


def replace_file(actor: Actor, report_id, client_id: str, *, reason: str, sha256: str, size: int,
                 media_type: str) -> Report:
    """The report's inspector declares other bytes for a file that has not arrived (a TIFF declared as a
    JPEG, a photo taken again), also one it withdrew. The earlier declaration is kept in ``replaced``;
    an upload still sending the old bytes is refused when it completes (they no longer match). The same
    declaration again answers the same report. Who and until when: as ``withdraw_file``.
    Raises those errors and ReportInvalidError (a file over the size limit)."""
    actor.require(Permission.REPORT_SUBMIT)
    text, sha256 = _reason(reason), sha256.lower()
    limit = get_settings().max_upload_bytes
    if size > limit:
        raise ReportInvalidError(count=1, _errors={f"evidence.{client_id}": [{"code": "too-large", "max": limit,
                                                                              "size": size}]})

    def work(tx: storage.Tx) -> Report:
        report = _own_in_tx(tx, actor, report_id)
        declared = report.file(client_id)
        if declared is None:
            raise EvidenceNotDeclaredError(report=str(report.pk), client_id=client_id)
        if declared.withdrawn_at is None and (declared.sha256, declared.size, declared.media_type) == (
                sha256, size, media_type):
            return report  # a retry, or nothing to change
        if declared.evidence is not None:
            raise EvidenceAlreadyReceivedError(report=str(report.pk), client_id=client_id,
                                               evidence=str(declared.evidence))
        _require_open(tx, report)
        now = clock.now()
        before = {"sha256": declared.sha256, "size": declared.size, "media_type": declared.media_type,
                  "withdrawn": declared.withdrawn_at is not None}
        raw = _change_file(tx, report, client_id, {
            "$set": {"files.$[f].sha256": sha256, "files.$[f].size": size, "files.$[f].media_type": media_type,
                     "files.$[f].withdrawn_at": None, "files.$[f].withdrawn_reason": None, "files.$[f].refusal": {}},
            "$push": {"files.$[f].replaced": {**before, "reason": text, "at": now}}})
        tx.audit(actor, "report.file-replace", target_type="report", target_id=report.pk, chain=str(report.office),
                 target_unit=report.target_unit, before={"client_id": client_id, **before},
                 after={"client_id": client_id, "sha256": sha256, "size": size, "media_type": media_type,
                        "reason": text})
        return Report._from_son(raw)

    return storage.atomic(work)


def close_incomplete(actor: Actor, report_id, *, reason: str) -> Report:
    """A supervisor closes a report whose files will not all come: it becomes ``closed-incomplete``, the
    missing files stay listed, and the photos that did arrive are judged. Closing it again answers the
    same report. Who: TASK_REVIEW, on a report in its scope. Raises ReportReasonRequiredError, Forbidden,
    ReportNotFoundError, ReportNotIncompleteError."""
    actor.require(Permission.TASK_REVIEW)
    text = _reason(reason)
    scoped = queries.get_report(actor, report_id)

    def work(tx: storage.Tx) -> Report:
        report = queries.report_in_tx(tx, scoped.pk)
        if report.status is ReportStatus.CLOSED_INCOMPLETE:
            return report
        if report.status is not ReportStatus.INCOMPLETE:
            raise ReportNotIncompleteError(report=str(report.pk), status=str(report.status))
        now = clock.now()
        raw = tx.collection(Report).find_one_and_update(
            {"_id": report.pk, "status": ReportStatus.INCOMPLETE.value},
            {"$set": {"status": ReportStatus.CLOSED_INCOMPLETE.value, "closed_at": now,
                      "closed_by": queries.oid(actor.id), "close_reason": text, "updated_at": now},
             "$inc": {"rev": 1}}, session=tx.session, return_document=ReturnDocument.AFTER)
        if raw is None:  # the last file arrived in between
            raise ReportNotIncompleteError(report=str(report.pk), status=ReportStatus.RECEIVED.value)
        tx.enqueue(VALIDATE_JOB, str(report.pk))
        missing = [f.client_id for f in report.files if f.awaited]
        tx.audit(actor, "report.close-incomplete", target_type="report", target_id=report.pk,
                 chain=str(report.office), target_unit=report.target_unit,
                 before={"status": ReportStatus.INCOMPLETE.value},
                 after={"status": ReportStatus.CLOSED_INCOMPLETE.value, "reason": text, "missing": missing})
        return Report._from_son(raw)

    return storage.atomic(work)


def record_refusal(actor: Actor, report: Report, client_id: str, code: str) -> None:
    """Keep on the declared file why the bytes sent for it were refused, so the report can say so. Its own
    small transaction, after the refusal (nothing of the refused bytes is kept)."""
    def work(tx: storage.Tx) -> None:
        now = clock.now()
        done = tx.collection(Report).update_one(
            {"_id": report.pk, "files": {"$elemMatch": {"client_id": client_id, "evidence": None}}},
            {"$set": {"files.$[f].refusal": {"code": code, "at": now}, "updated_at": now}, "$inc": {"rev": 1}},
            array_filters=[{"f.client_id": client_id}], session=tx.session)
        if done.modified_count:
            tx.audit(actor, "report.file-refused", target_type="report", target_id=report.pk,
                     chain=str(report.office), target_unit=report.target_unit,
                     after={"client_id": client_id, "code": code})

    storage.atomic(work)
