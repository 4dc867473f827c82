"""Time and place: the task window, the clocks (EXIF, GPS, time zone of the coordinates), the
geofence with its accuracy allowance, and the device's own fixes. Crafted photos where the file
matters, Facts built directly where only the rule does."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from geopy.distance import geodesic

from domain.validation import DeviceFix, Facts, Site, ValidationContext, judge, thresholds_for
from domain.validation.facts import extract_facts_guarded

from .photos import JIANGMEN, URUMQI, exif, jpeg

SITE = Site(*JIANGMEN, radius_m=80)
# Task window 2026-05-01 09:00-11:00 Beijing time
WINDOW = {"starts_at": datetime(2026, 5, 1, 1, 0, tzinfo=timezone.utc),
          "ends_at": datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc)}
CAPTURED = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 +08:00
CONTEXT = ValidationContext(site=SITE, **WINDOW)
PHONE = Facts(sha256="0" * 64, size_bytes=1, format="JPEG", width=4000, height=3000, decode="ok", exif_present=True,
              capture_local="2026-05-01T10:00:00", capture_offset="+08:00", gps_time_utc="2026-05-01T02:00:00Z",
              gps_lat=JIANGMEN[0], gps_lon=JIANGMEN[1], make="Xiaomi", model="Mi 11", phash="0" * 16, dhash="0" * 16)


def away(point, metres, bearing=90):
    return tuple(geodesic(meters=metres).destination(point, bearing))[:2]


def test_an_honest_phone_photo_at_the_site_in_the_window_passes():
    verdict = judge(PHONE, CONTEXT)
    assert (str(verdict.outcome), verdict.codes) == ("pass", ["time.inside-window", "location.inside-geofence"])
    assert verdict.reason("time.inside-window").params == {"capture_time": "2026-05-01T02:00:00Z", "source": "exif-offset"}


def test_a_capture_time_after_the_upload_fails_as_in_the_future(tmp_path):
    path = jpeg(tmp_path / "future.jpg", ex=exif(capture="2026:05:03 10:00:00", gps_time=("2026:05:03", (2, 0, 0))))
    received = datetime(2026, 5, 1, 2, 30, tzinfo=timezone.utc)
    verdict = judge(extract_facts_guarded(path), replace(CONTEXT, received_at=received))
    assert str(verdict.outcome) == "fail"
    assert verdict.reason("time.in-future").params == {"capture_time": "2026-05-03T02:00:00Z",
                                                        "received_at": "2026-05-01T02:30:00Z"}


def test_an_offset_tag_that_contradicts_gps_time_is_review(tmp_path):
    # The tag says 10:00 at +08:00 (02:00 UTC); the GPS receiver says 10:00 UTC.
    path = jpeg(tmp_path / "offset.jpg", ex=exif(capture="2026:05:01 10:00:00", offset="+08:00",
                                                gps_time=("2026:05:01", (10, 0, 0))))
    verdict = judge(extract_facts_guarded(path), CONTEXT)
    assert str(verdict.outcome) == "review"
    assert verdict.reason("time.gps-mismatch").params == {"exif_time": "2026-05-01T02:00:00Z",
                                                           "gps_time": "2026-05-01T10:00:00Z",
                                                           "difference_s": 28800, "tolerance_s": 600}


def test_a_clock_set_to_another_zone_than_the_place_is_a_zone_mismatch():
    # Consistent with GPS (10:00 -05:00 = 15:00 UTC) but taken in Jiangmen, where clocks show +08:00.
    facts = replace(PHONE, capture_local="2026-05-01T10:00:00", capture_offset="-05:00",
                    gps_time_utc="2026-05-01T15:00:00Z")
    verdict = judge(facts, replace(CONTEXT, starts_at=CAPTURED + timedelta(hours=12),
                                   ends_at=CAPTURED + timedelta(hours=14)))
    assert verdict.reason("time.zone-mismatch").params == {"offset": "-05:00", "expected": "+08:00",
                                                            "zone": "Asia/Shanghai"}
    assert "time.gps-mismatch" not in verdict.codes


def test_without_an_offset_tag_the_gps_implied_offset_is_checked_against_the_zone():
    beijing_clock = replace(PHONE, capture_offset=None)
    tokyo_clock = replace(PHONE, capture_offset=None, capture_local="2026-05-01T11:00:00")
    assert "time.zone-mismatch" not in judge(beijing_clock, CONTEXT).codes
    assert judge(tokyo_clock, CONTEXT).reason("time.zone-mismatch").params["offset"] == "+09:00"


@pytest.mark.parametrize("offset,mismatch", [("+08:00", False), ("+06:00", False), ("+09:00", True)])
def test_xinjiang_accepts_beijing_time_and_local_plus_six(offset, mismatch):
    local = (CAPTURED + timedelta(hours=int(offset[1:3]))).replace(tzinfo=None).isoformat()
    facts = replace(PHONE, capture_local=local, capture_offset=offset, gps_lat=URUMQI[0], gps_lon=URUMQI[1])
    verdict = judge(facts, ValidationContext(site=Site(*URUMQI, 100), **WINDOW))
    assert ("time.zone-mismatch" in verdict.codes) is mismatch
    assert "time.inside-window" in verdict.codes


def test_the_window_tolerance_comes_from_the_task_or_the_office():
    late = replace(PHONE, capture_local="2026-05-01T11:40:00", gps_time_utc="2026-05-01T03:40:00Z")
    assert "time.outside-window" in judge(late, CONTEXT).codes  # 40 min late, 30 min default
    assert "time.inside-window" in judge(late, replace(CONTEXT, tolerance_s=3600)).codes
    office = thresholds_for({"window_tolerance_s": 45 * 60})
    assert "time.inside-window" in judge(late, replace(CONTEXT, thresholds=office)).codes


def test_a_measured_device_clock_offset_corrects_the_camera_clock():
    fast = replace(PHONE, capture_local="2026-05-01T12:30:00", capture_offset="+08:00", gps_time_utc=None)
    assert "time.outside-window" in judge(fast, CONTEXT).codes
    corrected = judge(fast, replace(CONTEXT, device_clock_offset_s=2 * 3600))  # the phone runs 2 h fast
    assert corrected.reason("time.inside-window").params["capture_time"] == "2026-05-01T02:30:00Z"


def test_the_positioning_error_widens_the_geofence():
    facts = replace(PHONE, gps_lat=away(JIANGMEN, 150)[0], gps_lon=away(JIANGMEN, 150)[1])
    assert judge(facts, CONTEXT).reason("location.outside-geofence").params == {
        "distance_m": 150, "allowed_m": 100, "radius_m": 80}
    assert judge(replace(facts, gps_hpe=90.0), CONTEXT).reason("location.inside-geofence").params == {
        "distance_m": 150, "allowed_m": 170}


def test_device_fixes_confirm_or_contradict_the_photo():
    at_site = DeviceFix(*away(JIANGMEN, 10), accuracy_m=15, time=CAPTURED + timedelta(seconds=20))
    verdict = judge(PHONE, replace(CONTEXT, device_fixes=(at_site,)))
    assert str(verdict.outcome) == "pass"

    elsewhere = DeviceFix(*away(JIANGMEN, 2000), accuracy_m=30, time=CAPTURED)
    verdict = judge(PHONE, replace(CONTEXT, device_fixes=(elsewhere,)))
    assert str(verdict.outcome) == "review"
    assert verdict.reason("location.device-fix-mismatch").params == {
        "distance_m": 2000, "allowed_m": 50, "fix_time": "2026-05-01T02:00:00Z"}
    assert verdict.reason("location.device-fix-outside-geofence").params == {
        "distance_m": 2000, "allowed_m": 110, "fix_time": "2026-05-01T02:00:00Z"}


def test_no_device_fix_near_the_capture_time_is_review():
    early = DeviceFix(*JIANGMEN, accuracy_m=10, time=CAPTURED - timedelta(hours=1))
    verdict = judge(PHONE, replace(CONTEXT, device_fixes=(early,)))
    assert verdict.reason("time.no-device-fix").params == {
        "capture_time": "2026-05-01T02:00:00Z", "gap_s": 3600, "max_gap_s": 600}
    assert "location.device-fix-mismatch" not in verdict.codes  # a fix an hour away proves nothing


def test_without_exif_time_the_gps_time_is_used_and_without_both_it_is_unverifiable():
    gps_only = replace(PHONE, capture_local=None, capture_offset=None)
    assert judge(gps_only, CONTEXT).reason("time.inside-window").params["source"] == "gps"
    nothing = replace(gps_only, gps_time_utc=None)
    assert "time.unverifiable" in judge(nothing, CONTEXT).codes


def test_the_verdict_is_deterministic_and_the_worst_reason_wins():
    context = replace(CONTEXT, device_fixes=(DeviceFix(*away(JIANGMEN, 2000), 30, CAPTURED),))
    first, second = judge(PHONE, context), judge(replace(PHONE), context)
    assert first == second and first.to_dict() == second.to_dict()
    assert first.facts_digest == PHONE.digest and first.validator_version >= 1
    outside = replace(PHONE, gps_lat=away(JIANGMEN, 5000)[0], gps_lon=away(JIANGMEN, 5000)[1])
    assert str(judge(outside, context).outcome) == "fail"


def test_office_overrides_refuse_unknown_names():
    with pytest.raises(ValueError, match="unknown validation thresholds: window_tolerance"):
        thresholds_for({"window_tolerance": 60})
    with pytest.raises(ValueError):
        thresholds_for({"near_duplicate_distance": 12})
