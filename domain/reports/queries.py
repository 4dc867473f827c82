"""Every read of reports and evidence, scoped to the actor IN the query (out of scope is 404, never 403).

Who reads which report:
- admin (and the system): every report;
- supervisor: the reports of its office's tasks whose target or site is in its jurisdiction;
- leader: reports whose target or site is in its jurisdiction; of an undercover task only once the task is
  submitted (``leader_visible``, set in the task's transition);
- inspector: its own reports;
- liaison: none: a department sees issued findings through their notices, never the field record.
"""
from __future__ import annotations


from ..filters import all_of, NOTHING, oid
from ..access import Actor, Permission, Role
from ..errors import ReportNotFoundError
from ..jurisdiction import scoped_to_roots
from ..pagination import Page, page
from .models import Evidence, Report





def scope_filter(actor: Actor) -> dict:
    """The raw filter of the reports ``actor`` may read, on fields that evidence records carry too (so
    domain/evidence/queries.py applies the same filter to photos): one match on the stored ``scope_units``
    and ``leader_visible`` (domain/scope.py), never a list of units or of submitted tasks built here."""
    if not actor.can(Permission.REPORT_READ):
        return NOTHING
    if actor.is_global:
        return {}
    if actor.role == Role.SUPERVISOR:
        if not oid(actor.office_id):
            return NOTHING
        return all_of({"office": oid(actor.office_id)}, scoped_to_roots(actor))
    if actor.role == Role.LEADER:
        # Like tasks: an undercover task's records reach a leader only once the task is submitted.
        return all_of(scoped_to_roots(actor), {"leader_visible": True})
    if actor.role == Role.INSPECTOR and oid(actor.id):
        return {"inspector": oid(actor.id)}
    return NOTHING


def get_report(actor: Actor, report_id) -> Report:
    """One report the actor may read; anything else is the same ReportNotFoundError."""
    key = oid(report_id)
    report = Report.objects(__raw__=all_of(scope_filter(actor), {"_id": key})).first() if key else None
    if report is None:
        raise ReportNotFoundError(id=str(report_id))
    return report


def own_report(actor: Actor, report_id) -> Report:
    """A report the actor submitted itself (only its phone sends its files)."""
    key, me = oid(report_id), oid(actor.id)
    report = Report.objects(pk=key, inspector=me).first() if key and me else None
    if report is None:
        raise ReportNotFoundError(id=str(report_id))
    return report


def by_submission(inspector_id, submission_id: str) -> Report | None:
    return Report.objects(inspector=oid(inspector_id), submission_id=submission_id).first()


def by_task(inspector_id, task_id) -> Report | None:
    return Report.objects(inspector=oid(inspector_id), task=oid(task_id)).first()


def report_in_tx(tx, report_id) -> Report | None:
    raw = Report._get_collection().find_one({"_id": oid(report_id)}, session=tx.session)
    return Report._from_son(raw) if raw else None


def list_reports(actor: Actor, *, cursor=None, limit: int = 50, task=None, status=None, late=None) -> Page:
    """One page of the reports in scope, oldest first (stable under new reports)."""
    clauses = [scope_filter(actor)]
    if task:
        clauses.append({"task": oid(task)} if oid(task) else NOTHING)
    if status:
        clauses.append({"status": str(status)})
    if late is not None:
        clauses.append({"late": bool(late)})
    return page(Report.objects(__raw__=all_of(*clauses)), cursor, limit)


def list_evidence(report: Report, *, cursor=None, limit: int = 50) -> Page:
    """Evidence records of a report the caller was allowed to read (``get_report``), in arrival order."""
    return page(Evidence.objects(report=report.pk), cursor, limit)


def evidence(evidence_id) -> Evidence:
    return Evidence.objects.get(pk=oid(evidence_id))


def completed_elsewhere(report: Report) -> dict[str, str]:
    """sha256 -> another report of the same inspector where those bytes arrived, for the files this report
    still awaits: what a stock tus client does when it "resumes" an upload keyed on the file's fingerprint."""
    awaited = [f.sha256 for f in report.files if f.awaited]
    if not awaited:
        return {}
    found = Evidence._get_collection().find(
        {"sha256": {"$in": awaited}, "inspector": report.inspector, "report": {"$ne": report.pk}},
        {"sha256": 1, "report": 1})
    return {d["sha256"]: str(d["report"]) for d in found}
