"""EXIF read safely: Pillow first, exifread as a second opinion, every value range-checked.

Runs inside the guarded child (facts.py), because real files send EXIF parsers into loops and
huge allocations. exifread runs only when Pillow's reading is missing or doubtful (it took
60-80 ms on odd JPEGs against 1-6 ms for Pillow), and never parses maker notes
(``details=False``): those are where the historical blow-ups live.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image

IFD = ExifTags.IFD
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})[:-](\d{2})[:-](\d{2})$")

# EXIF tag numbers (CIPA DC-008)
MAKE, MODEL, ORIENTATION, SOFTWARE, DATETIME = 0x010F, 0x0110, 0x0112, 0x0131, 0x0132
EXIF_POINTER, GPS_POINTER = 0x8769, 0x8825
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, SUBSEC_TIME_ORIGINAL = 0x9003, 0x9011, 0x9291
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 1, 2, 3, 4, 5, 6
GPS_TIMESTAMP, GPS_DATESTAMP, GPS_HPE = 7, 29, 31
THUMB_OFFSET, THUMB_LENGTH = 0x0201, 0x0202


@dataclass
class Metadata:
    exif_present: bool = False
    orientation: int | None = None
    capture_local: str | None = None  # ISO 8601 without offset: the camera's wall clock
    capture_offset: str | None = None  # "+08:00" (OffsetTimeOriginal)
    file_time_local: str | None = None  # DateTime (IFD0): when the file was last written, camera's wall clock
    gps_time_utc: str | None = None  # ISO 8601 with Z (GPSDateStamp + GPSTimeStamp)
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    gps_hpe: float | None = None  # GPSHPositioningError, metres
    make: str | None = None
    model: str | None = None
    software: str | None = None
    thumbnail: bytes | None = field(default=None, repr=False)  # the embedded EXIF thumbnail (a JPEG)
    readers: list[str] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)  # values found but refused by a range check


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _number(value) -> float | None:
    """A finite float from an int, float, Pillow IFDRational or exifread Ratio (0/0 -> None)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    try:
        den = getattr(value, "denominator", 1)
        if den == 0:
            return None
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _triple(value) -> tuple[float, float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return None
    parts = tuple(_number(v) for v in value)
    return None if any(p is None for p in parts) else parts  # type: ignore[return-value]


def _datetime(text: str | None) -> datetime | None:
    m = _DATETIME.match(text or "")
    if not m:
        return None
    try:
        value = datetime(*(int(g) for g in m.groups()))
    except ValueError:  # month 13, day 0, "0000:00:00 00:00:00"
        return None
    return value if value.year >= 1900 else None


def _offset(text: str | None) -> str | None:
    m = _OFFSET.match(text or "")
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if int(m.group(3)) >= 60 or minutes > (14 * 60 if m.group(1) == "+" else 12 * 60):
        return None
    return text


class _Reading:
    """Field values from one reader: ``get(tag_group, tag)`` gives the raw value or None."""

    def __init__(self, ifd0: dict, exif: dict, gps: dict):
        self.ifd0, self.exif, self.gps = ifd0, exif, gps


def _pillow(image: Image.Image) -> tuple[_Reading | None, bytes | None]:
    exif = image.getexif()
    ifd0 = dict(exif)
    reading = _Reading(ifd0, dict(exif.get_ifd(IFD.Exif)), dict(exif.get_ifd(IFD.GPSInfo)))
    thumb = None
    raw = image.info.get("exif")
    ifd1 = exif.get_ifd(IFD.IFD1)
    if raw and THUMB_OFFSET in ifd1 and THUMB_LENGTH in ifd1:
        start = (6 if raw[:6] == b"Exif\x00\x00" else 0) + int(ifd1[THUMB_OFFSET])
        length = int(ifd1[THUMB_LENGTH])
        if 0 < length <= 256 * 1024 and start + length <= len(raw):
            thumb = bytes(raw[start:start + length])
    return reading, thumb


def _exifread(data: bytes) -> _Reading:
    import exifread

    tags = exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
    by_group: dict[str, dict] = {"Image": {}, "EXIF": {}, "GPS": {}}
    for name, tag in tags.items():
        group, _, _ = name.partition(" ")
        if group in by_group and hasattr(tag, "tag"):
            values = tag.values
            by_group[group][tag.tag] = values[0] if isinstance(values, list) and len(values) == 1 else values
    return _Reading(by_group["Image"], by_group["EXIF"], by_group["GPS"])


def _fill(meta: Metadata, r: _Reading, doubts: list[str]) -> None:
    """Set every field that ``meta`` lacks from ``r``, recording values that fail their checks."""

    def doubt(name: str):
        if name not in doubts:
            doubts.append(name)

    for attr, tag in (("make", MAKE), ("model", MODEL), ("software", SOFTWARE)):
        if getattr(meta, attr) is None and r.ifd0.get(tag) is not None:
            setattr(meta, attr, (_text(r.ifd0[tag]) or "")[:200] or None)
    if meta.orientation is None and r.ifd0.get(ORIENTATION) is not None:
        value = _number(r.ifd0[ORIENTATION])
        if value is not None and value in range(1, 9):
            meta.orientation = int(value)
        else:
            doubt("orientation")
    if meta.capture_local is None and r.exif.get(DATETIME_ORIGINAL) is not None:
        when = _datetime(_text(r.exif[DATETIME_ORIGINAL]))
        if when is None:
            doubt("capture_time")
        else:
            sub = _text(r.exif.get(SUBSEC_TIME_ORIGINAL))
            if sub and sub.isdigit():
                when = when.replace(microsecond=int(sub[:6].ljust(6, "0")))
            meta.capture_local = when.isoformat()
    if meta.file_time_local is None and r.ifd0.get(DATETIME) is not None:
        when = _datetime(_text(r.ifd0[DATETIME]))
        if when is None:
            doubt("file_time")
        else:
            meta.file_time_local = when.isoformat()
    if meta.capture_offset is None and r.exif.get(OFFSET_TIME_ORIGINAL) is not None:
        meta.capture_offset = _offset(_text(r.exif[OFFSET_TIME_ORIGINAL]))
        if meta.capture_offset is None:
            doubt("capture_offset")
    _fill_gps(meta, r.gps, doubt)


def _fill_gps(meta: Metadata, gps: dict, doubt) -> None:
    if meta.gps_lat is None and (GPS_LAT in gps or GPS_LON in gps):
        lat, lon = _coordinate(gps, GPS_LAT, GPS_LAT_REF, "NS", 90), _coordinate(gps, GPS_LON, GPS_LON_REF, "EW", 180)
        if lat is None or lon is None:
            doubt("gps.position")
        elif lat == 0 and lon == 0:
            doubt("gps.null-island")  # (0, 0): a receiver that had no fix wrote zeros
        else:
            meta.gps_lat, meta.gps_lon = round(lat, 7), round(lon, 7)
    if meta.gps_alt is None and GPS_ALT in gps:
        alt, ref = _number(gps[GPS_ALT]), gps.get(GPS_ALT_REF, 0)
        ref = (ref[0] if ref else 0) if isinstance(ref, bytes) else _number(ref)  # Pillow: b"\x00"; exifread: 0
        if alt is None or ref not in (0, 1) or not -1000 <= alt <= 12000:
            doubt("gps.altitude")
        else:
            meta.gps_alt = round(-alt if ref == 1 else alt, 2)
    if meta.gps_hpe is None and GPS_HPE in gps:
        hpe = _number(gps[GPS_HPE])
        if hpe is None or not 0 <= hpe <= 100_000:
            doubt("gps.positioning-error")
        else:
            meta.gps_hpe = round(hpe, 2)
    if meta.gps_time_utc is None and (GPS_DATESTAMP in gps and GPS_TIMESTAMP in gps):
        when = _gps_time(_text(gps[GPS_DATESTAMP]), _triple(gps[GPS_TIMESTAMP]))
        if when is None:
            doubt("gps.time")
        else:
            meta.gps_time_utc = when.isoformat().replace("+00:00", "Z")


def _coordinate(gps: dict, tag: int, ref_tag: int, refs: str, limit: int) -> float | None:
    dms, ref = _triple(gps.get(tag)), _text(gps.get(ref_tag))
    if dms is None or ref is None or ref.upper() not in refs:
        return None
    d, m, s = dms
    if d < 0 or m < 0 or s < 0 or m >= 60 or s >= 60:
        return None
    value = d + m / 60 + s / 3600
    if value > limit:
        return None
    return -value if ref.upper() == refs[1] else value


def _gps_time(date_text: str | None, hms) -> datetime | None:
    m = _DATE.match(date_text or "")
    if not m or hms is None:
        return None
    h, mi, s = hms
    if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 61) or h != int(h) or mi != int(mi):
        return None
    try:
        base = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(h), int(mi), tzinfo=timezone.utc)
    except ValueError:
        return None
    if base.year < 1980:  # GPS time starts in 1980
        return None
    return base + timedelta(microseconds=min(int(round(s * 1_000_000)), 59_999_999))  # a leap second: :59.999999


def read_metadata(image: Image.Image, data: bytes) -> Metadata:
    """The EXIF facts of an opened image (``data``: the file's bytes, for the second opinion)."""
    meta = Metadata(exif_present=bool(image.info.get("exif")))
    doubts: list[str] = []
    pillow_failed = False
    reading = None
    try:
        reading, meta.thumbnail = _pillow(image)
        meta.readers.append("pillow")
        _fill(meta, reading, doubts)
    except Exception:  # a broken IFD is a reason to ask exifread, never a crash
        pillow_failed = True
    if _second_opinion_needed(meta, reading, doubts, pillow_failed):
        try:
            second = _exifread(data)
            meta.readers.append("exifread")
            meta.exif_present = meta.exif_present or bool(second.ifd0 or second.exif or second.gps)
            retry: list[str] = []
            _fill(meta, second, retry)
            # A doubt stands only if the second reader could not supply a good value either.
            doubts = [d for d in doubts if d in retry or not _resolved(meta, d)]
        except Exception:
            pass
    meta.doubts = sorted(set(doubts))
    return meta


def _second_opinion_needed(meta: Metadata, reading: _Reading | None, doubts: list[str], failed: bool) -> bool:
    if failed or doubts:
        return True
    if reading is None or not meta.exif_present:
        return False
    # Pointers present but Pillow came back empty-handed: missing, ask again.
    if reading.ifd0.get(EXIF_POINTER) and meta.capture_local is None:
        return True
    return bool(reading.ifd0.get(GPS_POINTER)) and not reading.gps


_RESOLVES = {"orientation": "orientation", "capture_time": "capture_local", "capture_offset": "capture_offset",
             "gps.position": "gps_lat", "gps.altitude": "gps_alt", "gps.positioning-error": "gps_hpe",
             "gps.time": "gps_time_utc"}


def _resolved(meta: Metadata, doubt: str) -> bool:
    attr = _RESOLVES.get(doubt)
    return attr is not None and getattr(meta, attr) is not None
