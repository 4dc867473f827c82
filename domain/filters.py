"""Small helpers every ``queries.py`` uses to build raw filters."""
from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId

NOTHING = {"_id": {"$in": []}}  # a filter that matches no document


def oid(value) -> ObjectId | None:
    """An ObjectId from a wire string; ``None`` when it cannot be one (so it matches nothing)."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


def all_of(*clauses: dict) -> dict:
    """The conjunction of the non-empty clauses, as one ``$and`` so that pagination's own ``_id``
    condition never collides with a clause."""
    kept = [c for c in clauses if c]
    return {"$and": kept} if kept else {}
