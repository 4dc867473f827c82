"""Roles, permissions and the acting principal. Views never compare roles; services ask here."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"  # 督查室工作人员
    INSPECTOR = "inspector"  # 督查员
    LIAISON = "liaison"  # 联络员 (bound to one organisation)
    LEADER = "leader"  # 领导, read-only
    SYSTEM = "system"  # background workers


class Permission(StrEnum):
    UNIT_READ = "unit:read"
    UNIT_MANAGE = "unit:manage"
    ACCOUNT_READ_SELF = "account:read-self"
    ACCOUNT_READ = "account:read"
    ACCOUNT_MANAGE = "account:manage"
    INSPECTOR_POOL_READ = "inspector-pool:read"
    AUDIT_READ = "audit:read"
    AUDIT_WRITE = "audit:write"
    JOB_RUN = "job:run"
    FORM_READ = "form:read"  # never a liaison: it must not learn the undercover checklist
    FORM_LOAD = "form:load"
    UPLOAD_CREATE = "upload:create"  # send files (tus or plain); each upload is its creator's alone
    # Tasks (检查任务). TASK_READ is scoped per role in domain/tasks/queries.py; a reader without
    # TASK_READ_INSPECTORS (a liaison) gets the department view, which names the office, never the inspectors.
    TASK_READ = "task:read"
    TASK_READ_INSPECTORS = "task:read-inspectors"
    TASK_PLAN = "task:plan"  # plan, update while planned, cancel, close submission
    TASK_REVIEW = "task:review"  # review a submitted task, close a reviewed one
    TASK_ACKNOWLEDGE = "task:acknowledge"
    TASK_SYNC = "task:sync"  # the phone's sync of its own active tasks
    TASK_RECORD_REPORT = "task:record-report"  # report intake marks an assigned inspector as reported
    # Reports (现场检查记录). REPORT_READ is scoped per role in domain/reports/queries.py; a liaison never
    # reads a report. Evidence metadata is for the inspector (own), supervisors (office) and admins only.
    REPORT_SUBMIT = "report:submit"
    REPORT_READ = "report:read"
    REPORT_EVIDENCE_READ = "report:read-evidence"
    REPORT_VALIDATE = "report:validate"  # the validation job records its progress on a report
    # Evidence (照片佐证) working copies and custody. EVIDENCE_READ is scoped in domain/evidence/queries.py
    # (a liaison holds it but sees nothing yet: photos of findings issued to it come with notices).
    EVIDENCE_READ = "evidence:read"
    EVIDENCE_READ_ORIGINAL = "evidence:read-original"  # never a department user
    EVIDENCE_OVERRIDE = "evidence:override"  # a supervisor overrides a verdict, with a written reason
    EVIDENCE_REVALIDATE = "evidence:revalidate"  # judge a report's photos again (validator changed)
    EVIDENCE_VALIDATE = "evidence:validate"  # the verdict and preview jobs


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({P.UNIT_READ, P.UNIT_MANAGE, P.ACCOUNT_READ_SELF, P.ACCOUNT_READ,
                           P.ACCOUNT_MANAGE, P.INSPECTOR_POOL_READ, P.AUDIT_READ, P.FORM_READ, P.UPLOAD_CREATE,
                           P.TASK_READ, P.TASK_READ_INSPECTORS, P.REPORT_READ, P.REPORT_EVIDENCE_READ,
                           P.EVIDENCE_READ, P.EVIDENCE_READ_ORIGINAL, P.EVIDENCE_REVALIDATE}),
    Role.SUPERVISOR: frozenset({P.UNIT_READ, P.ACCOUNT_READ_SELF, P.INSPECTOR_POOL_READ, P.AUDIT_READ, P.FORM_READ,
                                P.UPLOAD_CREATE, P.TASK_READ, P.TASK_READ_INSPECTORS, P.TASK_PLAN, P.TASK_REVIEW,
                                P.REPORT_READ, P.REPORT_EVIDENCE_READ, P.EVIDENCE_READ, P.EVIDENCE_READ_ORIGINAL,
                                P.EVIDENCE_OVERRIDE, P.EVIDENCE_REVALIDATE}),
    Role.LEADER: frozenset({P.UNIT_READ, P.ACCOUNT_READ_SELF, P.FORM_READ, P.TASK_READ, P.TASK_READ_INSPECTORS,
                            P.REPORT_READ, P.EVIDENCE_READ}),
    Role.LIAISON: frozenset({P.UNIT_READ, P.ACCOUNT_READ_SELF, P.UPLOAD_CREATE, P.TASK_READ, P.EVIDENCE_READ}),  # a department's proof
    Role.INSPECTOR: frozenset({P.UNIT_READ, P.ACCOUNT_READ_SELF, P.FORM_READ, P.UPLOAD_CREATE, P.TASK_READ,
                               P.TASK_READ_INSPECTORS, P.TASK_ACKNOWLEDGE, P.TASK_SYNC, P.TASK_RECORD_REPORT,
                               P.REPORT_SUBMIT, P.REPORT_READ, P.REPORT_EVIDENCE_READ, P.EVIDENCE_READ}),
    Role.SYSTEM: frozenset({P.UNIT_READ, P.UNIT_MANAGE, P.AUDIT_WRITE, P.JOB_RUN, P.FORM_LOAD,  # UNIT_MANAGE: CSV import, demo seed
                            P.ACCOUNT_READ, P.ACCOUNT_MANAGE,  # ACCOUNT_*: inspectctl create-admin / unlock
                            P.TASK_READ, P.TASK_READ_INSPECTORS, P.TASK_RECORD_REPORT,
                            P.REPORT_READ, P.REPORT_VALIDATE, P.EVIDENCE_VALIDATE}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting. ``jurisdiction_roots`` is empty for everyone but supervisors and leaders;
    ``office_id`` is the supervision office of a supervisor or leader."""

    id: str | None
    role: Role
    username: str = ""
    home_unit: str | None = None
    office_id: str | None = None
    jurisdiction_roots: tuple[str, ...] = ()
    pool_offices: tuple[str, ...] = field(default_factory=tuple)
    session_id: str | None = None

    @property
    def is_global(self) -> bool:
        """Admins and the system see every unit; nobody else does."""
        return self.role in (Role.ADMIN, Role.SYSTEM)

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(permission=str(permission))


SYSTEM = Actor(id=None, role=Role.SYSTEM, username="system")
