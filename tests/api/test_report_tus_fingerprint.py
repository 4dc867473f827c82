"""The stock tuspy client keys stored upload URLs on a fingerprint of the file alone: the same photo sent
for a second report "resumes" the first report's completed upload and reports success, and the second
report never gets it. The report's missing_files says so; a fingerprint that includes the target fixes it."""
from __future__ import annotations

import hashlib

import pytest
import requests

from domain.forms import load_shipped_forms
from tests.api.test_uploads_tus import server  # noqa: F401  (the gunicorn fixture, module-scoped)
from tests.factories.reports import photo, photos_for, report_body, sha
from tests.factories.tasks import task_in


@pytest.fixture(autouse=True)
def forms(settings):
    load_shipped_forms()


class TargetFingerprint:
    """What docs/uploads.md asks of phone apps: the stored URL is keyed on the file AND its target."""

    def __init__(self, target_id: str):
        self.target_id = target_id

    def get_fingerprint(self, fs) -> str:
        return hashlib.sha256(fs.read() + self.target_id.encode()).hexdigest()


def test_a_stock_tus_client_resuming_by_fingerprint_leaves_the_second_report_told_why(server, world, tmp_path):  # noqa: F811
    from tusclient.client import TusClient
    from tusclient.storage.filestorage import FileStorage

    base, _ = server
    headers = world.headers("inspector_east")
    shared = photo(120)
    path = tmp_path / "scene.jpg"
    path.write_bytes(shared)
    reports = []
    for task in (task_in(world), task_in(world)):
        photos = photos_for(task)
        cid = "scene_photos-1"
        photos[cid] = ({**photos[cid][0], "sha256": sha(shared), "size": len(shared)}, shared)
        body = requests.post(f"{base}/api/v1/reports", json=report_body(task, photos), headers=headers, timeout=30)
        assert body.status_code == 201, body.text
        reports.append(body.json()["id"])
    first, second = reports
    client = TusClient(f"{base}/api/v1/uploads", headers=headers)
    storage = FileStorage(str(tmp_path / "tus-urls.json"))

    def uploader(report_id, **extra):
        return client.uploader(file_path=str(path), chunk_size=64 * 1024, retries=0, store_url=True,
                               url_storage=storage, metadata={"target": "evidence", "sha256": sha(shared),
                                                              "target_id": f"{report_id}:scene_photos-1"}, **extra)

    uploader(first).upload()
    resumed = uploader(second)  # the stock fingerprint finds the first report's URL: "already complete"
    resumed.upload()
    assert resumed.offset == len(shared)
    body = requests.get(f"{base}/api/v1/reports/{second}", headers=headers, timeout=30).json()
    [missing] = [m for m in body["missing_files"] if m["client_id"] == "scene_photos-1"]
    assert (missing["reason"], missing["report_id"]) == ("completed-under-another-report", first)

    fixed = uploader(second, fingerprinter=TargetFingerprint(f"{second}:scene_photos-1"))
    fixed.upload()
    body = requests.get(f"{base}/api/v1/reports/{second}", headers=headers, timeout=30).json()
    assert all(m["client_id"] != "scene_photos-1" for m in body["missing_files"])
