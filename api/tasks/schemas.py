"""Shapes of task requests and responses. Shape only: the rules live in domain/tasks.

Two output schemas for one task: ``TaskSchema`` for staff (with the inspectors) and
``TaskDepartmentSchema`` for a liaison, which has no inspector field at all and names the office.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.fields import INT32_MAX, BoundedDateTime, BoundedInt, Text, Title
from api.pagination import CursorArgsSchema, page_schema

OBJECT_ID = validate.Regexp(r"^[0-9a-f]{24}$", error="not an id")
MODES = ("open", "undercover")
STATUSES = ("planned", "in_progress", "submitted", "reviewed", "closed", "cancelled")
FORMS_PREFIX = "/api/v1/forms"


def _when(**kwargs):
    """Plans, windows and filters: UTC, in 2000-2100 (docs/text.md)."""
    return BoundedDateTime(**kwargs)


class Id(fields.Field):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class RefSchema(Schema):
    id = fields.String()
    name = fields.String()


class PointSchema(Schema):
    lon = fields.Float()
    lat = fields.Float()
    crs = fields.String(metadata={"description": "always wgs84"})


class SiteSchema(Schema):
    """The site as planned: the phone checks positions against this point and radius."""
    id = Id(attribute="site")
    name = fields.String()
    address = fields.String(allow_none=True)
    location = fields.Function(lambda s: {"lon": s.lon, "lat": s.lat, "crs": "wgs84"}, metadata={
        "description": "WGS-84 point"})
    radius_m = fields.Integer(metadata={"description": "geofence radius in metres"})


class FormRefSchema(Schema):
    form_id = fields.String()
    version = fields.Integer()
    content_hash = fields.String(metadata={"description": "the version's ETag on its href, unquoted"})
    href = fields.String(metadata={"description": "GET it once and cache it: a version never changes"})


class AssignmentSchema(Schema):
    inspector_id = Id(attribute="inspector")
    name = fields.String(allow_none=True)
    assigned_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    reported_at = fields.DateTime(allow_none=True)
    reported_late = fields.Boolean(metadata={"description": "the report came after submission was closed: "
                                                            "kept, and it reopens nothing"})


class TransitionSchema(Schema):
    at = fields.DateTime()
    by = fields.String(allow_none=True, metadata={"description": "account id; null for the system"})
    by_role = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String(allow_none=True)


def _office(task) -> dict:
    return {"id": str(task.office), "name": task.office_name}


def _target(task) -> dict:
    return {"id": str(task.target_unit), "name": task.target_name}


class TaskDepartmentSchema(Schema):
    """A liaison's view of an open task on its unit: what to expect and from which office."""
    id = Id(dump_only=True)
    title = fields.String()
    mode = fields.String(metadata={"enum": ["open"]})
    status = fields.String(metadata={"enum": list(STATUSES)})
    office = fields.Function(_office, metadata={"description": "the planning supervision office"})
    target_unit = fields.Function(_target)
    site = fields.Nested(SiteSchema)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    created_at = fields.DateTime()


class TaskSchema(Schema):
    """The whole task, for staff (supervisor, leader, admin) and its inspectors."""
    id = Id(dump_only=True)
    title = fields.String()
    mode = fields.String(metadata={"enum": list(MODES)})
    status = fields.String(metadata={"enum": list(STATUSES)})
    instructions = fields.String(allow_none=True)
    office = fields.Function(_office)
    form = fields.Function(lambda t: {"form_id": t.form_id, "version": t.form_version, "content_hash": t.form_hash,
                                      "href": f"{FORMS_PREFIX}/{t.form_id}/versions/{t.form_version}"},
                           metadata={"description": "the pinned form version"})
    target_unit = fields.Function(_target)
    site = fields.Nested(SiteSchema)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    inspectors = fields.List(fields.Nested(AssignmentSchema), attribute="assignments")
    submitted_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    history = fields.List(fields.Nested(TransitionSchema))
    sync_seq = fields.Integer(metadata={"description": "the change number of the last write"})
    rev = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


TaskPageSchema = page_schema(TaskSchema, "TaskPage")
TaskDepartmentPageSchema = page_schema(TaskDepartmentSchema, "TaskDepartmentPage")


class TaskCreateSchema(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(MODES), metadata={
        "description": "open (明查) or undercover (暗访)"})
    title = Title(required=True, validate=validate.Length(min=1, max=200))
    instructions = Text(multiline=True, load_default=None, validate=validate.Length(max=4000))
    form_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    form_version = BoundedInt(min=1, max=INT32_MAX, load_default=None, metadata={
        "description": "pinned at planning; default: the newest version"})
    target_unit_id = fields.String(required=True, validate=OBJECT_ID)
    site_id = fields.String(required=True, validate=OBJECT_ID)
    inspector_ids = fields.List(fields.String(validate=OBJECT_ID), required=True,
                                validate=validate.Length(min=1, max=20))
    starts_at = _when(required=True)
    ends_at = _when(required=True)


class TaskUpdateSchema(Schema):
    title = Title(validate=validate.Length(min=1, max=200))
    instructions = Text(multiline=True, allow_none=True, validate=validate.Length(max=4000))
    form_version = BoundedInt(min=1, max=INT32_MAX)
    site_id = fields.String(validate=OBJECT_ID)
    inspector_ids = fields.List(fields.String(validate=OBJECT_ID), validate=validate.Length(min=1, max=20))
    starts_at = _when()
    ends_at = _when()


class TaskCancelSchema(Schema):
    reason = Text(multiline=True, required=True, validate=validate.Length(min=1, max=1000))


class TaskFilterSchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    mode = fields.String(validate=validate.OneOf(MODES))
    target_unit_id = fields.String(validate=OBJECT_ID)
    site_id = fields.String(validate=OBJECT_ID)
    window_from = _when(data_key="from", metadata={"description": "windows ending after this time"})
    window_to = _when(data_key="to", metadata={"description": "windows starting before this time"})
    inspector_id = fields.String(validate=OBJECT_ID, metadata={"description": "staff only"})


class TaskQueryArgsSchema(CursorArgsSchema, TaskFilterSchema):
    pass


class TaskCountSchema(Schema):
    count = fields.Integer(required=True)


class SyncArgsSchema(Schema):
    updated_since = fields.String(load_default=None, validate=validate.Length(min=1, max=200), metadata={
        "description": "the sync_token of the previous response; omit for the full active set"})


class RemovalSchema(Schema):
    id = fields.String(required=True)
    removed = fields.Boolean(required=True)
    reason = fields.String(required=True, metadata={"enum": ["cancelled", "unassigned", "expired"]})


class SyncSchema(Schema):
    full = fields.Boolean(required=True, metadata={"description": "true: the whole active set; drop what is not in it"})
    sync_token = fields.String(required=True, metadata={"description": "send as updated_since next time"})
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    removed = fields.List(fields.Nested(RemovalSchema), required=True)
