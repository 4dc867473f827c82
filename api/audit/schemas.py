"""Shapes of audit event listing arguments and of audit events. Shape only."""
from __future__ import annotations

from marshmallow import Schema, fields, pre_dump, validate

from api.fields import BoundedDateTime
from api.pagination import CursorArgsSchema, page_schema

NAME = dict(validate=validate.Length(min=1, max=200))


class AuditEventQueryArgsSchema(CursorArgsSchema):
    action = fields.String(metadata={"description": "e.g. `account.created`"}, **NAME)
    target_type = fields.String(metadata={"description": "e.g. `account`, `unit`"}, **NAME)
    target_id = fields.String(**NAME)
    actor_id = fields.String(metadata={"description": "the account that acted"}, **NAME)
    chain = fields.String(metadata={"description": "admins only: an office id, or `system`"}, **NAME)
    since = BoundedDateTime(metadata={"description": "inclusive; UTC ISO 8601 (no offset means UTC)"})
    until = BoundedDateTime(metadata={"description": "exclusive; UTC ISO 8601 (no offset means UTC)"})


class AuditActorSchema(Schema):
    id = fields.String(allow_none=True, metadata={"description": "null for the system or an unknown user"})
    role = fields.String(required=True, metadata={"description": "a role, `system`, or `anonymous`"})
    name = fields.String(allow_none=True, metadata={"description": "the username at the time"})


class AuditTargetSchema(Schema):
    type = fields.String(required=True)
    id = fields.String(allow_none=True)
    unit = fields.String(allow_none=True, metadata={"description": "the unit whose jurisdiction the event falls in"})


class AuditEventSchema(Schema):
    id = fields.String(required=True)
    chain = fields.String(required=True, metadata={"description": "the office whose chain holds it, or `system`"})
    seq = fields.Integer(metadata={"description": "admins only: position in its chain, from 1"})
    at = fields.DateTime(required=True, metadata={"description": "UTC"})
    actor = fields.Nested(AuditActorSchema, required=True)
    action = fields.String(required=True)
    target = fields.Nested(AuditTargetSchema, required=True)
    request_id = fields.String(allow_none=True)
    before = fields.Dict(required=True, metadata={"description": "summary before the change ({} if none)"})
    after = fields.Dict(required=True, metadata={"description": "summary after the change ({} if none)"})
    hash = fields.String(metadata={"description": "admins only: HMAC-SHA256 link over prev_hash and the event"})
    prev_hash = fields.String(metadata={"description": "admins only"})

    @pre_dump
    def nest(self, view, **kwargs):
        event = view.event
        out = {
            "id": str(event.pk), "chain": event.chain, "at": event.at,
            "actor": {"id": event.actor_id, "role": event.actor_role, "name": event.actor_name},
            "action": event.action,
            "target": {"type": event.target_type, "id": event.target_id, "unit": event.target_unit},
            "request_id": event.request_id, "before": view.before, "after": view.after,
        }
        if view.integrity:  # a reader without it could count the gaps left by what it may not see
            out.update(seq=event.seq, hash=event.hash, prev_hash=event.prev_hash)
        return out


AuditEventPageSchema = page_schema(AuditEventSchema, "AuditEventPage")
