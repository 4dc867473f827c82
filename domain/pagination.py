"""Keyset pagination: stable under concurrent inserts, unlike page numbers."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from bson import ObjectId
from bson.errors import InvalidId

from .errors import InvalidCursorError


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _ms(at: datetime) -> int:
    return int(at.replace(tzinfo=at.tzinfo or timezone.utc).timestamp() * 1000)


def _token(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _encode(at: datetime, last_id) -> str:
    return _token({"after": [_ms(at), str(last_id)]})


def _decode(cursor: str) -> tuple[datetime, ObjectId]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ms, last_id = raw["after"]
        return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc), ObjectId(last_id)
    except (ValueError, KeyError, TypeError, InvalidId, OverflowError, OSError, json.JSONDecodeError):
        raise InvalidCursorError() from None


def page(queryset, cursor: str | None, limit: int, field: str = "created_at") -> Page:
    """One page of ``queryset`` oldest first by the datetime ``field`` (stored to the millisecond),
    ties broken by ``_id``. Ids are random (domain/ids.py), so they order nothing by themselves;
    the pair is a total order on values that never change, so nothing is skipped or repeated."""
    qs = queryset.order_by(field, "id")
    if cursor:
        at, last_id = _decode(cursor)
        db_field = queryset._document._fields[field].db_field
        qs = qs.filter(__raw__={db_field: {"$gte": at}, "$or": [{db_field: {"$gt": at}}, {"_id": {"$gt": last_id}}]})
    items = list(qs.limit(limit + 1))
    more = len(items) > limit
    items = items[:limit]
    return Page(items, _encode(getattr(items[-1], field), items[-1].pk) if more and items else None)


def _encode_before(at: datetime, last_id) -> str:
    return _token({"before": [_ms(at), str(last_id)]})


def _decode_before(cursor: str) -> tuple[datetime, ObjectId]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ms, last_id = raw["before"]
        return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc), ObjectId(last_id)
    except (ValueError, KeyError, TypeError, InvalidId, OverflowError, OSError, json.JSONDecodeError):
        raise InvalidCursorError() from None


def page_newest_first(queryset, cursor: str | None, limit: int, field: str = "at") -> Page:
    """One page of ``queryset`` newest first by the datetime ``field`` (stored to the millisecond),
    ties broken by ``_id``: a total order on values that never change, so no item is skipped or
    repeated while new ones arrive at the top."""
    qs = queryset.order_by(f"-{field}", "-id")
    if cursor:
        at, last_id = _decode_before(cursor)
        db_field = queryset._document._fields[field].db_field
        # The outer bound on ``field`` lets an index range start at the cursor instead of the top.
        qs = qs.filter(__raw__={db_field: {"$lte": at}, "$or": [{db_field: {"$lt": at}}, {"_id": {"$lt": last_id}}]})
    items = list(qs.limit(limit + 1))
    more = len(items) > limit
    items = items[:limit]
    return Page(items, _encode_before(getattr(items[-1], field), items[-1].pk) if more and items else None)
