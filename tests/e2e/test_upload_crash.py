"""A worker killed (kill -9) in the middle of a tus PATCH: the phone resumes at once with a stock client."""
import os
import shutil
import signal
import socket

import psutil
import pytest
import requests

from tests.api.test_uploads_tus import (CORPUS, KIND, OCTETS, TUS, URL, _service_env, create_headers, photo_target,
                                        sha)
from tests.e2e.harness import alive, gunicorn, wait_for
from domain.uploads import register_upload_target, unregister_upload_target

PHOTO = CORPUS / "jpg" / "hdr" / "iphone_hdr_NO.jpg"  # ~1.9 MB: several of the worker's 256 KiB writes


@pytest.fixture(autouse=True)
def no_files_left(settings):
    yield
    for sub in ("blobs", "uploads"):
        shutil.rmtree(settings.data_dir / sub, ignore_errors=True)


def test_killing_the_worker_that_holds_a_patch_leaves_the_upload_resumable_at_once(settings, world, tmp_path):
    from tusclient.client import TusClient

    data = PHOTO.read_bytes()
    sent = len(data) // 2
    register_upload_target(KIND, photo_target)
    try:
        with gunicorn("tests.api.test_uploads_tus:server_app()", _service_env(settings), tmp_path / "gunicorn.log",
                      WEB_CONCURRENCY="1", API_THREADS="4") as (base, master):
            auth = {**world.headers("inspector_east"), **TUS}
            created = requests.post(base + URL, headers=create_headers(world, data), timeout=10)
            assert created.status_code == 201, created.text
            location = created.headers["Location"]
            host, port = base.removeprefix("http://").split(":")
            stalled = socket.create_connection((host, int(port)), timeout=10)
            try:
                head = (f"PATCH {location} HTTP/1.1\r\nHost: test\r\n"
                        + "".join(f"{k}: {v}\r\n" for k, v in {**auth, **OCTETS, "Upload-Offset": "0",
                                                                  "Content-Length": str(len(data))}.items()))
                stalled.sendall(head.encode() + b"\r\n" + data[:sent])  # ... and the phone goes silent

                def offset():
                    return int(requests.head(base + location, headers=auth, timeout=5).headers["Upload-Offset"])
                wait_for(lambda: offset() >= 256 * 1024, 20, "the worker to write the first bytes")
                busy = requests.patch(base + location, data=b"x", timeout=5,
                                      headers={**auth, **OCTETS, "Upload-Offset": str(offset())})
                assert busy.status_code == 409 and busy.json()["code"] == "upload.locked", "the PATCH holds the lock"

                [worker] = psutil.Process(master.pid).children()
                os.kill(worker.pid, signal.SIGKILL)
                wait_for(lambda: not alive(worker.pid), 10, "the killed worker to be gone")
                wait_for(lambda: [w for w in psutil.Process(master.pid).children() if w.pid != worker.pid]
                         and requests.get(base + "/healthz", timeout=5).ok, 30, "gunicorn to start a new worker")
            finally:
                stalled.close()

            # A stock client with no retries: one HEAD and one PATCH, which a leftover lock would refuse.
            client = TusClient(base + URL, headers=world.headers("inspector_east"))
            uploader = client.uploader(file_path=str(PHOTO), url=base + location, chunk_size=len(data), retries=0,
                                       metadata={"target": KIND, "sha256": sha(data)})
            assert 0 < uploader.offset <= sent, "HEAD names the bytes the partial file really holds"
            uploader.upload()
            body = requests.get(base + location, headers=auth, timeout=10).json()
            assert (body["status"], body["blob_sha256"]) == ("complete", sha(data))
            blob = settings.data_dir / "blobs" / sha(data)[:2] / sha(data)[2:4] / sha(data)
            assert blob.read_bytes() == data
    finally:
        unregister_upload_target(KIND)
