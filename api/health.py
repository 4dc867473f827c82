"""Liveness and readiness probes."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from domain import health
from domain.config import get_settings

from .auth import public

blp = Blueprint("health", __name__, description="Liveness and readiness 存活与就绪检查")


class LiveSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok | degraded | down"})
    failing = fields.List(fields.String(), required=True)
    components = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)


@blp.route("/healthz")
class Liveness(MethodView):
    @public
    @blp.response(200, LiveSchema)
    def get(self):
        """The process answers."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @public
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=ReadySchema, description="the database is unreachable")
    def get(self):
        """MongoDB, Redis, workers and scheduler; 503 only when MongoDB is unreachable."""
        settings = get_settings()
        components = {"mongodb": health.database_state()}
        if settings.redis_url:
            from workers.queues import connection
            components.update(health.queue_states(connection(settings.redis_url, fast=True),
                                                  settings.worker_heartbeat_max_age))
        else:
            components["redis"] = {"state": "down", "reason": "REDIS_URL not configured"}
        failing = sorted(k for k, v in components.items() if v["state"] != "up")
        if components["mongodb"]["state"] != "up":
            return {"status": "down", "failing": failing, "components": components}, 503
        return {"status": "degraded" if failing else "ok", "failing": failing, "components": components}
