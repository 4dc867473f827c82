"""Positions on input: China's map datums (GCJ-02, BD-09) converted to WGS-84, range-checked.

Phones report what their map SDK gives them: GCJ-02 (Amap, Tencent) or BD-09 (Baidu), hundreds
of metres off WGS-84. We store WGS-84 (what EXIF and raw GNSS give) and keep the original beside it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import StrEnum

import prcoords

from ..errors import CoordinateOutOfRangeError, CoordinateSystemUnknownError

# ~1 cm: more digits than any phone fix carries.
DIGITS = 7


class Crs(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


@dataclass(frozen=True)
class Position:
    """A WGS-84 point plus what the client sent."""

    lon: float
    lat: float
    input: dict  # {crs, lon, lat}

    @property
    def geojson(self) -> dict:
        return {"type": "Point", "coordinates": [self.lon, self.lat]}


def check_range(lon, lat) -> tuple[float, float]:
    """Finite numbers on the globe; (0, 0) is refused because it is what a missing fix looks like."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise CoordinateOutOfRangeError(lon=str(lon), lat=str(lat)) from None
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180 and -90 <= lat <= 90) \
            or (lon == 0 and lat == 0):
        raise CoordinateOutOfRangeError(lon=str(lon), lat=str(lat))
    return lon, lat


def crs_name(crs) -> str:
    """``GCJ-02``, ``gcj_02`` and ``gcj02`` are one datum; empty means WGS-84."""
    return str(crs).strip().lower().replace("-", "").replace("_", "") if crs else Crs.WGS84.value


def to_wgs84(lon: float, lat: float, crs: str = Crs.WGS84) -> tuple[float, float]:
    """Convert with prcoords' iterative ("bored") inverses, accurate to well under a metre.

    GCJ-02 and BD-09 exist only inside China; outside it map SDKs already report WGS-84,
    so such points are kept as they are.
    """
    try:
        crs = Crs(crs_name(crs))
    except ValueError:
        raise CoordinateSystemUnknownError(crs=str(crs)) from None
    lon, lat = check_range(lon, lat)
    if crs is Crs.WGS84 or not prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)):
        return lon, lat
    inverse = prcoords.gcj_wgs_bored if crs is Crs.GCJ02 else prcoords.bd_wgs_bored
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wgs = inverse(prcoords.Coords(lat, lon))
    return check_range(wgs.lon, wgs.lat)


def position(lon, lat, crs: str | None = None) -> Position:
    """The stored form of one input position: WGS-84 rounded to ~1 cm, and the original."""
    crs_value = crs_name(crs)
    w_lon, w_lat = to_wgs84(lon, lat, crs_value)
    in_lon, in_lat = check_range(lon, lat)
    return Position(round(w_lon, DIGITS), round(w_lat, DIGITS), {"crs": crs_value, "lon": in_lon, "lat": in_lat})


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lon, lat) points."""
    return prcoords.Coords(a[1], a[0]).distance(prcoords.Coords(b[1], b[0]))
