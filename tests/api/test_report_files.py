"""Declared files a phone can recover from: a refused or lost file is withdrawn or replaced (with a
reason, audited) until the task's review, a supervisor closes a report as incomplete, and the report
body says which files are still missing and why, including bytes a stock tus client "resumed" from
another report's completed upload."""
from __future__ import annotations

import pytest

from domain.audit import AuditEvent
from domain.forms import load_shipped_forms
from domain.outbox import OutboxEntry
from domain.tasks import TaskStatus
from tests.factories.reports import declare, photo, photos_for, report_body, sha
from tests.factories.tasks import task_in
from tests.api.problems import problem

URL = "/api/v1/reports"
VALIDATE = "workers.evidence.validate_report"


@pytest.fixture(autouse=True)
def forms(settings):
    load_shipped_forms()


def submitted(client, world, task, photos):
    resp = client.post(URL, json=report_body(task, photos), headers=world.headers("inspector_east"))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def put(client, world, report_id, client_id, data):
    return client.put(f"{URL}/{report_id}/evidence/{client_id}", data=data,
                      headers={**world.headers("inspector_east"), "Content-Type": "image/jpeg"})


def send_all(client, world, report_id, photos, skip=()):
    for cid, (_d, data) in photos.items():
        if cid not in skip:
            assert put(client, world, report_id, cid, data).status_code == 201


def test_a_tiff_declared_as_jpeg_is_shown_refused_and_replacing_its_declaration_lets_the_report_complete(client, world):
    task = task_in(world)
    photos = photos_for(task)
    tiff = photo(90, "TIFF")
    photos["scene_photos-1"] = (declare("scene_photos-1", tiff, item="scene_photos"), tiff)
    report = submitted(client, world, task, photos)
    send_all(client, world, report["id"], photos, skip={"scene_photos-1"})
    for _ in range(2):  # sending it again is the same refusal, never a 409
        problem(put(client, world, report["id"], "scene_photos-1", tiff), 415, "upload.unsupported-media-type")
    body = client.get(f"{URL}/{report['id']}", headers=world.headers("inspector_east")).get_json()
    assert body["status"] == "incomplete" and body["missing"] == 1
    [missing] = body["missing_files"]
    assert (missing["client_id"], missing["reason"], missing["code"]) == (
        "scene_photos-1", "refused", "upload.unsupported-media-type")

    jpeg = photo(91)
    replaced = client.post(f"{URL}/{report['id']}/evidence/scene_photos-1/replace", headers=world.headers("inspector_east"),
                           json={"reason": "原图为 TIFF，改传 JPEG", "sha256": sha(jpeg), "size": len(jpeg),
                                 "media_type": "image/jpeg"})
    assert replaced.status_code == 200, replaced.get_data(as_text=True)
    entry = next(f for f in replaced.get_json()["evidence"] if f["client_id"] == "scene_photos-1")
    assert entry["sha256"] == sha(jpeg) and entry["replaced"][0]["sha256"] == sha(tiff)
    assert replaced.get_json()["missing_files"][0]["reason"] == "not-arrived"  # the old refusal is gone
    done = put(client, world, report["id"], "scene_photos-1", jpeg)
    assert done.status_code == 201 and done.get_json()["report"]["status"] == "received"
    event = AuditEvent.objects.get(action="report.file-replace", target_id=report["id"])
    assert event.after["reason"] == "原图为 TIFF，改传 JPEG" and event.before["sha256"] == sha(tiff)


def test_withdrawing_the_last_missing_file_receives_the_report_and_a_retry_changes_nothing(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submitted(client, world, task, photos)
    send_all(client, world, report["id"], photos, skip={"scene_photos-2"})
    url = f"{URL}/{report['id']}/evidence/scene_photos-2/withdraw"
    headers = world.headers("inspector_east")
    problem(client.post(url, json={"reason": "丢"}, headers=headers), 422, "request.invalid")  # a reason is needed
    first = client.post(url, json={"reason": "照片误删，无法补传"}, headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert body["status"] == "received" and body["missing"] == 0 and body["missing_files"] == []
    assert next(f for f in body["evidence"] if f["client_id"] == "scene_photos-2")["withdrawn_reason"] == "照片误删，无法补传"
    assert OutboxEntry.objects(job=VALIDATE, args=[report["id"]]).count() == 1
    again = client.post(url, json={"reason": "照片误删，无法补传"}, headers=headers)
    assert again.status_code == 200 and again.get_json()["status"] == "received"
    assert AuditEvent.objects(action="report.file-withdraw", target_id=report["id"]).count() == 1
    assert OutboxEntry.objects(job=VALIDATE, args=[report["id"]]).count() == 1
    problem(put(client, world, report["id"], "scene_photos-2", photos["scene_photos-2"][1]), 409,
            "report.evidence-withdrawn")


def test_a_received_file_cannot_be_withdrawn_and_nothing_changes_after_the_tasks_review(client, world):
    task = task_in(world, status=TaskStatus.REVIEWED)
    photos = photos_for(task)
    report = submitted(client, world, task, photos)  # kept, flagged late
    cid = next(iter(photos))
    put(client, world, report["id"], cid, photos[cid][1])
    headers = world.headers("inspector_east")
    problem(client.post(f"{URL}/{report['id']}/evidence/{cid}/withdraw", json={"reason": "照片拍错了"},
                        headers=headers), 409, "report.evidence-already-received")
    other = next(c for c in photos if c != cid)
    settled = problem(client.post(f"{URL}/{report['id']}/evidence/{other}/withdraw", json={"reason": "照片拍错了"},
                                  headers={**headers, "Accept-Language": "en"}), 409, "report.files-settled")
    assert "task-reviewed" in settled["detail"]


def test_a_supervisor_closes_a_report_as_incomplete_and_the_photos_that_arrived_are_judged(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submitted(client, world, task, photos)
    send_all(client, world, report["id"], photos, skip={"scene_photos-2"})
    url = f"{URL}/{report['id']}/close"
    problem(client.post(url, json={"reason": "文件无法补传"}, headers=world.headers("inspector_east")), 403,
            "access.forbidden")
    closed = client.post(url, json={"reason": "督查员手机损坏，文件无法补传"}, headers=world.headers("supervisor_east"))
    assert closed.status_code == 200, closed.get_data(as_text=True)
    body = closed.get_json()
    assert body["status"] == "closed-incomplete" and body["close_reason"] == "督查员手机损坏，文件无法补传"
    assert [m["client_id"] for m in body["missing_files"]] == ["scene_photos-2"]
    assert OutboxEntry.objects(job=VALIDATE, args=[report["id"]]).count() == 1
    assert AuditEvent.objects(action="report.close-incomplete", target_id=report["id"]).get().after["missing"] == [
        "scene_photos-2"]
    problem(client.post(f"{URL}/{report['id']}/evidence/scene_photos-2/withdraw", json={"reason": "照片拍错了"},
                        headers=world.headers("inspector_east")), 409, "report.files-settled")


def test_bytes_completed_under_another_reports_upload_are_named_in_the_missing_files(client, world):
    """A stock tus client keys stored upload URLs on the file's fingerprint: the same photo declared by a
    second report "resumes" the first report's completed upload, and the second report never gets it."""
    first_task, second_task = task_in(world), task_in(world)
    photos = photos_for(first_task)
    first = submitted(client, world, first_task, photos)
    send_all(client, world, first["id"], photos)
    second = submitted(client, world, second_task, photos)  # the same photos, declared again
    body = client.get(f"{URL}/{second['id']}", headers=world.headers("inspector_east")).get_json()
    assert body["status"] == "incomplete"
    assert {(m["client_id"], m["reason"], m["report_id"]) for m in body["missing_files"]} == {
        (cid, "completed-under-another-report", first["id"]) for cid in photos}
    cid, (_d, data) = next(iter(photos.items()))
    assert put(client, world, second["id"], cid, data).status_code == 201  # sent for this report: it arrives
