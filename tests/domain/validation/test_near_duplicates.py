"""Reuse across reports on the real database: the same bytes fail, a re-encoded or re-oriented
copy is a near-duplicate naming the other photo, different shots are not, and the banded index
misses nothing that a full scan would find."""
from __future__ import annotations

import random

import pytest
from bson import ObjectId
from PIL import Image

from domain import storage
from domain.reports import Evidence
from domain.validation import ValidationContext, band_keys, judge, lookup_reuse, thresholds_for
from domain.validation.facts import extract_facts_guarded
from domain.validation.hashes import distance, to_hex
from domain.validation.near_duplicates import find_near_duplicates

from .photos import CORPUS, exif, jpeg, picture
from domain import clock

_IDS: dict[str, ObjectId] = {}


def oid_of(name: str) -> ObjectId:
    """A stable ObjectId per readable name ("ev-a", "report-a") for these tests."""
    return _IDS.setdefault(name, ObjectId())


def id_of(name: str) -> str:
    return str(oid_of(name))


@pytest.fixture(autouse=True)
def indexes(settings):
    Evidence.ensure_indexes()


def stored_evidence(evidence_id: ObjectId, report_id: ObjectId, sha256: str, phash: str | None,
                    dhash: str | None) -> dict:
    """What the lookups read of a judged photo's record (the verdict job writes these with its verdict)."""
    return {"_id": evidence_id, "report": report_id, "client_id": str(evidence_id), "sha256": sha256,
            "facts": {"phash": phash, "dhash": dhash},
            "phash_keys": band_keys(phash), "validated_at": clock.now()}


def record(facts, evidence_name, report_name):
    Evidence._get_collection().insert_one(stored_evidence(oid_of(evidence_name), oid_of(report_name), facts.sha256,
                                                          facts.phash, facts.dhash))


def verdict_for(facts, report_name):
    exact, near = lookup_reuse(facts, report_id=id_of(report_name))
    return judge(facts, ValidationContext(report_id=id_of(report_name), exact_matches=exact, near_matches=near))


def test_a_re_encoded_copy_of_an_earlier_photo_is_a_near_duplicate_naming_it(tmp_path):
    original = extract_facts_guarded(jpeg(tmp_path / "a.jpg", picture(5, (1600, 1200)), ex=exif(), quality=92))
    record(original, "ev-a", "report-a")
    copy_image = picture(5, (1600, 1200))
    copy_image.thumbnail((1024, 1024))
    copy = extract_facts_guarded(jpeg(tmp_path / "b.jpg", copy_image, quality=55))
    assert copy.sha256 != original.sha256
    verdict = verdict_for(copy, "report-b")
    reason = verdict.reason("reuse.near-duplicate")
    assert str(verdict.outcome) == "review"
    assert reason.params["other_evidence_id"] == id_of("ev-a") and reason.params["other_report_id"] == id_of("report-a")
    assert reason.params["distance"] <= reason.params["max_distance"] == 5


def test_the_same_pixels_under_another_orientation_tag_match_after_rotation(tmp_path):
    stored = Image.open(CORPUS / "jpg/orientation/landscape_6.jpg").convert("RGB")  # 450x600 as stored
    upright = jpeg(tmp_path / "upright.jpg", stored.transpose(Image.Transpose.ROTATE_270), quality=90)
    tagged = jpeg(tmp_path / "tagged.jpg", stored, ex=exif(orientation=6, position=None), quality=90)
    first, second = extract_facts_guarded(upright), extract_facts_guarded(tagged)
    assert (first.width, second.width) == (600, 450)
    record(first, "ev-upright", "report-a")
    assert verdict_for(second, "report-b").reason("reuse.near-duplicate").params["other_evidence_id"] == \
        id_of("ev-upright")
    # Hashed as stored, the two would be far apart: the rotation is what makes them match.
    raw = extract_facts_guarded(jpeg(tmp_path / "raw.jpg", stored, quality=90))
    assert distance(raw.phash, first.phash) > 20


def test_the_same_bytes_in_another_report_fail_and_in_the_same_report_do_not(corpus_facts):
    facts = corpus_facts("jpg/mobile/jolla.jpg")
    record(facts, "ev-1", "report-a")
    other = verdict_for(facts, "report-b")
    same = verdict_for(facts, "report-a")
    assert str(other.outcome) == "fail"
    assert other.reason("reuse.exact-copy").params == {"other_evidence_id": id_of("ev-1"),
                                                       "other_report_id": id_of("report-a")}
    assert "reuse.near-duplicate" not in other.codes  # the exact copy is not reported twice
    assert not [c for c in same.codes if c.startswith("reuse.")]


def test_different_shots_of_one_walk_are_not_near_duplicates(corpus_facts):
    for n, name in enumerate(("DSCN0012", "DSCN0021", "DSCN0025")):
        record(corpus_facts(f"jpg/gps/{name}.jpg"), f"ev-{n}", "report-a")
    exact, near = lookup_reuse(corpus_facts("jpg/gps/DSCN0010.jpg"), report_id=id_of("report-b"))
    assert (exact, near) == ((), ())


def test_a_photo_not_judged_yet_is_no_reuse_source(corpus_facts):
    facts = corpus_facts("jpg/mobile/jolla.jpg")
    record(facts, "ev-1", "report-a")
    Evidence._get_collection().update_one({"_id": oid_of("ev-1")}, {"$unset": {"validated_at": "", "phash_keys": ""}})
    assert lookup_reuse(facts, report_id=id_of("report-b")) == ((), ())


@pytest.mark.parametrize("limit", [5, 8])
def test_the_banded_lookup_finds_exactly_what_a_full_scan_finds(corpus_facts, limit):
    rng = random.Random(limit)
    base = corpus_facts("jpg/mobile/jolla.jpg")
    thresholds = thresholds_for({"near_duplicate_distance": limit, "near_duplicate_dhash_distance": 64,
                                 "near_duplicate_max_matches": 1000})
    queries = [rng.getrandbits(64) for _ in range(20)]
    stored = []
    for q in queries:  # neighbours at every distance up to limit + 2, bits anywhere in the 64
        for d in range(limit + 3):
            for _ in range(3):
                flipped = q
                for bit in rng.sample(range(64), d):
                    flipped ^= 1 << bit
                stored.append(flipped)
    stored += [rng.getrandbits(64) for _ in range(300)]
    ids = [ObjectId() for _ in stored]
    Evidence._get_collection().insert_many([stored_evidence(i, oid_of("stored"), base.sha256, to_hex(h), None)
                                            for i, h in zip(ids, stored)])
    for q in queries:
        found = {m.evidence_id for m in find_near_duplicates(to_hex(q), None, report_id=id_of("new"),
                                                             thresholds=thresholds)}
        scan = {str(i) for i, h in zip(ids, stored) if distance(q, h) <= limit}
        assert found == scan and len(scan) >= 3 * (limit + 1)


def test_the_stepwise_assessment_finds_what_the_one_shot_lookup_finds(tmp_path):
    from domain.validation import DEFAULT_THRESHOLDS, PhotoAssessment, PhotoReading

    original = jpeg(tmp_path / "a.jpg", picture(5, (1600, 1200)), ex=exif(), quality=92)
    record(extract_facts_guarded(original), "e-original", "report-a")
    copy = jpeg(tmp_path / "b.jpg", picture(5, (1600, 1200)).resize((1200, 900)), quality=60)
    one_shot = verdict_for(extract_facts_guarded(copy), "report-b")
    facts = extract_facts_guarded(copy)
    with PhotoReading(copy, max_pixels=DEFAULT_THRESHOLDS.max_pixels) as reading:
        assessment = PhotoAssessment(reading, ValidationContext(report_id=id_of("report-b")), sha256=facts.sha256)
        assessment.exact_matches()
        early = assessment.near_matches()  # from the hashes the child sent before the thumbnail
        stepwise = assessment.result()
    assert "reuse.near-duplicate" in one_shot.codes and stepwise.verdict.codes == one_shot.codes
    assert [m.evidence_id for m in early] == [id_of("e-original")]
    assert stepwise.verdict.reason("reuse.near-duplicate").params == one_shot.reason("reuse.near-duplicate").params


def test_a_read_that_dies_after_sending_its_hashes_is_judged_on_what_the_failure_leaves():
    from domain.validation import DEFAULT_THRESHOLDS, PhotoAssessment, PhotoReading

    from . import hostile

    path = CORPUS / "jpg" / "gps" / "DSCN0010.jpg"
    facts = extract_facts_guarded(path)
    record(facts, "e-elsewhere", "report-a")
    with PhotoReading(path, max_pixels=DEFAULT_THRESHOLDS.max_pixels, reader=hostile.hashes_then_crash) as reading:
        assessment = PhotoAssessment(reading, ValidationContext(report_id=id_of("report-b")), sha256=facts.sha256)
        assert reading.early_hashes().phash == "0" * 16  # what the child sent before it died
        assessment.near_matches()
        result = assessment.result()
    assert result.facts.guard["kind"] == "crash" and result.facts.phash is None
    assert result.verdict.codes == ["metadata.parser-crash", "reuse.exact-copy"]
