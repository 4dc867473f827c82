"""URL converters: ids in paths are ObjectIds, so /accounts/me never doubles as an id."""
from __future__ import annotations

from werkzeug.routing import BaseConverter


class ObjectIdConverter(BaseConverter):
    regex = "[0-9a-f]{24}"


def objectid_schema(_converter) -> dict:
    return {"type": "string", "pattern": "^[0-9a-f]{24}$"}


def install(app, api) -> None:
    app.url_map.converters["objectid"] = ObjectIdConverter
    api.register_converter(ObjectIdConverter, objectid_schema)
