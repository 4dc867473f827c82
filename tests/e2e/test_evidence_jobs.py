"""A job per photo, end to end: a report submitted over HTTP with corpus photos goes through the real outbox,
Redis and a forking ``rq worker`` process, and ends with verdicts, thumbnails and previews stored and
readable through the summary endpoint. The worker uses the session's Redis and SecantusDB."""
from __future__ import annotations

import time

import pytest

from domain.reports import Evidence
from tests.e2e.harness import real_worker
from tests.factories.evidence import corpus_task, submit_with_photos

pytestmark = pytest.mark.e2e
FILES = {"gps": "jpg/gps/DSCN0010.jpg", "blue": "jpg/xmp/BlueSquare.jpg", "hdr": "jpg/hdr/iphone_hdr_NO.jpg"}


@pytest.fixture
def worker(settings, tmp_path):
    log = tmp_path / "worker.log"
    with real_worker(settings, settings.redis_url, "evidence-e2e", log) as proc:
        yield proc, log


def test_each_photo_of_a_submitted_report_is_judged_by_a_real_worker_and_summarised(client, world, worker):
    task = corpus_task(world)
    report = submit_with_photos(client, world, task, FILES)
    ids = set()
    deadline = time.monotonic() + 60
    while True:
        photos = list(Evidence.objects(report=report["id"]))
        ids = {e.client_id: str(e.pk) for e in photos}
        if photos and all(e.validated_at and e.preview_sha256 for e in photos):
            break
        if time.monotonic() > deadline:
            pytest.fail("photos not judged within 60 s: " + worker[1].read_text(errors="replace")[-2000:])
        time.sleep(0.1)

    summary = client.get(f"/api/v1/reports/{report['id']}/summary", headers=world.headers("supervisor_east"))
    assert summary.status_code == 200, summary.get_data(as_text=True)
    body = summary.get_json()
    by_id = {p["id"]: p for p in body["photos"]}
    gps, blue = by_id[ids["gps"]], by_id[ids["blue"]]
    assert {r["code"]: r["outcome"] for r in gps["reasons"]}["location.inside-geofence"] == "pass"
    assert blue["outcome"] == "review" and "edit.editor-software" in {r["code"] for r in blue["reasons"]}
    assert body["counts"]["pending"] == 0 and sum(body["counts"].values()) == 3
    editor = next(r for r in body["worst_reasons"] if r["code"] == "edit.editor-software")
    assert editor["text"]["zh-CN"]["title"] and editor["text"]["en"]["title"] and ids["blue"] in editor["evidence_ids"]
    assert worker[0].poll() is None
