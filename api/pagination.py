"""Cursor pagination on the wire: a ``cursor`` and a capped ``limit`` in, ``next_cursor`` out."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from domain.config import get_settings


class CursorArgsSchema(Schema):
    cursor = fields.String(load_default=None, metadata={"description": "opaque; from the previous page"})
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=200),
                           metadata={"description": "page size (default 50, at most 200)"})


def page_limit(limit: int | None) -> int:
    s = get_settings()
    return min(limit or s.page_size_default, s.page_size_max)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema), required=True),
        "next_cursor": fields.String(allow_none=True, required=True,
                                     metadata={"description": "null on the last page"}),
    }, name=name)
