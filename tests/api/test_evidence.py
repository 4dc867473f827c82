"""Serving evidence: working copies without metadata, originals only to the office, every read a custody
event in the task's office chain (a thumbnail list is one event), and 404 for whoever may not see it."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from domain.access import SYSTEM
from domain.audit import AuditEvent
from domain.evidence import validation
from tests.factories.evidence import corpus_task, evidence_of, received_report

FILES = {"gps": "jpg/gps/DSCN0010.jpg", "blue": "jpg/xmp/BlueSquare.jpg", "hdr": "jpg/hdr/iphone_hdr_NO.jpg"}


@pytest.fixture
def photos(world):
    report = received_report(world, corpus_task(world), FILES)
    for record in evidence_of(report.pk).values():
        validation.validate_evidence(SYSTEM, record.pk)
        validation.make_evidence_preview(SYSTEM, record.pk)
    return report, {k: str(v.pk) for k, v in evidence_of(report.pk).items()}


def _no_metadata(data: bytes):
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        assert not exif and not exif.get_ifd(0x8825), "EXIF or GPS left in a working copy"
        assert "exif" not in image.info and "icc_profile" not in image.info and "xmp" not in image.info
        assert b"NIKON" not in data and b"COOLPIX" not in data and b"Nikon Transfer" not in data
        return image.size


def test_the_thumbnail_and_preview_carry_no_exif_gps_make_or_model(client, world, photos):
    _report, ids = photos
    headers = world.headers("supervisor_east")
    thumb = client.get(f"/api/v1/evidence/{ids['gps']}/thumbnail", headers=headers)
    preview = client.get(f"/api/v1/evidence/{ids['gps']}/preview", headers=headers)
    assert thumb.status_code == preview.status_code == 200
    assert thumb.mimetype == "image/jpeg" and "private" in thumb.headers["Cache-Control"]
    assert max(_no_metadata(thumb.data)) == 320 and max(_no_metadata(preview.data)) <= 1600
    record = evidence_of(_report.pk)["gps"]
    assert thumb.headers["ETag"].strip('"') == record.thumbnail_sha256
    again = client.get(f"/api/v1/evidence/{ids['gps']}/preview",
                       headers={**headers, "If-None-Match": preview.headers["ETag"]})
    assert again.status_code == 304


def test_each_read_of_a_preview_or_original_is_a_custody_event_naming_the_reader(client, world, photos):
    _report, ids = photos
    assert client.get(f"/api/v1/evidence/{ids['gps']}/preview", headers=world.headers("leader_city")).status_code == 200
    original = client.get(f"/api/v1/evidence/{ids['gps']}/original", headers=world.headers("supervisor_east"))
    assert original.status_code == 200 and b"NIKON" in original.data  # the bytes the phone sent, metadata and all
    read = AuditEvent.objects.get(action="evidence.read-preview")
    assert read.actor_name == "leader_city" and read.after["reader_role"] == "leader"
    assert read.chain == str(world.unit("office_east").pk) and read.target_id == ids["gps"]
    opened = AuditEvent.objects.get(action="evidence.read-original")
    assert opened.actor_name == "supervisor_east" and opened.target_id == ids["gps"]


def test_a_list_of_thumbnails_is_one_custody_event_naming_every_photo_shown(client, world, photos):
    report, ids = photos
    resp = client.get(f"/api/v1/reports/{report.pk}/evidence?thumbnails=true", headers=world.headers("inspector_east"))
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert all(i["thumbnail_base64"] for i in items) and {i["outcome"] for i in items} <= {"pass", "review", "fail"}
    [event] = AuditEvent.objects(action="evidence.list-thumbnails")
    assert sorted(event.after["evidence"]) == sorted(ids.values()) and event.actor_name == "inspector_east"
    plain = client.get(f"/api/v1/reports/{report.pk}/evidence", headers=world.headers("inspector_east"))
    assert plain.get_json()["items"][0]["thumbnail_base64"] is None
    assert AuditEvent.objects(action="evidence.list-thumbnails").count() == 1


@pytest.mark.parametrize("suffix,method", [("/thumbnail", "GET"), ("/preview", "GET"), ("/original", "GET"),
                                           ("/override", "POST")])
def test_a_liaison_and_an_out_of_scope_supervisor_get_404_on_every_evidence_endpoint(client, world, photos,
                                                                                      suffix, method):
    _report, ids = photos
    for persona in ("liaison_water", "supervisor_west"):
        resp = client.open(f"/api/v1/evidence/{ids['gps']}{suffix}", method=method, headers=world.headers(persona),
                           json={"verdict": "pass", "reason": "复核后认定有效"} if method == "POST" else None)
        assert resp.status_code == 404, (persona, resp.get_data(as_text=True))
        assert resp.get_json()["code"] == "evidence.not-found"
    assert not AuditEvent.objects(action__startswith="evidence.read").count()


def test_only_the_office_and_admins_open_originals(client, world, photos):
    _report, ids = photos
    for persona, status in (("inspector_east", 403), ("leader_city", 403), ("admin", 200)):
        assert client.get(f"/api/v1/evidence/{ids['blue']}/original",
                          headers=world.headers(persona)).status_code == status, persona


def test_the_summary_renders_reasons_in_both_languages_and_an_override_is_kept_beside_the_verdict(client, world,
                                                                                                  photos):
    report, ids = photos
    resp = client.post(f"/api/v1/evidence/{ids['blue']}/override", headers=world.headers("supervisor_east"),
                       json={"verdict": "pass", "reason": "短"})
    assert resp.status_code == 422
    resp = client.post(f"/api/v1/evidence/{ids['blue']}/override", headers=world.headers("supervisor_east"),
                       json={"verdict": "pass", "reason": "原图经督查室核实，系现场拍摄"})
    assert resp.status_code == 200 and resp.get_json()["verdict_outcome"] == "review"
    body = client.get(f"/api/v1/reports/{report.pk}/summary", headers=world.headers("leader_city")).get_json()
    blue = next(p for p in body["photos"] if p["id"] == ids["blue"])
    assert blue["outcome"] == "pass" and blue["verdict_outcome"] == "review" and blue["override"]["by_name"]
    editor = next(r for r in blue["reasons"] if r["code"] == "edit.editor-software")
    assert "Photoshop" in editor["text"]["en"]["detail"] and editor["text"]["zh-CN"]["title"]
    assert body["counts"]["pass"] == 1 and body["total"] == 3


def test_an_identical_retry_of_an_override_answers_the_same_and_writes_no_second_audit_event(client, world, photos):
    _report, ids = photos
    url, headers = f"/api/v1/evidence/{ids['blue']}/override", world.headers("supervisor_east")
    body = {"verdict": "fail", "reason": "照片与现场不符，经核实为旧照片"}
    first = client.post(url, headers=headers, json=body)
    retry = client.post(url, headers=headers, json=body)
    assert first.status_code == retry.status_code == 200
    assert retry.get_json()["override"] == first.get_json()["override"]
    assert AuditEvent.objects(action="evidence.override", target_id=ids["blue"]).count() == 1
    changed = client.post(url, headers=headers, json={**body, "reason": "复核后改判：照片为旧照片"})
    assert changed.status_code == 200
    assert AuditEvent.objects(action="evidence.override", target_id=ids["blue"]).count() == 2
