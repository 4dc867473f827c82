"""Shapes of unit requests and responses. Shape only: the tree's rules live in domain/units."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.fields import Name
from api.pagination import CursorArgsSchema, page_schema

OBJECT_ID = validate.Regexp(r"^[0-9a-f]{24}$", error="not an id")
KINDS = ("region", "organisation", "office", "site")
LEVELS = ("province", "city", "county", "town", "village")
CRS = ("wgs84", "gcj02", "bd09")


class Id(fields.Field):
    """An ObjectId on the wire: a 24-hex string."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class PositionInputSchema(Schema):
    crs = fields.String(load_default="wgs84", validate=validate.OneOf(CRS), metadata={
        "description": "datum of lon/lat: wgs84 (GNSS), gcj02 (Amap/Tencent maps) or bd09 (Baidu maps)"})
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))


class PointSchema(Schema):
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)


class MoveSchema(Schema):
    at = fields.DateTime()
    from_parent_id = Id(attribute="from_parent", allow_none=True)
    to_parent_id = Id(attribute="to_parent", allow_none=True)
    by = fields.String(allow_none=True, metadata={"description": "id of the account that moved it"})


class UnitSchema(Schema):
    id = Id(dump_only=True)
    code = fields.String(metadata={"description": "12-digit division code, unified social credit code, "
                                                  "or office-assigned code"})
    name = fields.String()
    name_en = fields.String(allow_none=True)
    kind = fields.String(metadata={"enum": list(KINDS)})
    level = fields.String(allow_none=True, metadata={"enum": list(LEVELS), "description": "regions only"})
    parent_id = Id(attribute="parent", allow_none=True)
    ancestor_ids = fields.List(Id(), attribute="ancestors", metadata={"description": "root first"})
    active = fields.Boolean()
    address = fields.String(allow_none=True)
    location = fields.Method("dump_location", allow_none=True,
                             metadata={"description": "sites: WGS-84 point {lon, lat}"})
    location_input = fields.Method("dump_location_input", allow_none=True, metadata={
        "description": "sites: the position as it was entered {crs, lon, lat}"})
    radius_m = fields.Integer(allow_none=True, metadata={"description": "sites: geofence radius in metres"})
    jurisdiction_root_ids = fields.List(Id(), attribute="jurisdiction_roots",
                                        metadata={"description": "offices: roots of their jurisdiction"})
    validation_thresholds = fields.Dict(metadata={"description": "offices: photo validation overrides"})
    site_count = fields.Integer(metadata={"description": "active sites below this unit (updated shortly after changes)"})
    moves = fields.List(fields.Nested(MoveSchema))
    rev = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def dump_location(self, unit):
        if not unit.location:
            return None
        lon, lat = unit.location["coordinates"]
        return {"lon": lon, "lat": lat}

    def dump_location_input(self, unit):
        return dict(unit.location_input) if unit.location_input else None


UnitPageSchema = page_schema(UnitSchema, "UnitPage")


class UnitQueryArgsSchema(CursorArgsSchema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent_id = fields.String(validate=OBJECT_ID, metadata={"description": "direct children of this unit"})
    ancestor_id = fields.String(validate=OBJECT_ID, metadata={"description": "everything below this unit"})
    active = fields.Boolean()
    code = fields.String(validate=validate.Length(min=1, max=32))
    q = Name(validate=validate.Length(min=1, max=100), metadata={"description": "part of the name"})
    near_lon = fields.Float(allow_nan=False, validate=validate.Range(-180, 180),
                            metadata={"description": "WGS-84; with near_lat and within_m: units within a circle"})
    near_lat = fields.Float(allow_nan=False, validate=validate.Range(-90, 90))
    within_m = fields.Float(allow_nan=False, validate=validate.Range(1, 100000))

    @validates_schema
    def near_parts_together(self, data, **kwargs):
        given = [k for k in ("near_lon", "near_lat", "within_m") if k in data]
        if given and len(given) != 3:
            raise ValidationError("near_lon, near_lat and within_m go together", "near_lon")


class UnitCreateSchema(Schema):
    code = Name(required=True, validate=validate.Length(min=2, max=32))
    name = Name(required=True, validate=validate.Length(min=1, max=200))
    name_en = Name(load_default=None, allow_none=True, validate=validate.Length(max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVELS))
    parent_id = fields.String(load_default=None, allow_none=True, validate=OBJECT_ID)
    address = Name(load_default=None, allow_none=True, validate=validate.Length(max=300))
    position = fields.Nested(PositionInputSchema, load_default=None, allow_none=True,
                             metadata={"description": "sites: the point, in the datum of the map it came from"})
    radius_m = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 5000))
    jurisdiction_root_ids = fields.List(fields.String(validate=OBJECT_ID), load_default=list,
                                        validate=validate.Length(max=50), metadata={"description": "offices only"})


class UnitUpdateSchema(Schema):
    name = Name(validate=validate.Length(min=1, max=200))
    name_en = Name(allow_none=True, validate=validate.Length(max=200))
    active = fields.Boolean(metadata={"description": "false deactivates (units with history cannot be deleted)"})
    address = Name(allow_none=True, validate=validate.Length(max=300))
    position = fields.Nested(PositionInputSchema)
    radius_m = fields.Integer(validate=validate.Range(1, 5000))
    level = fields.String(validate=validate.OneOf(LEVELS))
    jurisdiction_root_ids = fields.List(fields.String(validate=OBJECT_ID), validate=validate.Length(min=1, max=50))
    validation_thresholds = fields.Dict(keys=fields.String(), values=fields.Raw(), validate=validate.Length(max=50), metadata={
        "description": "offices only: photo validation thresholds overriding the defaults (docs/validation.md); "
                       "{} returns to the defaults"})


class UnitMoveSchema(Schema):
    parent_id = fields.String(required=True, allow_none=True, validate=OBJECT_ID,
                              metadata={"description": "the new parent; null moves the unit to the root"})
