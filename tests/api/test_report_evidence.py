"""Declared evidence arriving through the test client: the plain PUT and tus (target=evidence), the report
turning received with its last file, what is refused with nothing kept, and who reads evidence metadata."""
from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from domain.audit import AuditEvent
from domain.forms import load_shipped_forms
from domain.outbox import OutboxEntry
from domain.reports import Evidence, Report
from domain.uploads import Upload
from tests.factories.reports import declare, photo, photos_for, report_body, sha
from tests.factories.tasks import task_in
from tests.api.problems import problem

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or ROOT.parent / "shared" / "evidence-corpus")
CORPUS_PHOTOS = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".jpg", ".heic"))
TIFF = CORPUS / "tiff" / "BSG1.tiff"
URL = "/api/v1/reports"
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}
VALIDATE = "workers.evidence.validate_report"


@pytest.fixture(autouse=True)
def clean_files(settings):
    load_shipped_forms()
    for sub in ("blobs", "uploads"):
        shutil.rmtree(settings.data_dir / sub, ignore_errors=True)


def blobs(settings) -> list[Path]:
    root = settings.data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts) if root.exists() else []


def submit(client, world, task, photos, **overrides) -> dict:
    resp = client.post(URL, json=report_body(task, photos, **overrides), headers=world.headers("inspector_east"))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def put(client, world, report_id, client_id, data, persona="inspector_east", content_type="image/jpeg"):
    return client.put(f"{URL}/{report_id}/evidence/{client_id}", data=data,
                      headers={**world.headers(persona), "Content-Type": content_type})


def tus_create(client, world, report_id, client_id, data, persona="inspector_east", body=None, declared=None):
    meta = {"target": "evidence", "sha256": declared or sha(data), "target_id": f"{report_id}:{client_id}",
            "filename": f"{client_id}.jpg"}
    headers = {**world.headers(persona), **TUS, "Upload-Length": str(len(data)),
               "Upload-Metadata": ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())}
    if body is not None:
        headers.update(OCTETS)
    return client.post("/api/v1/uploads", data=body, headers=headers)


def tus_patch(client, world, location, data, persona="inspector_east"):
    return client.patch(location, data=data, headers={**world.headers(persona), **TUS, **OCTETS, "Upload-Offset": "0"})


def validations(report_id) -> int:
    return OutboxEntry.objects(job=VALIDATE, args=[report_id]).count()


def test_plain_files_leave_the_report_incomplete_until_the_last_one_arrives(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    ids = list(photos)
    for n, client_id in enumerate(ids, start=1):
        resp = put(client, world, report["id"], client_id, photos[client_id][1])
        assert resp.status_code == 201, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["evidence"]["sha256"] == photos[client_id][0]["sha256"]
        assert body["evidence"]["media_type"] == "image/jpeg" and body["evidence"]["protocol"] == "plain"
        last = n == len(ids)
        assert body["report"]["status"] == ("received" if last else "incomplete")
        assert body["report"]["missing"] == len(ids) - n
        assert validations(report["id"]) == (1 if last else 0)
    shown = client.get(f"{URL}/{report['id']}", headers=world.headers("inspector_east")).get_json()
    assert shown["status"] == "received" and shown["completed_at"] and all(f["received"] for f in shown["evidence"])
    assert AuditEvent.objects(action="upload.complete").count() == 3


def test_tus_files_complete_the_report_with_the_last_patch(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    (first, (_, a)), (second, (_, b)), (third, (_, c)) = photos.items()
    assert put(client, world, report["id"], first, a).status_code == 201
    whole = tus_create(client, world, report["id"], second, b, body=b)  # creation-with-upload: done at once
    assert whole.status_code == 201, whole.get_data(as_text=True)
    assert Report.objects.get(pk=report["id"]).status == "incomplete" and validations(report["id"]) == 0
    created = tus_create(client, world, report["id"], third, c)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert Report.objects.get(pk=report["id"]).status == "incomplete"
    done = tus_patch(client, world, created.headers["Location"], c)
    assert done.status_code == 204, done.get_data(as_text=True)
    upload = client.get(created.headers["Location"], headers=world.headers("inspector_east")).get_json()
    assert upload["result"]["report_status"] == "received" and upload["result"]["client_id"] == third
    assert Report.objects.get(pk=report["id"]).status == "received" and validations(report["id"]) == 1
    assert {e.protocol for e in Evidence.objects(report=report["id"])} == {"plain", "tus"}


def test_tus_creation_is_refused_for_a_foreign_report_an_undeclared_or_a_received_file(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    client_id, (_, data) = next(iter(photos.items()))
    foreign = tus_create(client, world, report["id"], client_id, data, persona="supervisor_east")
    problem(foreign, 404, "report.not-found")
    problem(tus_create(client, world, report["id"], "nope", data), 404, "report.evidence-not-declared")
    problem(tus_create(client, world, "bad-target", client_id, data), 422, "upload.metadata-invalid")
    assert put(client, world, report["id"], client_id, data).status_code == 201
    problem(tus_create(client, world, report["id"], client_id, data), 409, "report.evidence-already-received")
    assert Upload.objects(protocol="tus").count() == 0


def test_a_tus_file_whose_hash_differs_from_the_report_s_declaration_is_refused_and_not_kept(client, world, settings):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    client_id = next(iter(photos))
    other = photo(77)  # intact, and hashed correctly in the upload's own metadata: but not what the report declared
    # Refused at creation, before a byte is sent: the declared hash and size go to the target's check.
    problem(tus_create(client, world, report["id"], client_id, other), 422, "report.evidence-mismatch")
    assert Evidence.objects.count() == 0 and Upload.objects.count() == 0 and blobs(settings) == []


def test_a_plain_body_with_a_flipped_byte_is_422_and_stores_nothing(client, world, settings):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    client_id, (_, data) = next(iter(photos.items()))
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x01
    problem(put(client, world, report["id"], client_id, bytes(damaged)), 422, "upload.hash-mismatch")
    assert blobs(settings) == [] and Evidence.objects.count() == 0 and Upload.objects.count() == 0
    assert AuditEvent.objects(action="upload.complete").count() == 0
    assert put(client, world, report["id"], client_id, data).status_code == 201  # the retry with the right bytes


def test_a_body_longer_than_declared_is_413_before_it_is_read(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    client_id, (_, data) = next(iter(photos.items()))
    problem(put(client, world, report["id"], client_id, data + b"\0"), 413, "upload.too-large")


def test_the_same_bytes_twice_are_one_blob_and_two_evidence_records(client, world, settings):
    task = task_in(world)
    photos = photos_for(task)
    same = photos["scene_photos-1"][1]
    photos["scene_photos-2"] = (declare("scene_photos-2", same, item="scene_photos"), same)
    report = submit(client, world, task, photos)
    for client_id in ("scene_photos-1", "scene_photos-2"):
        assert put(client, world, report["id"], client_id, same).status_code == 201
    records = Evidence.objects(report=report["id"], sha256=sha(same))
    assert records.count() == 2 and len({r.pk for r in records}) == 2
    assert [p.name for p in blobs(settings)] == [sha(same)]


def test_a_retried_put_of_a_received_file_answers_200_with_the_same_evidence(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    client_id, (_, data) = next(iter(photos.items()))
    first = put(client, world, report["id"], client_id, data)
    again = put(client, world, report["id"], client_id, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["evidence"] == first.get_json()["evidence"]
    assert Evidence.objects.count() == 1 and Upload.objects.count() == 1


def test_every_corpus_photo_is_taken_and_other_files_are_refused_with_nothing_kept(client, world, settings):
    task = task_in(world)
    photos = photos_for(task)
    files = {f"c{n}": p.read_bytes() for n, p in enumerate(CORPUS_PHOTOS)}
    refused = {"tiff": TIFF.read_bytes(), "cut": CORPUS_PHOTOS[0].read_bytes()[3:]}
    finding = {"id": "f1", "item": "other_findings", "category": "other", "description": "现场照片",
               "severity": "low"}
    body_photos = dict(photos)
    for client_id, data in {**files, **refused}.items():
        body_photos[client_id] = (declare(client_id, data, finding="f1"), data)
    report = submit(client, world, task, body_photos, findings=[finding])
    for client_id, data in files.items():
        resp = put(client, world, report["id"], client_id, data, content_type="application/octet-stream")
        assert resp.status_code == 201, (client_id, resp.get_data(as_text=True))
        assert resp.get_json()["evidence"]["media_type"] in ("image/jpeg", "image/heic")
    before = blobs(settings)
    for client_id, data in refused.items():
        problem(put(client, world, report["id"], client_id, data), 415, "upload.unsupported-media-type")
    assert blobs(settings) == before and Evidence.objects.count() == len(files)


def test_a_body_of_another_content_type_or_an_undeclared_file_is_refused(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    client_id, (_, data) = next(iter(photos.items()))
    problem(put(client, world, report["id"], client_id, data, content_type="text/plain"), 415,
            "request.unsupported-media-type")
    problem(put(client, world, report["id"], "undeclared", data), 404, "report.evidence-not-declared")
    problem(put(client, world, report["id"], client_id, data, persona="supervisor_east"), 403, "access.forbidden")


def test_evidence_metadata_is_for_the_inspector_its_office_and_admins_never_a_liaison_or_leader(client, world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(client, world, task, photos)
    client_id, (_, data) = next(iter(photos.items()))
    put(client, world, report["id"], client_id, data)
    path = f"{URL}/{report['id']}/evidence"
    for persona in ("inspector_east", "supervisor_east", "admin"):
        resp = client.get(path, headers=world.headers(persona))
        assert resp.status_code == 200, (persona, resp.get_data(as_text=True))
        items = resp.get_json()["items"]
        assert [(e["client_id"], e["sha256"]) for e in items] == [(client_id, sha(data))]
        assert not any(k in items[0] for k in ("url", "href", "path"))
    problem(client.get(path, headers=world.headers("supervisor_west")), 404, "report.not-found")
    for persona in ("leader_city", "liaison_water"):
        problem(client.get(path, headers=world.headers(persona)), 403, "access.forbidden")


def test_files_arriving_at_once_flip_the_report_once_and_queue_one_validation(app, world):
    import threading

    task = task_in(world)
    photos = photos_for(task)
    report = submit(app.test_client(), world, task, photos)
    gate = threading.Barrier(len(photos))
    codes = {}

    def send(client_id, data):
        client = app.test_client()
        gate.wait()
        codes[client_id] = put(client, world, report["id"], client_id, data).status_code

    threads = [threading.Thread(target=send, args=(cid, data)) for cid, (_, data) in photos.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(codes.values()) == {201}, codes
    assert Report.objects.get(pk=report["id"]).status == "received"
    assert validations(report["id"]) == 1
    assert AuditEvent.objects(action="report.receive", target_id=report["id"]).count() == 1
    assert Evidence.objects(report=report["id"]).count() == 3
