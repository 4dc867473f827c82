"""Liveness and readiness probes."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from domain import health

from .auth import public

blp = Blueprint("health", __name__, description="Liveness and readiness 存活与就绪检查")


class LiveSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok | degraded | down"})
    failing = fields.List(fields.String(), required=True,
                          metadata={"description": "components not up: mongodb, redis, workers, scheduler"})
    components = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)


def readiness() -> tuple[dict, int]:
    """The domain's readiness with the queue probe the app factory installed; 503 only when down."""
    state = health.readiness(current_app.extensions.get("queue_probe"))
    return state, 503 if state["status"] == "down" else 200


@blp.route("/healthz")
class Liveness(MethodView):
    @public
    @blp.doc(operationId="getLiveness")
    @blp.response(200, LiveSchema)
    def get(self):
        """The process answers."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @public
    @blp.doc(operationId="getReadiness")
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=ReadySchema, description="the database is unreachable")
    def get(self):
        """MongoDB, Redis, workers and scheduler: 200 ok or degraded, 503 only when MongoDB is down.

        Intake (reports, uploads) goes on while Redis, the workers or the scheduler are down;
        their work waits in the outbox. Probes should not require ``ok``.
        """
        return readiness()
