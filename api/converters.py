"""URL converters: ids in paths are ObjectIds, so /accounts/me never doubles as an id; integers are bounded."""
from __future__ import annotations

from werkzeug.routing import BaseConverter, IntegerConverter

INT_PATH_MAX = 2**31 - 1  # form versions and the like: a larger number names nothing (and would overflow storage)


class ObjectIdConverter(BaseConverter):
    regex = "[0-9a-f]{24}"


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` that does not match past 2^31-1, so a 2^70 in a path is a 404, not an OverflowError."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT_PATH_MAX)
        super().__init__(map, *args, **kwargs)


def objectid_schema(_converter) -> dict:
    return {"type": "string", "pattern": "^[0-9a-f]{24}$"}


def bounded_int_schema(converter) -> dict:
    return {"type": "integer", "minimum": converter.min or 0, "maximum": converter.max}


def install(app, api) -> None:
    app.url_map.converters["objectid"] = ObjectIdConverter
    app.url_map.converters["int"] = BoundedIntConverter
    api.register_converter(ObjectIdConverter, objectid_schema)
    api.register_converter(BoundedIntConverter, bounded_int_schema)
