"""Every corpus file judged against a stated site and task window: the verdict its manifest implies,
asserted by reason code. Each case names the site (WGS-84 point, radius) and window (UTC) it uses."""
from __future__ import annotations

import csv
from datetime import datetime, timezone

import pytest
from geopy.distance import geodesic

from domain.validation import Site, ValidationContext, judge

from .photos import CORPUS, JIANGMEN


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def window(start: str, end: str) -> dict:
    return {"starts_at": utc(start), "ends_at": utc(end)}


DSCN0010 = (43.4674483, 11.8851267)
FIFTY_M_NORTH = tuple(geodesic(meters=50).destination(DSCN0010, 0))[:2]
FIVE_KM_NORTH = tuple(geodesic(meters=5000).destination(DSCN0010, 0))[:2]
WALK = window("2008-10-22T14:00", "2008-10-22T15:00")  # the walk near Arezzo, 16:xx CEST
JIANGMEN_SITE = Site(*JIANGMEN, radius_m=100)

# file, site, window, outcome, reason codes
CASES = [
    ("heic/IMG_5195.HEIC", Site(39.051344, -94.288772, 50), window("2021-04-11T20:00", "2021-04-11T21:00"),
     "pass", {"time.inside-window", "location.inside-geofence"}),
    ("jpg/hdr/iphone_hdr_NO.jpg", Site(40.446972, -3.724753, 50), window("2015-04-10T18:00", "2015-04-10T19:00"),
     "pass", {"time.inside-window", "location.inside-geofence"}),
    ("jpg/Canon_40D.jpg", JIANGMEN_SITE, window("2008-05-30T07:00", "2008-05-30T09:00"),
     "review", {"time.inside-window", "location.unverifiable", "edit.editor-software"}),
    ("jpg/Kodak_CX7530.jpg", Site(-0.3713, 36.056417, 50), window("2005-08-13T06:00", "2005-08-13T07:00"),
     "review", {"time.inside-window", "location.inside-geofence", "edit.editor-software"}),
    ("jpg/PaintTool_sample.jpg", JIANGMEN_SITE, window("2026-05-01T00:00", "2026-05-01T10:00"),
     "review", {"time.unverifiable", "location.unverifiable", "edit.editor-software"}),
    ("jpg/corrupted.jpg", JIANGMEN_SITE, window("2015-09-08T02:00", "2015-09-08T04:00"),
     "review", {"time.inside-window", "location.unverifiable"}),
    ("jpg/gps/DSCN0010.jpg", Site(*FIFTY_M_NORTH, 100), WALK,
     "review", {"time.inside-window", "time.gps-mismatch", "location.inside-geofence", "edit.transfer-software"}),
    ("jpg/gps/DSCN0010.jpg", Site(*FIVE_KM_NORTH, 100), WALK,
     "fail", {"time.inside-window", "time.gps-mismatch", "location.outside-geofence", "edit.transfer-software"}),
    ("jpg/gps/DSCN0012.jpg", Site(*DSCN0010, 100), WALK,
     "review", {"time.inside-window", "time.gps-mismatch", "location.inside-geofence", "edit.transfer-software"}),
    ("jpg/gps/DSCN0021.jpg", Site(*DSCN0010, 100), WALK,
     "review", {"time.inside-window", "time.gps-mismatch", "location.inside-geofence", "edit.transfer-software"}),
    ("jpg/gps/DSCN0025.jpg", Site(*DSCN0010, 100), WALK,
     "fail", {"time.inside-window", "time.gps-mismatch", "location.outside-geofence", "edit.transfer-software"}),
    ("jpg/invalid/image01137.jpg", JIANGMEN_SITE, window("2026-05-01T00:00", "2026-05-01T10:00"),
     "review", {"time.unverifiable", "location.unverifiable"}),
    ("jpg/mobile/jolla.jpg", JIANGMEN_SITE, window("2014-09-21T07:30", "2014-09-21T09:00"),
     "review", {"time.inside-window", "location.unverifiable"}),
    ("jpg/mobile/jolla.jpg", JIANGMEN_SITE, window("2026-05-01T00:00", "2026-05-01T10:00"),
     "fail", {"time.outside-window", "location.unverifiable"}),
    ("jpg/orientation/landscape_6.jpg", JIANGMEN_SITE, window("2026-05-01T00:00", "2026-05-01T10:00"),
     "review", {"time.unverifiable", "location.unverifiable"}),
    ("jpg/tests/35-empty.jpg", JIANGMEN_SITE, window("2005-07-19T10:00", "2005-07-19T11:00"),
     "review", {"time.inside-window", "location.unverifiable", "edit.thumbnail-mismatch"}),
    ("jpg/tests/36-memory_error.jpg", JIANGMEN_SITE, window("2002-04-20T16:00", "2002-04-20T17:00"),
     "review", {"time.inside-window", "location.unverifiable"}),
    ("jpg/xmp/BlueSquare.jpg", JIANGMEN_SITE, window("2026-05-01T00:00", "2026-05-01T10:00"),
     "review", {"time.unverifiable", "location.unverifiable", "edit.editor-software"}),
    ("tiff/BSG1.tiff", JIANGMEN_SITE, window("2026-05-01T00:00", "2026-05-01T10:00"),
     "fail", {"file.format-not-allowed"}),
]


@pytest.mark.parametrize("relative,site,span,outcome,codes", CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_corpus_file_gets_the_verdict_its_manifest_implies(corpus_facts, relative, site, span, outcome, codes):
    verdict = judge(corpus_facts(relative), ValidationContext(site=site, **span))
    assert (str(verdict.outcome), set(verdict.codes)) == (outcome, codes)


def test_every_corpus_file_has_a_stated_case():
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file() and p.suffix not in (".md", ".tsv")}
    assert files == {c[0] for c in CASES}


def manifest_rows():
    with open(CORPUS / "MANIFEST.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.mark.parametrize("row", manifest_rows(), ids=lambda r: r["file"])
def test_facts_agree_with_the_manifest(corpus_facts, row):
    facts = corpus_facts(row["file"])
    assert facts.sha256.startswith(row["sha256_prefix"])
    assert (facts.format, facts.width, facts.height) == (row["format"], int(row["width"]), int(row["height"]))
    expected_time = row["date_time_original"].replace(":", "-", 2).replace(" ", "T")
    if row["file"] == "jpg/xmp/BlueSquare.jpg":
        # The manifest lists IFD0 DateTime there (Photoshop's save time): BlueSquare has no
        # DateTimeOriginal, and a save time is never taken for a capture time.
        expected_time = ""
    assert (facts.capture_local or "")[:19] == expected_time
    if row["gps_lat"]:
        assert facts.gps_lat == pytest.approx(float(row["gps_lat"]), abs=1e-5)
        assert facts.gps_lon == pytest.approx(float(row["gps_lon"]), abs=1e-5)
    else:
        assert facts.gps_lat is None
    assert (facts.software or "") == row["software"].strip()


def test_the_numbers_behind_the_geofence_reasons_are_given(corpus_facts):
    near = judge(corpus_facts("jpg/gps/DSCN0010.jpg"), ValidationContext(site=Site(*FIFTY_M_NORTH, 100), **WALK))
    far = judge(corpus_facts("jpg/gps/DSCN0010.jpg"), ValidationContext(site=Site(*FIVE_KM_NORTH, 100), **WALK))
    assert near.reason("location.inside-geofence").params == {"distance_m": 50, "allowed_m": 120}
    assert far.reason("location.outside-geofence").params == {"distance_m": 5000, "allowed_m": 120, "radius_m": 100}


def test_a_transfer_tool_is_review_by_design_even_when_time_and_place_hold(corpus_facts):
    reason = judge(corpus_facts("jpg/gps/DSCN0012.jpg"), ValidationContext(site=Site(*DSCN0010, 100), **WALK)) \
        .reason("edit.transfer-software")
    assert (str(reason.outcome), reason.params) == ("review", {"software": "Nikon Transfer 1.1 W"})


def test_the_dscn_gps_date_a_day_ahead_of_the_camera_clock_is_named(corpus_facts):
    """The P6000 wrote GPSDateStamp 2008:10:23 for a walk the camera clock puts on the 22nd."""
    verdict = judge(corpus_facts("jpg/gps/DSCN0010.jpg"), ValidationContext(site=Site(*DSCN0010, 100), **WALK))
    assert verdict.reason("time.gps-mismatch").params == {
        "exif_time": "2008-10-22T14:28:39Z", "gps_time": "2008-10-23T14:27:07Z", "difference_s": 86308,
        "tolerance_s": 600}
