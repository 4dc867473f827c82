"""Keyset pagination: stable under concurrent inserts, unlike page numbers."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from bson import ObjectId
from bson.errors import InvalidId

from .errors import InvalidCursorError


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _encode(last_id) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": str(last_id)}).encode()).decode().rstrip("=")


def _decode(cursor: str) -> ObjectId:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return ObjectId(json.loads(raw)["after"])
    except (ValueError, KeyError, TypeError, InvalidId, json.JSONDecodeError):
        raise InvalidCursorError() from None


def page(queryset, cursor: str | None, limit: int) -> Page:
    """One page of ``queryset`` in ``_id`` order (ObjectIds grow with creation time)."""
    qs = queryset.order_by("id")
    if cursor:
        qs = qs.filter(id__gt=_decode(cursor))
    items = list(qs.limit(limit + 1))
    more = len(items) > limit
    items = items[:limit]
    return Page(items, _encode(items[-1].pk) if more and items else None)
