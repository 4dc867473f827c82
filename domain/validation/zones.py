"""Time zones of coordinates and the UTC offsets a photo taken there may carry.

timezonefinder (offline data) names the zone, zoneinfo gives its offset at the instant (daylight
saving included). China keeps one official time, +08:00, everywhere; in Xinjiang local practice
uses +06:00 as well (timezonefinder names Asia/Urumqi there), so both are accepted there.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

CHINA_OFFICIAL = timedelta(hours=8)
XINJIANG_LOCAL = timedelta(hours=6)
CHINA_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC",
                         "Asia/Urumqi", "Asia/Kashgar"})
XINJIANG_ZONES = frozenset({"Asia/Urumqi", "Asia/Kashgar"})
DEFAULT_ZONE = "Asia/Shanghai"  # where neither the photo nor the site has a position


@lru_cache(maxsize=1)
def _finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


@lru_cache(maxsize=4096)
def _zone_at(lat: float, lon: float) -> str | None:
    return _finder().timezone_at(lat=lat, lng=lon)


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA zone at a WGS-84 point (cached per ~10 m cell: sites repeat)."""
    return _zone_at(round(lat, 4), round(lon, 4))


def tzinfo(zone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(zone or DEFAULT_ZONE)
    except Exception:
        return ZoneInfo(DEFAULT_ZONE)


def accepted_offsets(zone: str, at: datetime) -> set[timedelta]:
    """UTC offsets a clock in ``zone`` may honestly show at ``at`` (an aware datetime). An hour
    either side is looked at too, so a photo taken just at a daylight-saving change passes."""
    if zone in CHINA_ZONES:
        return {CHINA_OFFICIAL, XINJIANG_LOCAL} if zone in XINJIANG_ZONES else {CHINA_OFFICIAL}
    info = tzinfo(zone)
    return {(at + timedelta(hours=h)).astimezone(info).utcoffset() for h in (-1, 0, 1)}


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_offset(text: str) -> timedelta:
    sign = -1 if text[0] == "-" else 1
    hours, minutes = text[1:].split(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))
