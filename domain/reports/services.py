"""Use cases of reports: submit one (idempotent by submission id), send its declared files, read them,
and the validation job's first step.

A report and the task's report mark commit in one transaction with their audit events; the
report's validation is queued through the outbox in the transaction that makes it received.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from pymongo.errors import DuplicateKeyError

from .. import scope, storage
from ..access import Actor, Permission
from ..config import get_settings
from ..errors import (DomainError, EvidenceAlreadyReceivedError, EvidenceMismatchError, EvidenceWithdrawnError,
                      UnsupportedMediaError, UploadHashMismatchError, UploadSizeMismatchError, EvidenceNotDeclaredError, ReportAlreadySubmittedError,
                      ReportFormMismatchError, ReportInvalidError, ReportOutsideAssignmentError, ReportSubmissionConflictError, TaskNotAssignedError,
                      UploadTooLargeError)
from ..forms import get_form_version
from ..pagination import Page
from ..tasks import Task
from ..tasks import services as tasks
from ..units.geo import position
from ..uploads.services import store_plain_upload
from . import files, intake, queries, rules
from .models import DeclaredFile, Device, Evidence, Finding, Fix, Point, Report, ReportStatus
from .. import clock


# Bytes refused for what they are (not for who sent them): kept on the declared file as its refusal.
REFUSALS = (UnsupportedMediaError, UploadHashMismatchError, UploadSizeMismatchError, EvidenceMismatchError)


@dataclass
class Submission:
    report: Report
    replayed: bool  # the same submission id and payload seen before: this is that report


@dataclass
class EvidencePut:
    evidence: Evidence
    report: Report
    created: bool  # False: the file had arrived before (a retry), nothing was stored again


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _point(raw: dict | None, cls=Point, **extra):
    if raw is None:
        return None
    p = position(raw["lon"], raw["lat"], raw.get("crs"))
    return cls(lon=p.lon, lat=p.lat, accuracy_m=raw.get("accuracy_m"), input=p.input, **extra)


def summary(report: Report) -> dict:
    """What an audit event records of a report."""
    return {"status": str(report.status), "task": str(report.task), "inspector": str(report.inspector),
            "submission_id": report.submission_id, "payload_sha256": report.payload_sha256,
            "form": f"{report.form_id}@{report.form_version}", "files": len(report.files),
            "findings": len(report.findings), "late_reasons": [str(r) for r in report.late_reasons]}


def _replay(actor: Actor, submission_id: str, digest: str, task_id) -> Submission | None:
    """What an earlier report of this inspector says about this submission, if there is one. Either 409
    names the existing report in the problem's ``report_id`` member, so a phone can go on with it."""
    earlier = queries.by_submission(actor.id, submission_id)
    if earlier is not None:
        if earlier.payload_sha256 != digest:
            raise ReportSubmissionConflictError(submission_id=submission_id, report=str(earlier.pk),
                                                _ext={"report_id": str(earlier.pk)})
        return Submission(with_missing(earlier), True)
    other = queries.by_task(actor.id, task_id) if queries.oid(task_id) else None
    if other is not None:
        raise ReportAlreadySubmittedError(report=str(other.pk), submission_id=other.submission_id,
                                          task=str(other.task), _ext={"report_id": str(other.pk)})
    return None


def _with_request_errors(conflict: DomainError, check) -> DomainError:
    """The 409 of an existing report, carrying what else is wrong with the request in ``errors``: a
    conflict must not hide that the payload would have been refused anyway."""
    try:
        errors = check()
    except DomainError as exc:  # the task, the form or a position refused as a whole
        errors = {"request": [{"code": exc.code, **{k: v for k, v in exc.params.items() if not k.startswith("_")}}]}
    if errors:
        conflict.params["_errors"] = errors
    return conflict


def _contents_errors(actor: Actor, task_id, form_id: str, form_version: int, visited_at: datetime, answers: dict,
                     findings: list, files: list) -> tuple[Task, object, dict]:
    """The task, the pinned form version and every per-item error of the request (``errors`` by key)."""
    task = tasks.read_task(actor, task_id).task
    if form_id != task.form_id:
        raise ReportFormMismatchError(form_id=form_id, expected=task.form_id)
    form = get_form_version(actor, form_id, form_version)
    errors = rules.check_contents(form.content, answers, findings, files, get_settings().max_upload_bytes,
                                  visited_at=visited_at, now=clock.now())
    return task, form, rules.by_key(errors)


def _declared(raw: dict) -> DeclaredFile:
    return DeclaredFile(client_id=raw["client_id"], sha256=raw["sha256"].lower(), size=raw["size"],
                        media_type=raw["media_type"], item=raw.get("item"), finding=raw.get("finding"))


def submit_report(actor: Actor, *, submission_id: str, task_id, form_id: str, form_version: int,
                  visited_at: datetime, device: dict, device_time: datetime, answers: dict,
                  findings: list | None = None, fixes: list | None = None, evidence: list | None = None) -> Submission:
    """An assigned inspector submits its report of a task. Repeating a submission id with the same
    payload returns that report (``replayed``); the first report of the task starts it, the last
    outstanding one submits it; a late one is kept and flagged late. With declared files the report
    is incomplete until they all arrive; without, it is received and its validation queued at once.

    Who: an inspector (REPORT_SUBMIT), assigned to the task. Raises Forbidden, ReportSubmissionConflictError,
    ReportAlreadySubmittedError, TaskNotFoundError (not its task), ReportOutsideAssignmentError,
    ReportFormMismatchError, FormVersionNotFoundError, ReportInvalidError (``errors`` per item),
    CoordinateOutOfRangeError, CoordinateSystemUnknownError.
    """
    actor.require(Permission.REPORT_SUBMIT)
    findings, fixes, files = findings or [], fixes or [], evidence or []
    payload = {"submission_id": submission_id, "task_id": str(task_id), "form_id": form_id,
               "form_version": form_version, "visited_at": visited_at, "device": device,
               "device_time": device_time, "answers": answers, "findings": findings, "fixes": fixes,
               "evidence": files}
    digest = rules.payload_sha256(payload)
    try:
        earlier = _replay(actor, submission_id, digest, task_id)
    except (ReportSubmissionConflictError, ReportAlreadySubmittedError) as conflict:
        raise _with_request_errors(conflict, lambda: _contents_errors(
            actor, task_id, form_id, form_version, visited_at, answers, findings, files)[2]) from None
    if earlier is not None:
        return earlier
    task, form, errors = _contents_errors(actor, task_id, form_id, form_version, visited_at, answers, findings, files)
    if errors:
        raise ReportInvalidError(form_id=form_id, version=form_version, count=sum(map(len, errors.values())),
                                 _errors=errors)
    fields = dict(
        submission_id=submission_id, payload_sha256=digest, inspector=queries.oid(actor.id),
        inspector_name=actor.username, task=task.pk, office=task.office, target_unit=task.target_unit,
        site=task.site.site, task_mode=str(task.mode), form_id=form.form_id, form_version=form.version,
        form_hash=form.content_hash, visited_at=_ms(visited_at), device=Device(**device),
        device_time=_ms(device_time), answers=answers,
        fixes=[_point(f, Fix, at=_ms(f["at"])) for f in fixes],
        findings=[Finding(id=rules.new_finding_id(), client_id=f.get("client_id"), item=f["item"], category=f["category"],
                          description=f["description"], severity=f["severity"], location=_point(f.get("location")))
                  for f in findings],
        files=[_declared(f) for f in files])

    def work(tx: storage.Tx) -> Report:
        now = clock.now()
        current = Task._from_son(tx.collection(Task).find_one({"_id": task.pk}, session=tx.session))
        decision = rules.assess(current, actor.id, fields["visited_at"], now)
        # The task's stored scope as this transaction reads it; its submission (maybe below, in
        # record_report) releases the report to leaders in this same transaction.
        report = Report(**fields, received_at=now, scope_units=list(current.scope_units),
                        leader_visible=scope.leader_visible(current.mode, current.status),
                        status=ReportStatus.INCOMPLETE if files else ReportStatus.RECEIVED,
                        completed_at=None if files else now, late=bool(decision.late_reasons),
                        late_reasons=decision.late_reasons)
        tx.insert(report)  # the unique indexes decide between racing submissions
        if decision.mark:
            try:
                tasks.record_report(tx, actor, current.pk, actor.id)
            except TaskNotAssignedError:
                raise ReportOutsideAssignmentError(reason="not-assigned", task=str(current.pk)) from None
        if not files:
            tx.enqueue(intake.VALIDATE_JOB, str(report.pk))
        tx.audit(actor, "report.submit", target_type="report", target_id=report.pk, chain=str(current.office),
                 target_unit=current.target_unit, after=summary(report))
        return report

    try:
        return Submission(with_missing(storage.atomic(work)), False)
    except DuplicateKeyError:
        # Another request of this inspector won the race: answer as if it had come first.
        earlier = _replay(actor, submission_id, digest, task.pk)
        if earlier is None:
            raise
        return earlier


def put_evidence(actor: Actor, report_id, client_id: str, *, stream: BinaryIO,
                 content_length: int | None = None) -> EvidencePut:
    """The report's inspector sends one declared file as a plain body. The bytes must hash to the
    declared SHA-256 and be a photo (sniffed); else nothing is kept. A file that arrived before is
    answered with its evidence and nothing is read or stored again.

    Who: the inspector who submitted the report (REPORT_SUBMIT). Raises ReportNotFoundError,
    EvidenceNotDeclaredError, UploadTooLargeError (before reading when Content-Length exceeds the
    declared size), UploadHashMismatchError, UploadSizeMismatchError, UnsupportedMediaError.
    """
    actor.require(Permission.REPORT_SUBMIT)
    report = queries.own_report(actor, report_id)
    declared = report.file(client_id)
    if declared is None:
        raise EvidenceNotDeclaredError(report=str(report.pk), client_id=client_id)
    if declared.evidence is not None:
        return EvidencePut(queries.evidence(declared.evidence), report, False)
    if declared.withdrawn_at is not None:
        raise EvidenceWithdrawnError(report=str(report.pk), client_id=client_id)
    if content_length is not None and content_length > declared.size:
        raise UploadTooLargeError(limit=declared.size)
    try:
        upload = store_plain_upload(actor, target_kind=intake.KIND, stream=stream, declared_sha256=declared.sha256,
                                    declared_size=declared.size, target_id=f"{report.pk}:{client_id}")
    except REFUSALS as refused:
        # Nothing of the bytes is kept; the declared file keeps why, so the report says what is missing.
        files.record_refusal(actor, report, client_id, refused.code)
        raise
    except EvidenceAlreadyReceivedError:
        # A concurrent retry of the same file committed first: its evidence is the answer.
        report = queries.own_report(actor, report_id)
        return EvidencePut(queries.evidence(report.file(client_id).evidence), report, False)
    return EvidencePut(queries.evidence(upload.result["evidence_id"]), with_missing(queries.own_report(actor, report_id)),
                       True)


def with_missing(report: Report) -> Report:
    """The report with what its body says of the files still missing (``missing_files``): where the bytes
    arrived under another report of the inspector is a query, so it is read here, not in the schema."""
    report._elsewhere = queries.completed_elsewhere(report)
    return report


def read_report(actor: Actor, report_id) -> Report:
    """Who: REPORT_READ, scoped (queries.py). Raises Forbidden, ReportNotFoundError."""
    actor.require(Permission.REPORT_READ)
    return with_missing(queries.get_report(actor, report_id))


def withdraw_file(actor: Actor, report_id, client_id: str, *, reason: str) -> Report:
    """See domain/reports/files.py (withdraw_file)."""
    return with_missing(files.withdraw_file(actor, report_id, client_id, reason=reason))


def replace_file(actor: Actor, report_id, client_id: str, **declaration) -> Report:
    """See domain/reports/files.py (replace_file)."""
    return with_missing(files.replace_file(actor, report_id, client_id, **declaration))


def close_incomplete(actor: Actor, report_id, *, reason: str) -> Report:
    """See domain/reports/files.py (close_incomplete)."""
    return with_missing(files.close_incomplete(actor, report_id, reason=reason))


def list_reports(actor: Actor, *, cursor=None, limit: int = 50, task_id=None, status=None, late=None) -> Page:
    """Who: REPORT_READ, scoped. Raises Forbidden, InvalidCursorError."""
    actor.require(Permission.REPORT_READ)
    return queries.list_reports(actor, cursor=cursor, limit=limit, task=task_id, status=status, late=late)


def list_evidence(actor: Actor, report_id, *, cursor=None, limit: int = 50) -> Page:
    """Metadata of the files that arrived for a report (never the bytes: originals are not served here).
    Who: REPORT_EVIDENCE_READ (the inspector, supervisors, admins), scoped like the report.
    Raises Forbidden, ReportNotFoundError, InvalidCursorError."""
    actor.require(Permission.REPORT_EVIDENCE_READ)
    return queries.list_evidence(queries.get_report(actor, report_id), cursor=cursor, limit=limit)

