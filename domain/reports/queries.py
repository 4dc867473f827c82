"""Every read of reports and evidence, scoped to the actor IN the query (out of scope is 404, never 403).

Who reads which report:
- admin (and the system): every report;
- supervisor: the reports of its office's tasks whose target is in its jurisdiction;
- leader: reports on targets in its jurisdiction; of an undercover task only once the task is submitted;
- inspector: its own reports;
- liaison: none (not in this issue; a department later sees issued findings, never the field record).
"""
from __future__ import annotations


from ..filters import all_of, NOTHING, oid
from ..access import Actor, Permission, Role
from ..errors import ReportNotFoundError
from ..jurisdiction import jurisdiction_unit_ids
from ..pagination import Page, page
from ..tasks import Task, TaskMode
from .models import Evidence, Report
from .rules import SUBMITTED_OR_LATER





def _scope(actor: Actor) -> dict:
    if not actor.can(Permission.REPORT_READ):
        return NOTHING
    if actor.is_global:
        return {}
    if actor.role == Role.SUPERVISOR:
        if not oid(actor.office_id):
            return NOTHING
        return {"office": oid(actor.office_id), "target_unit": {"$in": jurisdiction_unit_ids(actor) or []}}
    if actor.role == Role.LEADER:
        units = jurisdiction_unit_ids(actor) or []
        # Like tasks: an undercover task's records reach a leader only once the task is submitted.
        done = [d["_id"] for d in Task._get_collection().find(
            {"target_unit": {"$in": units}, "mode": TaskMode.UNDERCOVER.value,
             "status": {"$in": [s.value for s in SUBMITTED_OR_LATER]}}, {"_id": 1})]
        return {"target_unit": {"$in": units}, "$or": [{"task_mode": TaskMode.OPEN.value}, {"task": {"$in": done}}]}
    if actor.role == Role.INSPECTOR and oid(actor.id):
        return {"inspector": oid(actor.id)}
    return NOTHING


def get_report(actor: Actor, report_id) -> Report:
    """One report the actor may read; anything else is the same ReportNotFoundError."""
    key = oid(report_id)
    report = Report.objects(__raw__=all_of(_scope(actor), {"_id": key})).first() if key else None
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
    clauses = [_scope(actor)]
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
