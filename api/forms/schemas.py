"""Shapes of form responses. Shape only: the form format itself is inspection_forms/form.schema.json."""
from __future__ import annotations

from marshmallow import Schema, fields


class TextSchema(Schema):
    zh = fields.String(required=True)
    en = fields.String(required=True)


class VersionRefSchema(Schema):
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True, metadata={"description": "SHA-256 of the canonical JSON content"})
    loaded_at = fields.DateTime(required=True)


class FormSummarySchema(Schema):
    form_id = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "the newest version"})
    title = fields.Nested(TextSchema, required=True)
    description = fields.Nested(TextSchema, allow_none=True)
    mode = fields.String(required=True, metadata={"description": "open | undercover | any"})
    item_count = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    loaded_at = fields.DateTime(required=True)
    versions = fields.List(fields.Nested(VersionRefSchema), required=True,
                           metadata={"description": "every stored version, newest first"})


class FormListSchema(Schema):
    items = fields.List(fields.Nested(FormSummarySchema), required=True,
                        metadata={"description": "one entry per form, by form_id; not paged (a handful of forms)"})


class FormVersionSchema(Schema):
    form_id = fields.String(required=True)
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    loaded_at = fields.DateTime(required=True)
    content = fields.Dict(required=True, metadata={
        "description": "the normalised form (defaults made explicit); format: inspection_forms/form.schema.json"})


class CategoryGroupSchema(Schema):
    id = fields.String(required=True)
    label = fields.Nested(TextSchema, required=True)


class CategorySchema(Schema):
    id = fields.String(required=True)
    label = fields.Nested(TextSchema, required=True)
    group = fields.String(allow_none=True,
                          metadata={"description": "three_difficulties (三难) | three_arbitrary (三乱)"})
    parent = fields.String(allow_none=True, metadata={"description": "a sub-category's parent"})


class CategoryCatalogueSchema(Schema):
    groups = fields.List(fields.Nested(CategoryGroupSchema), required=True)
    categories = fields.List(fields.Nested(CategorySchema), required=True)
