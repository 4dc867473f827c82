"""The checks a verdict is made of: each takes facts (and the task's context) and returns reasons.

Pure functions. Geodesic distances (geopy, WGS-84 ellipsoid) in metres; times compared in UTC.
Which capture instant is used, in order: DateTimeOriginal with OffsetTimeOriginal; else with the
zone of the photo's GPS position; else with the zone of the site; else GPS date/time (UTC).
A measured device clock offset corrects the camera clock (never GPS time).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from geopy.distance import geodesic

from . import zones
from .reasons import Reason, reason
from .thresholds import Thresholds

if TYPE_CHECKING:
    from .facts import Facts
    from .verdict import ValidationContext

_GUARD_CODES = {"timeout": "metadata.parser-timeout", "memory": "metadata.parser-memory"}


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geodesic(a, b).meters


def guard_reasons(facts: Facts) -> list[Reason]:
    kind, detail, limit = facts.guard.get("kind"), facts.guard.get("detail", ""), facts.guard.get("limit")
    code = _GUARD_CODES.get(kind, "metadata.parser-crash")
    if code == "metadata.parser-timeout":
        return [reason(code, timeout_s=limit)]
    if code == "metadata.parser-memory":
        return [reason(code, memory_mb=limit)]
    return [reason(code, detail=f"{kind}: {detail}")]


def file_reasons(facts: Facts, t: Thresholds) -> list[Reason]:
    if facts.format not in t.allowed_formats:
        return [reason("file.format-not-allowed", format=facts.format or "unknown", allowed=", ".join(t.allowed_formats))]
    pixels = facts.pixels
    if facts.decode == "too-many-pixels" or (pixels and pixels > t.max_pixels):
        return [reason("file.too-many-pixels", pixels=pixels or 0, max_pixels=t.max_pixels)]
    if facts.decode == "truncated":
        return [reason("file.truncated", detail=facts.decode_detail or "")]
    if facts.decode != "ok":
        return [reason("file.unreadable", detail=facts.decode_detail or facts.decode)]
    return []


def metadata_reasons(facts: Facts) -> list[Reason]:
    return [reason("metadata.invalid-values", fields=", ".join(facts.doubts))] if facts.doubts else []


# --- when ----------------------------------------------------------------------------------

def _exif_clock(facts: Facts, ctx: ValidationContext) -> datetime | None:
    """The camera's wall clock (naive), corrected by the device's measured clock offset."""
    if not facts.capture_local:
        return None
    local = datetime.fromisoformat(facts.capture_local)
    if ctx.device_clock_offset_s:
        local -= timedelta(seconds=ctx.device_clock_offset_s)
    return local


def _position(facts: Facts, ctx: ValidationContext) -> tuple[float, float] | None:
    if facts.gps_lat is not None and facts.gps_lon is not None:
        return facts.gps_lat, facts.gps_lon
    return (ctx.site.lat, ctx.site.lon) if ctx.site else None


def capture_instant(facts: Facts, ctx: ValidationContext) -> tuple[datetime | None, str | None]:
    """The UTC instant the photo was taken, and which source gave it."""
    local = _exif_clock(facts, ctx)
    if local is not None:
        if facts.capture_offset:
            return (local - zones.parse_offset(facts.capture_offset)).replace(tzinfo=timezone.utc), "exif-offset"
        where = _position(facts, ctx)
        zone = zones.zone_at(*where) if where else None
        source = "exif-gps-zone" if facts.gps_lat is not None else ("exif-site-zone" if where else "exif-china-time")
        return local.replace(tzinfo=zones.tzinfo(zone)).astimezone(timezone.utc), source
    if facts.gps_time_utc:
        return datetime.fromisoformat(facts.gps_time_utc.replace("Z", "+00:00")), "gps"
    return None, None


def time_reasons(facts: Facts, ctx: ValidationContext) -> list[Reason]:
    t = ctx.thresholds
    instant, source = capture_instant(facts, ctx)
    if instant is None:
        return [reason("time.unverifiable")]
    out: list[Reason] = []
    if ctx.starts_at and ctx.ends_at:
        tolerance = ctx.tolerance_s if ctx.tolerance_s is not None else t.window_tolerance_s
        slack = timedelta(seconds=tolerance)
        if ctx.starts_at - slack <= instant <= ctx.ends_at + slack:
            out.append(reason("time.inside-window", capture_time=_iso(instant), source=source))
        else:
            out.append(reason("time.outside-window", capture_time=_iso(instant), starts_at=_iso(ctx.starts_at),
                              ends_at=_iso(ctx.ends_at), tolerance_min=round(tolerance / 60), source=source))
    if ctx.received_at and instant > ctx.received_at + timedelta(seconds=t.future_tolerance_s):
        out.append(reason("time.in-future", capture_time=_iso(instant), received_at=_iso(ctx.received_at)))
    out += _zone_reasons(facts, ctx)
    out += _sequence_reasons(facts)
    if ctx.device_fixes:
        gap = min(abs((fix.time - instant).total_seconds()) for fix in ctx.device_fixes)
        if gap > t.fix_time_gap_s:
            out.append(reason("time.no-device-fix", capture_time=_iso(instant), gap_s=round(gap),
                              max_gap_s=t.fix_time_gap_s))
    return out


# Cameras write DateTime when they save the file, a second or so after the shot; a capture time
# later than that is an impossible sequence (a clock set after the fact, an edited tag).
FILE_TIME_SLACK_S = 2


def _sequence_reasons(facts: Facts) -> list[Reason]:
    """The shot (DateTimeOriginal) cannot come after the file was written (DateTime): both are
    the camera's wall clock, so they compare without a time zone."""
    if not facts.capture_local or not facts.file_time_local:
        return []
    capture = datetime.fromisoformat(facts.capture_local).replace(microsecond=0)
    written = datetime.fromisoformat(facts.file_time_local)
    gap = (capture - written).total_seconds()
    if gap <= FILE_TIME_SLACK_S:
        return []
    return [reason("time.after-file-time", capture_local=facts.capture_local, file_time_local=facts.file_time_local,
                   difference_s=round(gap))]


def _zone_reasons(facts: Facts, ctx: ValidationContext) -> list[Reason]:
    """EXIF local time vs GPS UTC vs the zone of the coordinates (the photo's, else the site's)."""
    local = _exif_clock(facts, ctx)
    where = _position(facts, ctx)
    zone = zones.zone_at(*where) if where else None
    if local is None or zone is None:
        return []
    tolerance = ctx.thresholds.gps_time_tolerance_s
    gps = datetime.fromisoformat(facts.gps_time_utc.replace("Z", "+00:00")) if facts.gps_time_utc else None
    out: list[Reason] = []
    if facts.capture_offset:
        offset = zones.parse_offset(facts.capture_offset)
        utc = (local - offset).replace(tzinfo=timezone.utc)
        accepted = zones.accepted_offsets(zone, utc)
        if offset not in accepted:
            out.append(_zone_mismatch(offset, accepted, zone))
        if gps is not None and abs((utc - gps).total_seconds()) > tolerance:
            out.append(_gps_mismatch(utc, gps, tolerance))
        return out
    if gps is None:
        return out
    # No offset tag: the offset the camera clock must have had, from GPS time.
    implied = local.replace(tzinfo=timezone.utc) - gps
    quarter_hours = round(implied.total_seconds() / 900)
    residual = abs(implied.total_seconds() - quarter_hours * 900)
    if abs(quarter_hours) <= 14 * 4 and residual <= tolerance:
        offset = timedelta(minutes=15 * quarter_hours)
        accepted = zones.accepted_offsets(zone, gps)
        if offset not in accepted:
            out.append(_zone_mismatch(offset, accepted, zone))
    else:
        # No time zone explains the difference: the camera clock and GPS disagree.
        utc = local.replace(tzinfo=zones.tzinfo(zone)).astimezone(timezone.utc)
        out.append(_gps_mismatch(utc, gps, tolerance))
    return out


def _zone_mismatch(offset: timedelta, accepted: set[timedelta], zone: str) -> Reason:
    expected = " / ".join(zones.format_offset(o) for o in sorted(accepted, reverse=True))
    return reason("time.zone-mismatch", offset=zones.format_offset(offset), expected=expected, zone=zone)


def _gps_mismatch(exif_utc: datetime, gps: datetime, tolerance: int) -> Reason:
    return reason("time.gps-mismatch", exif_time=_iso(exif_utc), gps_time=_iso(gps),
                  difference_s=round(abs((exif_utc - gps).total_seconds())), tolerance_s=tolerance)


# --- where ---------------------------------------------------------------------------------

def location_reasons(facts: Facts, ctx: ValidationContext) -> list[Reason]:
    t = ctx.thresholds
    site = ctx.site
    out: list[Reason] = []
    has_gps = facts.gps_lat is not None and facts.gps_lon is not None
    if not has_gps:
        out.append(reason("location.unverifiable"))
    elif site is not None:
        distance = _metres((facts.gps_lat, facts.gps_lon), (site.lat, site.lon))
        allowed = site.radius_m + max(facts.gps_hpe or 0.0, t.min_accuracy_m)
        if distance <= allowed:
            out.append(reason("location.inside-geofence", distance_m=round(distance), allowed_m=round(allowed)))
        else:
            out.append(reason("location.outside-geofence", distance_m=round(distance), allowed_m=round(allowed),
                              radius_m=round(site.radius_m)))
    fix = _fix_at_capture(facts, ctx)
    if fix is None:
        return out
    floor = t.min_accuracy_m
    if site is not None:
        distance = _metres((fix.lat, fix.lon), (site.lat, site.lon))
        allowed = site.radius_m + max(fix.accuracy_m, floor)
        if distance > allowed:
            out.append(reason("location.device-fix-outside-geofence", distance_m=round(distance),
                              allowed_m=round(allowed), fix_time=_iso(fix.time)))
    if has_gps:
        distance = _metres((fix.lat, fix.lon), (facts.gps_lat, facts.gps_lon))
        allowed = max(fix.accuracy_m, floor) + max(facts.gps_hpe or 0.0, floor)
        if distance > allowed:
            out.append(reason("location.device-fix-mismatch", distance_m=round(distance), allowed_m=round(allowed),
                              fix_time=_iso(fix.time)))
    return out


def _fix_at_capture(facts: Facts, ctx: ValidationContext):
    """The device fix nearest the capture time, if one is within the allowed gap."""
    if not ctx.device_fixes:
        return None
    instant, _ = capture_instant(facts, ctx)
    if instant is None:
        return None
    fix = min(ctx.device_fixes, key=lambda f: (abs((f.time - instant).total_seconds()), f.time))
    return fix if abs((fix.time - instant).total_seconds()) <= ctx.thresholds.fix_time_gap_s else None


# --- edited, reused, signed ------------------------------------------------------------------

def edit_reasons(facts: Facts, t: Thresholds) -> list[Reason]:
    out: list[Reason] = []
    software = (facts.software or "").casefold()
    if software:
        if any(name in software for name in t.editor_software):
            out.append(reason("edit.editor-software", software=facts.software))
        elif any(name in software for name in t.transfer_software):
            out.append(reason("edit.transfer-software", software=facts.software))
    if facts.thumbnail_distance is not None and facts.thumbnail_distance > t.thumbnail_max_distance:
        out.append(reason("edit.thumbnail-mismatch", distance=facts.thumbnail_distance,
                          max_distance=t.thumbnail_max_distance))
    return out


def reuse_reasons(ctx: ValidationContext) -> list[Reason]:
    out = [reason("reuse.exact-copy", other_evidence_id=m.evidence_id, other_report_id=m.report_id)
           for m in sorted(ctx.exact_matches, key=lambda m: (m.report_id, m.evidence_id))]
    exact = {m.evidence_id for m in ctx.exact_matches}
    near = sorted((m for m in ctx.near_matches if m.evidence_id not in exact),
                  key=lambda m: (m.distance or 0, m.report_id, m.evidence_id))
    out += [reason("reuse.near-duplicate", other_evidence_id=m.evidence_id, other_report_id=m.report_id,
                   distance=m.distance, max_distance=ctx.thresholds.near_duplicate_distance)
            for m in near[:ctx.thresholds.near_duplicate_max_matches]]
    return out


def c2pa_reasons(facts: Facts) -> list[Reason]:
    state = (facts.c2pa or {}).get("state", "absent")
    signer = (facts.c2pa or {}).get("signer") or ""
    if state == "valid":
        return [reason("c2pa.valid", signer=signer)]
    if state == "trusted":
        return [reason("c2pa.trusted", signer=signer)]
    if state == "invalid":
        return [reason("c2pa.invalid", failures=", ".join(facts.c2pa.get("failures") or []) or "unknown")]
    return []  # absent: neutral
