"""HTTP resources for inspection tasks (检查任务): plan, read, change state."""
from __future__ import annotations

from functools import partial

import hashlib
import json

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded
from api.pagination import page_limit
from api.problems import documents_problems
from domain.access import Permission
from domain.tasks import services
from domain.tasks.queries import Audience

from .schemas import (
    TaskCancelSchema,
    TaskCountSchema,
    TaskCreateSchema,
    TaskDepartmentPageSchema,
    TaskDepartmentSchema,
    TaskFilterSchema,
    TaskPageSchema,
    TaskQueryArgsSchema,
    TaskSchema,
    TaskUpdateSchema,
)

blp = Blueprint("tasks", __name__, url_prefix="/tasks", description="Inspection tasks 检查任务")

PLAN_422 = ("task.unit-rule", "task.window-invalid", "task.form-mode-mismatch", "task.inspector-not-in-pool",
            "task.conflict-of-interest", "request.invalid")
ETAG = {"ETag": {"schema": {"type": "string"}}}
STAFF, DEPARTMENT = TaskSchema(), TaskDepartmentSchema()
STAFF_PAGE, DEPARTMENT_PAGE = TaskPageSchema(), TaskDepartmentPageSchema()


_problem = partial(documents_problems, blp)


def _either(staff, department, description: str):
    """Document a 200 that is the staff or the department representation, chosen by the domain's audience."""
    return blp.alt_response(200, schema={"anyOf": [staff, department]}, success=True, description=description)


def _filters(args: dict) -> dict:
    return {"status": args.get("status"), "mode": args.get("mode"), "target_unit": args.get("target_unit_id"),
            "site": args.get("site_id"), "window_from": args.get("window_from"),
            "window_to": args.get("window_to"), "inspector": args.get("inspector_id")}


def _one(view):
    """The body in the audience's own schema, and its ETag. A liaison's ETag hashes only what it is shown."""
    if view.audience is Audience.STAFF:
        return STAFF.dump(view.task), 200, {"ETag": services.task_etag(view.task)}
    body = DEPARTMENT.dump(view.task)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
    return body, 200, {"ETag": f'"{digest}"'}


@blp.route("")
class Tasks(MethodView):
    @blp.doc(operationId="listTasks")
    @guarded(blp, Permission.TASK_READ)
    @blp.arguments(TaskQueryArgsSchema, location="query")
    @_either(TaskPageSchema, TaskDepartmentPageSchema, "TaskPage for staff; TaskDepartmentPage for a liaison")
    @_problem(422, "pagination.invalid-cursor", "task.filter-not-allowed", "request.invalid")
    def get(self, args, actor):
        """List tasks

        Scoped by role: a supervisor its office's tasks in its jurisdiction, a leader its jurisdiction
        (undercover tasks once submitted), an inspector its assignments, a liaison the open tasks on its
        unit (without inspectors), an admin all. Oldest first; `from`/`to` select overlapping windows.
        """
        result = services.list_tasks(actor, cursor=args.get("cursor"), limit=page_limit(args.get("limit")),
                                     **_filters(args))
        schema = STAFF_PAGE if result.audience is Audience.STAFF else DEPARTMENT_PAGE
        return schema.dump({"items": result.items, "next_cursor": result.next_cursor})

    @blp.doc(operationId="planTask")
    @guarded(blp, Permission.TASK_PLAN)
    @blp.arguments(TaskCreateSchema)
    @blp.response(201, TaskSchema)
    @_problem(404, "unit.not-found", "form.version-not-found")
    @_problem(422, *PLAN_422)
    def post(self, data, actor):
        """Plan a task

        For the supervisor's own office: a target organisation and a site in its jurisdiction, a
        form version (the newest unless named), a window, and inspectors from the office's pool who
        do not work at the target, below it, or at its parent unit.
        """
        return services.plan_task(actor, **data)


@blp.route("/count")
class TaskCount(MethodView):
    @blp.doc(operationId="countTasks")
    @guarded(blp, Permission.TASK_READ)
    @blp.arguments(TaskFilterSchema, location="query")
    @blp.response(200, TaskCountSchema)
    @_problem(422, "task.filter-not-allowed", "request.invalid")
    def get(self, args, actor):
        """Count tasks

        The number of tasks the same filters list, scoped the same way.
        """
        return {"count": services.count_tasks(actor, **_filters(args))}


@blp.route("/<objectid:task_id>")
class TaskById(MethodView):
    @blp.doc(operationId="getTask")
    @guarded(blp, Permission.TASK_READ)
    @_either(TaskSchema, TaskDepartmentSchema, "Task for staff; TaskDepartment for a liaison")
    @_problem(404, "task.not-found")
    def get(self, task_id, actor):
        """One task

        Send its ETag back in If-Match when changing it.
        """
        return _one(services.read_task(actor, task_id))

    @blp.doc(operationId="updateTask")
    @guarded(blp, Permission.TASK_PLAN)
    @blp.arguments(TaskUpdateSchema)
    @blp.response(200, TaskSchema, headers=ETAG)
    @_problem(404, "task.not-found", "unit.not-found", "form.version-not-found")
    @_problem(409, "task.not-editable", "resource.precondition-failed", "resource.concurrent-modification")
    @_problem(422, *PLAN_422)
    def patch(self, data, task_id, actor):
        """Change a planned task

        Only while planned. Only the fields sent change; an inspector taken off gets a removal on its
        next sync. If-Match (optional) must carry the task's current ETag.
        """
        if_match = None
        if "If-Match" in request.headers:
            if_match = ["*"] if request.if_match.star_tag else list(request.if_match)
        task = services.update_task(actor, task_id, if_match=if_match, **data)
        return task, 200, {"ETag": services.task_etag(task)}


@blp.route("/<objectid:task_id>/cancel")
class TaskCancel(MethodView):
    @blp.doc(operationId="cancelTask")
    @guarded(blp, Permission.TASK_PLAN)
    @blp.arguments(TaskCancelSchema)
    @blp.response(200, TaskSchema)
    @_problem(404, "task.not-found")
    @_problem(409, "task.illegal-transition")
    @_problem(422, "task.reason-required", "request.invalid")
    def post(self, data, task_id, actor):
        """Cancel a task

        From planned or in progress, with a reason; assigned phones get a removal marker.
        """
        return services.cancel_task(actor, task_id, data["reason"])


@blp.route("/<objectid:task_id>/acknowledge")
class TaskAcknowledge(MethodView):
    @blp.doc(operationId="acknowledgeTask")
    @guarded(blp, Permission.TASK_ACKNOWLEDGE)
    @blp.response(200, TaskSchema)
    @_problem(404, "task.not-found")
    @_problem(409, "task.illegal-transition")
    def post(self, task_id, actor):
        """Acknowledge a task

        By an assigned inspector: the first acknowledgement starts the task (planned to in
        progress); later ones are recorded; repeating one's own changes nothing.
        """
        return services.acknowledge_task(actor, task_id)


@blp.route("/<objectid:task_id>/close-submission")
class TaskCloseSubmission(MethodView):
    @blp.doc(operationId="closeTaskSubmission")
    @guarded(blp, Permission.TASK_PLAN)
    @blp.response(200, TaskSchema)
    @_problem(404, "task.not-found")
    @_problem(409, "task.illegal-transition")
    def post(self, task_id, actor):
        """Close submission

        In progress to submitted, even if not every inspector has reported.
        """
        return services.close_submission(actor, task_id)


@blp.route("/<objectid:task_id>/review")
class TaskReview(MethodView):
    @blp.doc(operationId="reviewTask")
    @guarded(blp, Permission.TASK_REVIEW)
    @blp.response(200, TaskSchema)
    @_problem(404, "task.not-found")
    @_problem(409, "task.illegal-transition")
    def post(self, task_id, actor):
        """Review a task

        Submitted to reviewed.
        """
        return services.review_task(actor, task_id)


@blp.route("/<objectid:task_id>/close")
class TaskClose(MethodView):
    @blp.doc(operationId="closeTask")
    @guarded(blp, Permission.TASK_REVIEW)
    @blp.response(200, TaskSchema)
    @_problem(404, "task.not-found")
    @_problem(409, "task.illegal-transition")
    def post(self, task_id, actor):
        """Close a task

        Reviewed to closed.
        """
        return services.close_task(actor, task_id)
