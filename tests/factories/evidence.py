"""Evidence photos for validation tests: corpus photos declared in a real report against a task whose
site and window are stated, plus helpers for the role matrix rows of the evidence endpoints.

``corpus_task(world)`` is 蓬江区督查室's task whose site is 50 m north of DSCN0010.jpg's EXIF position
(radius 100 m) and whose window covers the walk of 2008-10-22 (14:00-15:00 UTC): DSCN0010 passes on
location there; BlueSquare.jpg (Photoshop, no time, no GPS) is a review for editing software.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from geopy.distance import geodesic

from domain import storage
from domain.evidence import blob_store
from domain.reports import Evidence
from domain.tasks.models import SiteSnapshot
from tests.factories.reports import clean_answers, declare, form_content, report_body
from domain import clock

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or ROOT.parent / "shared" / "evidence-corpus")
DSCN0010_GPS = (43.4674483, 11.8851267)
FIFTY_M_NORTH = tuple(geodesic(meters=50).destination(DSCN0010_GPS, 0))[:2]
WALK = (datetime(2008, 10, 22, 14, 0, tzinfo=UTC), datetime(2008, 10, 22, 15, 0, tzinfo=UTC))
FINDING = {"id": "f1", "item": "badge_worn", "category": "window_discipline.attire",
           "description": "两名工作人员未佩戴工牌", "severity": "medium"}


def corpus_bytes(relative: str) -> bytes:
    return (CORPUS / relative).read_bytes()


def corpus_task(world, **kwargs):
    """The 水务局 task (office_east, inspector_east) with its site and window placed on the DSCN walk."""
    from domain.forms import load_shipped_forms
    from tests.factories.tasks import task_in

    load_shipped_forms()
    lat, lon = FIFTY_M_NORTH
    site = SiteSnapshot(site=world.unit("site_water").pk, name="阿雷佐测试点", address="测试", lon=lon, lat=lat,
                        radius_m=100)
    return task_in(world, site=site, starts_at=WALK[0], ends_at=WALK[1], **kwargs)


def corpus_report_body(task, files: dict[str, str], *, finding_file: str | None = None) -> tuple[dict, dict]:
    """A report body declaring ``files`` (client id -> corpus path; the service-hall form needs 3): the form's
    photo slots first, extra ones
    on scene_photos; ``finding_file`` (a client id) supports a finding ``f1`` on badge_worn.
    Returns (body, client id -> bytes)."""
    answers, needs = clean_answers(form_content(task))
    slots = [item for item, count in needs.items() for _ in range(count)]
    data = {cid: corpus_bytes(path) for cid, path in files.items()}
    assert len([c for c in data if c != finding_file]) >= len(slots), f"the form needs {len(slots)} photos"
    declared, findings = [], []
    for i, (cid, raw) in enumerate(data.items()):
        if cid == finding_file:
            declared.append(declare(cid, raw, finding="f1"))
        else:
            declared.append(declare(cid, raw, item=slots[i] if i < len(slots) else "scene_photos"))
    if finding_file:
        answers["badge_worn"] = False
        findings.append(dict(FINDING))
    body = report_body(task, None, answers=answers, findings=findings)
    body["evidence"] = declared
    return body, data


def submit_with_photos(client, world, task, files: dict[str, str], *, finding_file: str | None = None,
                       persona: str = "inspector_east") -> dict:
    """Submit over HTTP and PUT every declared file: the report as the API last returned it."""
    body, data = corpus_report_body(task, files, finding_file=finding_file)
    headers = world.headers(persona)
    resp = client.post("/api/v1/reports", json=body, headers=headers)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    report = resp.get_json()
    for cid, raw in data.items():
        put = client.put(f"/api/v1/reports/{report['id']}/evidence/{cid}", data=raw,
                         headers={**headers, "Content-Type": "image/jpeg"})
        assert put.status_code == 201, put.get_data(as_text=True)
    return report


def evidence_of(report_id) -> dict[str, Evidence]:
    return {e.client_id: e for e in Evidence.objects(report=report_id)}


# ---- the role matrix rows of the evidence endpoints ---------------------------------------------------

def matrix_photo(world) -> str:
    """The matrix's open report's file ``p1`` as a judged photo with a thumbnail and a preview (real blobs:
    the corpus's DSCN0010 and working copies of it); its id."""
    if getattr(world, "photo_id", None):
        return world.photo_id
    from domain.validation import VALIDATOR_VERSION, make_preview
    from domain.validation.facts import extract_facts
    from tests.factories.reports import matrix_reports

    report_id = matrix_reports(world)["open"]
    record = Evidence.objects.get(report=report_id, client_id="p1")
    store, raw = blob_store(), corpus_bytes("jpg/gps/DSCN0010.jpg")
    import io
    original = store.put_stream(io.BytesIO(raw), max_bytes=len(raw)).sha256
    facts = extract_facts(store.path(original))
    thumb = store.put_stream(io.BytesIO(facts.thumbnail), max_bytes=len(facts.thumbnail)).sha256
    preview_bytes = make_preview(store.path(original))
    preview = store.put_stream(io.BytesIO(preview_bytes), max_bytes=len(preview_bytes)).sha256

    def work(tx):
        tx.collection(Evidence).update_one({"_id": record.pk}, {"$set": {
            "sha256": original, "size": len(raw), "facts": facts.to_dict(), "facts_digest": facts.digest,
            "verdict": {"outcome": "review", "reasons": [], "validator_version": VALIDATOR_VERSION,
                        "facts_digest": facts.digest},
            "outcome": "review", "validator_version": VALIDATOR_VERSION, "validated_at": clock.now(),
            "thumbnail_sha256": thumb, "preview_sha256": preview}}, session=tx.session)
    storage.atomic(work)
    world.photo_id = str(record.pk)
    return world.photo_id


def photo_path(suffix: str):
    """A role-matrix path builder: ``/api/v1/evidence/<matrix photo id><suffix>``."""
    return lambda world: f"/api/v1/evidence/{matrix_photo(world)}{suffix}"


def override_body(world, persona):
    return {"verdict": "pass", "reason": "现场复核：照片为本次检查拍摄。"}


def summary_of_open_report(world, body):
    """The matrix's open report: one judged photo, counted as review."""
    assert body["counts"] == {"pass": 0, "review": 1, "fail": 0, "pending": 0}
    assert [p["id"] for p in body["photos"]] == [matrix_photo(world)]


def revalidation_queued(world, body):
    assert body["queued"] == 0 and body["evidence_ids"] == []  # judged by the current version already


def overridden(world, body):
    assert body["verdict_outcome"] == "review" and body["override"]["outcome"] == "pass"




def received_report(world, task, files: dict[str, str], *, finding_file: str | None = None,
                    persona: str = "inspector_east"):
    """The same through the services (no HTTP): a received report with ``files`` as its evidence."""
    import io

    from domain.accounts.services import actor_for
    from domain.reports import services
    from tests.factories.reports import as_kwargs

    body, data = corpus_report_body(task, files, finding_file=finding_file)
    actor = actor_for(world.accounts[persona])
    report = services.submit_report(actor, **as_kwargs(body)).report
    for cid, raw in data.items():
        services.put_evidence(actor, report.pk, cid, stream=io.BytesIO(raw), content_length=len(raw))
    return report
