"""HTTP resources for the audit log (审计日志): read-only; the app never edits or deletes events."""
from __future__ import annotations

from functools import partial

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded
from api.pagination import page_limit
from api.problems import documents_problems
from domain.access import Permission
from domain.audit import services

from .schemas import AuditEventPageSchema, AuditEventQueryArgsSchema, AuditEventSchema

blp = Blueprint("audit", __name__, url_prefix="/audit-events", description="Audit log 审计日志")

FILTERS = ("action", "target_type", "target_id", "actor_id", "chain", "since", "until")


_problem = partial(documents_problems, blp)


@blp.route("")
class AuditEvents(MethodView):
    @blp.doc(operationId="listAuditEvents")
    @guarded(blp, Permission.AUDIT_READ)
    @blp.arguments(AuditEventQueryArgsSchema, location="query")
    @blp.response(200, AuditEventPageSchema)
    @_problem(403, "access.forbidden", "audit.chain-filter-forbidden")
    @_problem(422, "pagination.invalid-cursor", "request.invalid")
    def get(self, args, actor):
        """List audit events, newest first

        An admin sees every event; a supervisor the events whose target it may see itself: in its
        jurisdiction and, for tasks, reports, photos and uploads, its own office's. Only admins get
        the chain position and hashes (`seq`, `hash`, `prev_hash`).
        """
        result = services.list_events(actor, cursor=args.get("cursor"), limit=page_limit(args.get("limit")),
                                      **{k: args[k] for k in FILTERS if k in args})
        return {"items": result.items, "next_cursor": result.next_cursor}


@blp.route("/<objectid:event_id>")
class AuditEventById(MethodView):
    @blp.doc(operationId="getAuditEvent")
    @guarded(blp, Permission.AUDIT_READ)
    @blp.response(200, AuditEventSchema)
    @_problem(403, "access.forbidden")
    @_problem(404, "audit.event-not-found")
    def get(self, event_id, actor):
        """One audit event

        Scoped like the list: an event outside your jurisdiction is not found.
        """
        return services.get_event(actor, event_id)
