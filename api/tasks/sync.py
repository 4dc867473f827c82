"""HTTP resource for the phone's task sync (/sync/tasks): a baseline with an ETag, or a delta by token."""
from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.http import unquote_etag

from api.auth import guarded
from api.problems import ProblemSchema
from domain.access import Permission
from domain.tasks import sync

from .schemas import SyncArgsSchema, SyncSchema

blp = Blueprint("sync", __name__, url_prefix="/sync", description="Phone sync 手机端同步")
NO_CACHE = "private, no-cache"


@blp.route("/tasks")
class TaskSync(MethodView):
    @blp.doc(operationId="syncTasks")
    @guarded(blp, Permission.TASK_SYNC)
    @blp.arguments(SyncArgsSchema, location="query")
    @blp.response(200, SyncSchema, headers={"ETag": {"schema": {"type": "string"},
                                                     "description": "full sync only"}})
    @blp.alt_response(304, description="not modified: the If-None-Match ETag names the current active set")
    @blp.alt_response(422, schema=ProblemSchema, content_type="application/problem+json",
                      description="Problem codes: sync.token-invalid (sync in full again), request.invalid")
    def get(self, args, actor):
        """Sync my tasks

        Without `updated_since`: every active task of mine (planned, in progress, submitted in the
        last SYNC_SUBMITTED_DAYS days) whole, with the site as planned (WGS-84 point, radius,
        address) and a link to the pinned form version and its content hash, plus one ETag over the
        set (If-None-Match gives 304). With `updated_since` (the previous `sync_token`): only tasks
        changed since, and `removed` markers for tasks that left the set (cancelled, unassigned,
        expired). Always keep the newest `sync_token`.
        """
        result = sync.sync_tasks(actor, args.get("updated_since"))
        headers = {"Cache-Control": NO_CACHE}
        if result.etag:
            headers["ETag"] = result.etag
            if request.if_none_match.contains_weak(unquote_etag(result.etag)[0]):
                return Response(status=304, headers=headers)
        return {"full": result.full, "sync_token": result.sync_token, "tasks": result.tasks,
                "removed": result.removed}, 200, headers
