"""The unit tree: regions, organisations (departments, bureaus), supervision offices and service sites."""
from __future__ import annotations

from enum import StrEnum

import mongoengine as me

from ..storage import Doc


class UnitKind(StrEnum):
    REGION = "region"  # 行政区划
    ORGANISATION = "organisation"  # 部门/单位 (a possible 责任单位)
    OFFICE = "office"  # 督查室: an organisation with jurisdiction roots
    SITE = "site"  # 服务场所: a service hall or window, with a point and a geofence


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"  # 县/区
    TOWN = "town"  # 乡镇/街道
    VILLAGE = "village"  # 村/社区


class Unit(Doc):
    code = me.StringField(required=True, max_length=32)  # 12-digit division code, 18-char USCC, or office-assigned
    name = me.StringField(required=True, max_length=200)
    name_en = me.StringField(max_length=200)
    kind = me.EnumField(UnitKind, required=True)
    level = me.EnumField(RegionLevel)  # regions only
    parent = me.ObjectIdField()
    ancestors = me.ListField(me.ObjectIdField())  # root first; the materialised path used by every scope query
    active = me.BooleanField(default=True)
    # sites
    address = me.StringField(max_length=300)
    # WGS-84 GeoJSON point; auto_index off because SecantusDB rejects re-creating a 2dsphere index.
    location = me.PointField(auto_index=False)
    location_input = me.DictField()  # what the client sent: {crs, lon, lat}
    radius_m = me.IntField(min_value=1, max_value=5000)
    # offices
    jurisdiction_roots = me.ListField(me.ObjectIdField())
    # Photo validation settings overriding domain.validation.Thresholds for this office's tasks (offices only).
    validation_thresholds = me.DictField()
    # derived, recomputed by a background job
    site_count = me.IntField(default=0)
    moves = me.ListField(me.DictField())  # history of subtree moves: {at, from_parent, to_parent, by}

    meta = {
        "collection": "units",
        "indexes": [
            {"fields": ["code"], "unique": True},
            "parent",
            "ancestors",
            ("kind", "active"),
            {"fields": ["(location"], "2dsphereIndexVersion": 3},
        ],
    }

    @property
    def path_ids(self) -> list:
        return [*self.ancestors, self.pk]
