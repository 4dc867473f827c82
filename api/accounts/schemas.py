"""Shapes of sign-in and account requests and responses. Shape only: rules live in the domain."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.fields import Name
from api.pagination import CursorArgsSchema, page_schema

OBJECT_ID = validate.Regexp(r"^[0-9a-f]{24}$", error="not an id")
ASSIGNABLE_ROLES = ("admin", "supervisor", "inspector", "liaison", "leader")
PASSWORD = dict(validate=validate.Length(min=1, max=256))


class LoginSchema(Schema):
    username = Name(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, **PASSWORD)


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    access_token = fields.String(required=True, metadata={"description": "JWT; send as `Authorization: Bearer …`"})
    refresh_token = fields.String(required=True, metadata={
        "description": "opaque, single use: each refresh returns a new one; presenting a used one ends the session"})
    expires_in = fields.Integer(required=True, metadata={"description": "access token lifetime in seconds"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True, **PASSWORD)
    new_password = fields.String(required=True, load_only=True, metadata={
        "description": "at least 8 characters from 3 of: lower case, upper case, digits, symbols"}, **PASSWORD)


class PasswordResetSchema(Schema):
    new_password = fields.String(required=True, load_only=True, **PASSWORD)


class UnitRefSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)


class AccountSchema(Schema):
    id = fields.String(dump_only=True)
    username = fields.String()
    display_name = fields.String(allow_none=True)
    role = fields.String()
    home_unit = fields.Nested(UnitRefSchema)
    office = fields.Nested(UnitRefSchema, allow_none=True,
                           metadata={"description": "supervisors and leaders: their supervision office"})
    pool_offices = fields.List(fields.Nested(UnitRefSchema),
                               metadata={"description": "inspectors: offices whose inspector pool they are in"})
    active = fields.Boolean()
    locked_until = fields.DateTime(allow_none=True, metadata={"description": "set while locked out after failures"})
    last_login_at = fields.DateTime(allow_none=True)
    password_changed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


AccountPageSchema = page_schema(AccountSchema, "AccountPage")


class AccountQueryArgsSchema(CursorArgsSchema):
    role = fields.String(validate=validate.OneOf(ASSIGNABLE_ROLES))
    home_unit = fields.String(validate=OBJECT_ID)
    active = fields.Boolean()


class AccountCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$", error="2-64 letters, digits or . _ @ -, starting with a letter or digit"),
        metadata={"description": "case-insensitive; stored in lower case"})
    display_name = Name(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(ASSIGNABLE_ROLES))
    home_unit = fields.String(required=True, validate=OBJECT_ID)
    password = fields.String(required=True, load_only=True, **PASSWORD)
    office = fields.String(load_default=None, allow_none=True, validate=OBJECT_ID,
                           metadata={"description": "required for supervisors and leaders: a unit of kind office"})
    pool_offices = fields.List(fields.String(validate=OBJECT_ID), load_default=list,
                               validate=validate.Length(max=50), metadata={"description": "inspectors only"})


class AccountUpdateSchema(Schema):
    display_name = Name(validate=validate.Length(min=1, max=100))
    active = fields.Boolean(metadata={"description": "false disables the account and ends all its sessions at once"})
    home_unit = fields.String(validate=OBJECT_ID)
    office = fields.String(allow_none=True, validate=OBJECT_ID)
    pool_offices = fields.List(fields.String(validate=OBJECT_ID), validate=validate.Length(max=50))
