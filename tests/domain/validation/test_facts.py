"""Facts read in one pass, safely: every value range-checked, broken files judged, never crashing."""
from __future__ import annotations

import io
import json
import struct
import zlib
from datetime import datetime, timezone

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from domain.validation import Facts, Site, ValidationContext, extract_facts, judge
from domain.validation.facts import extract_facts_guarded

from .photos import CORPUS, JIANGMEN, exif, jpeg, picture

SITE = Site(*JIANGMEN, radius_m=100)
MAY_DAY = {"starts_at": datetime(2026, 5, 1, 1, 0, tzinfo=timezone.utc),
           "ends_at": datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc)}


def verdict_of(path, **context):
    return judge(extract_facts_guarded(path), ValidationContext(site=SITE, **{**MAY_DAY, **context}))


def test_facts_are_json_with_a_stable_digest_and_leave_the_thumbnail_out(corpus_facts):
    facts = corpus_facts("heic/IMG_5195.HEIC")
    data = json.loads(json.dumps(facts.to_dict()))
    again = Facts.from_dict(data)
    assert "thumbnail" not in data and "timings" not in data
    assert again.digest == facts.digest == extract_facts_guarded(CORPUS / "heic/IMG_5195.HEIC").digest
    assert again.digest != corpus_facts("jpg/mobile/jolla.jpg").digest


def test_a_phone_photo_yields_time_offset_subseconds_position_and_accuracy(corpus_facts):
    facts = corpus_facts("heic/IMG_5195.HEIC")
    assert (facts.format, facts.width, facts.height, facts.decode) == ("HEIF", 2566, 3313, "ok")
    assert (facts.capture_local, facts.capture_offset) == ("2021-04-11T15:47:53.054000", "-05:00")
    assert (facts.gps_lat, facts.gps_lon, facts.gps_alt, facts.gps_hpe) == (39.0513444, -94.2887722, 260.56, 38.81)
    assert (facts.make, facts.model, facts.software) == ("Apple", "iPhone 11 Pro Max", "14.4.2")
    assert len(facts.phash) == len(facts.dhash) == 16 and facts.thumbnail[:2] == b"\xff\xd8"


def test_exifread_is_asked_only_when_pillow_reading_is_missing_or_doubtful(corpus_facts, tmp_path):
    assert corpus_facts("jpg/gps/DSCN0010.jpg").readers == ["pillow"]
    assert corpus_facts("heic/IMG_5195.HEIC").readers == ["pillow"]
    nan = extract_facts(jpeg(tmp_path / "nan.jpg", ex=exif(raw_gps={2: (IFDRational(22, 1), IFDRational(0, 0),
                                                                         IFDRational(0, 1))})))
    assert nan.readers == ["pillow", "exifread"]


def test_a_nan_latitude_drops_the_position_and_says_why(tmp_path):
    path = jpeg(tmp_path / "nan.jpg", ex=exif(raw_gps={2: (IFDRational(22, 1), IFDRational(0, 0), IFDRational(0, 1))}))
    facts = extract_facts_guarded(path)
    verdict = verdict_of(path)
    assert (facts.gps_lat, facts.gps_lon, facts.doubts) == (None, None, ["gps.position"])
    assert (str(verdict.outcome), verdict.reason("metadata.invalid-values").params) == ("review", {"fields": "gps.position"})
    assert "location.unverifiable" in verdict.codes


def test_impossible_refs_dates_offsets_and_null_island_are_refused(tmp_path):
    cases = {
        "ref": exif(raw_gps={1: "Q"}),
        "island": exif(position=(0.0, 0.0)),
        "date": exif(capture="2026:13:45 25:00:00"),
        "zero": exif(capture="0000:00:00 00:00:00", offset=None),
        "offset": exif(offset="+19:00"),
        "gpstime": exif(gps_time=("2026:05:01", (25, 0, 0))),
        "altitude": exif(raw_gps={5: b"\x07", 6: IFDRational(10, 1)}),
    }
    doubts = {name: extract_facts(jpeg(tmp_path / f"{name}.jpg", ex=ex)).doubts for name, ex in cases.items()}
    assert doubts == {"ref": ["gps.position"], "island": ["gps.null-island"], "date": ["capture_time"],
                      "zero": ["capture_time"], "offset": ["capture_offset"], "gpstime": ["gps.time"],
                      "altitude": ["gps.altitude"]}


def test_a_truncated_jpeg_fails_although_image_verify_accepts_it(tmp_path):
    data = (CORPUS / "jpg/mobile/jolla.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])
    with Image.open(path) as im:
        im.verify()  # no complaint: verify() reads no scan data
    verdict = verdict_of(path)
    assert (str(verdict.outcome), verdict.codes) == ("fail", ["file.truncated"])


def test_garbage_with_a_jpeg_name_fails_as_unreadable(tmp_path):
    path = tmp_path / "noise.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    verdict = verdict_of(path)
    assert (str(verdict.outcome), verdict.codes) == ("fail", ["file.unreadable"])


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _jpeg_declaring(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_decompression_bombs_fail_without_being_decoded(tmp_path):
    png, jpg = tmp_path / "bomb.png", tmp_path / "bomb.jpg"
    png.write_bytes(_png_declaring(100_000, 100_000))  # 10 gigapixels in 100 bytes
    jpg.write_bytes(_jpeg_declaring(60_000, 60_000))
    for path, pixels in ((png, 10 ** 10), (jpg, 3_600_000_000)):
        verdict = verdict_of(path)
        assert (str(verdict.outcome), verdict.codes) == ("fail", ["file.too-many-pixels"]), path.name
        assert verdict.reasons[0].params == {"pixels": pixels, "max_pixels": 120_000_000}


def test_an_office_cap_below_the_photo_makes_it_a_bomb_for_that_office(corpus_facts):
    from domain.validation import thresholds_for

    verdict = judge(corpus_facts("jpg/mobile/jolla.jpg"), ValidationContext(thresholds=thresholds_for({"max_pixels": 5_000_000})))
    assert verdict.codes == ["file.too-many-pixels"]


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "L"])
def test_pngs_of_every_mode_decode_hash_and_thumbnail(tmp_path, mode):
    image = picture(3, (1600, 1200))
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(128)
    else:
        image = image.convert(mode)
    path = tmp_path / "shot.png"
    image.save(path, "PNG")
    facts = extract_facts_guarded(path)
    assert (facts.format, facts.decode, facts.guard, facts.capture_local) == ("PNG", "ok", None, None)
    assert Image.open(io.BytesIO(facts.thumbnail)).size == (320, 240)


def test_a_capture_time_later_than_the_files_own_time_is_an_impossible_sequence_sent_to_review(tmp_path):
    """Like a Polaroid ION230's photos: DateTimeOriginal hours after the DateTime the camera wrote on saving."""
    impossible = exif(capture="2026:05:01 10:00:00")
    impossible[0x0132] = "2026:05:01 07:30:00"
    facts = extract_facts(jpeg(tmp_path / "ion230.jpg", ex=impossible))
    assert (facts.capture_local, facts.file_time_local) == ("2026-05-01T10:00:00", "2026-05-01T07:30:00")
    verdict = verdict_of(tmp_path / "ion230.jpg")
    found = [r for r in verdict.reasons if r.code == "time.after-file-time"]
    assert found and found[0].params["difference_s"] == 9000 and verdict.outcome in ("review", "fail")

    ordinary = exif(capture="2026:05:01 10:00:00")
    ordinary[0x0132] = "2026:05:01 10:00:01"  # saved a second after the shot, as cameras do
    assert "time.after-file-time" not in {r.code for r in verdict_of(jpeg(tmp_path / "ok.jpg", ex=ordinary)).reasons}
