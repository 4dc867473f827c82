"""The tus 1.0 server: the protocol through the test client, then a stock client (tuspy), a broken
connection and 64 MB against a real gunicorn process."""
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from domain.audit import AuditEvent
from domain.uploads import Completion, Upload, register_upload_target, unregister_upload_target

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or ROOT.parent / "shared" / "evidence-corpus")
PHOTOS = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".jpg", ".heic"))
PHOTO = CORPUS / "jpg" / "gps" / "DSCN0010.jpg"
HEIC = CORPUS / "heic" / "IMG_5195.HEIC"
TIFF = CORPUS / "tiff" / "BSG1.tiff"
URL = "/api/v1/uploads"
KIND = "tus-test-photo"
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def photo_target(actor, upload, info, tx):
    return Completion(result={"seen": info.sha256[:12]})


def server_app():
    """The WSGI app gunicorn loads for this module (``tests.api.test_uploads_tus:server_app()``)."""
    from api.app import create_app

    register_upload_target(KIND, photo_target)
    return create_app()


@pytest.fixture(autouse=True)
def clean_files(settings):
    register_upload_target(KIND, photo_target)
    for sub in ("blobs", "uploads"):
        shutil.rmtree(settings.data_dir / sub, ignore_errors=True)
    yield
    unregister_upload_target(KIND)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def metadata(**pairs) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create_headers(world, data: bytes, persona="inspector_east", length=None, **pairs) -> dict:
    meta = {"target": KIND, "sha256": sha(data), "filename": "photo.jpg", **pairs}
    return {**world.headers(persona), **TUS, "Upload-Length": str(len(data) if length is None else length),
            "Upload-Metadata": metadata(**meta)}


def blob_files(settings) -> list[Path]:
    root = settings.data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def partial_files(settings) -> list[Path]:
    root = settings.data_dir / "uploads"
    return sorted(root.iterdir()) if root.exists() else []


def assert_problem(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json(force=True)["code"] == code
    assert resp.headers["Tus-Resumable"] == "1.0.0"


def assert_nothing_stored(settings):
    assert blob_files(settings) == [] and partial_files(settings) == []
    assert Upload.objects.count() == 0
    assert AuditEvent.objects(action="upload.complete").count() == 0


def tus_upload(client, world, data: bytes, persona="inspector_east", **pairs):
    created = client.post(URL, headers=create_headers(world, data, persona, **pairs))
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    return location, client.patch(location, data=data, headers={**world.headers(persona), **TUS, **OCTETS,
                                                                 "Upload-Offset": "0"})


# -- the protocol, through the test client -------------------------------------------------------

def test_options_announces_version_extensions_max_size_and_checksums_without_auth(client, settings):
    resp = client.options(URL)
    assert resp.status_code == 204
    assert resp.headers["Tus-Version"] == "1.0.0"
    assert set(resp.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "checksum", "termination", "expiration"}
    assert resp.headers["Tus-Max-Size"] == str(settings.max_upload_bytes)
    assert resp.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_requests_without_tus_resumable_get_412_naming_the_version(client, world):
    resp = client.post(URL, headers={**world.headers("inspector_east"), "Upload-Length": "10"})
    assert_problem(resp, 412, "upload.tus-version-unsupported")
    assert resp.headers["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_every_allowed_corpus_file_uploads_through_tus_and_is_stored_by_its_hash(path, client, world, settings):
    data = path.read_bytes()
    location, resp = tus_upload(client, world, data, filename=path.name)
    assert resp.status_code == 204, resp.get_data(as_text=True)
    assert resp.headers["Upload-Offset"] == str(len(data)) and resp.headers["Tus-Resumable"] == "1.0.0"
    body = client.get(location, headers=world.headers("inspector_east")).get_json()
    assert (body["status"], body["blob_sha256"], body["label"]) == ("complete", sha(data), path.name)
    assert body["media_type"] == ("image/heic" if path.suffix == ".HEIC" else "image/jpeg")
    assert body["result"] == {"seen": sha(data)[:12]}
    blob = settings.data_dir / "blobs" / sha(data)[:2] / sha(data)[2:4] / sha(data)
    assert blob_files(settings) == [blob] and blob.read_bytes() == data
    assert partial_files(settings) == []
    assert AuditEvent.objects(action="upload.complete", target_id=body["id"]).count() == 1


def test_creation_with_upload_sends_the_first_bytes_in_the_post(client, world, settings):
    data = PHOTO.read_bytes()
    resp = client.post(URL, data=data[:1000], headers={**create_headers(world, data), **OCTETS})
    assert resp.status_code == 201 and resp.headers["Upload-Offset"] == "1000"
    assert "Upload-Expires" in resp.headers and resp.headers["Upload-Expires"].endswith("GMT")
    head = client.head(resp.headers["Location"], headers={**world.headers("inspector_east"), **TUS})
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("1000", str(len(data)))
    assert head.headers["Cache-Control"] == "no-store"


def test_the_corpus_tiff_and_broken_files_are_refused_with_415_and_nothing_stored(client, world, settings):
    for data, detected in ((TIFF.read_bytes(), "image/tiff"), (b"\xff\xd8" + b"\0" * 100, "application/octet-stream"),
                           (PHOTO.read_bytes()[3:], "application/octet-stream")):
        _, resp = tus_upload(client, world, data)
        assert_problem(resp, 415, "upload.unsupported-media-type")
        assert detected in resp.get_json()["detail"]
    assert_nothing_stored(settings)


def test_a_whole_file_hash_mismatch_is_a_clear_422_with_nothing_stored(client, world, settings):
    data = PHOTO.read_bytes()
    created = client.post(URL, headers=create_headers(world, data, sha256=sha(b"another file")))
    resp = client.patch(created.headers["Location"], data=data,
                        headers={**world.headers("inspector_east", lang="en"), **TUS, **OCTETS, "Upload-Offset": "0"})
    assert_problem(resp, 422, "upload.hash-mismatch")
    assert sha(data) in resp.get_json()["detail"]
    assert_nothing_stored(settings)


def test_oversize_uploads_are_refused_with_413_before_any_body_is_read(client, world, settings):
    data = PHOTO.read_bytes()
    big = settings.max_upload_bytes + 1
    assert_problem(client.post(URL, headers=create_headers(world, data, length=big)), 413, "upload.too-large")
    resp = client.post(URL, data=b"", headers={**create_headers(world, data), **OCTETS},
                       environ_overrides={"CONTENT_LENGTH": str(big)})
    assert_problem(resp, 413, "request.too-large")
    created = client.post(URL, headers=create_headers(world, data))
    resp = client.patch(created.headers["Location"], data=b"", environ_overrides={"CONTENT_LENGTH": str(len(data) + 1)},
                        headers={**world.headers("inspector_east"), **TUS, **OCTETS, "Upload-Offset": "0"})
    assert_problem(resp, 413, "upload.too-large")
    resp = client.patch(created.headers["Location"], data=b"", environ_overrides={"CONTENT_LENGTH": str(big)},
                        headers={**world.headers("inspector_east"), **TUS, **OCTETS, "Upload-Offset": "0"})
    assert_problem(resp, 413, "request.too-large")
    assert blob_files(settings) == [] and Upload.objects.get().offset == 0


def test_a_chunk_with_a_wrong_checksum_gets_460_and_is_discarded(client, world, settings):
    data = PHOTO.read_bytes()
    location = client.post(URL, headers=create_headers(world, data)).headers["Location"]
    headers = {**world.headers("inspector_east"), **TUS, **OCTETS, "Upload-Offset": "0"}
    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    resp = client.patch(location, data=data[:4096], headers={**headers, "Upload-Checksum": wrong})
    assert_problem(resp, 460, "upload.checksum-mismatch")
    assert resp.status == "460 Checksum Mismatch"
    head = client.head(location, headers={**world.headers("inspector_east"), **TUS})
    assert head.headers["Upload-Offset"] == "0"
    resp = client.patch(location, data=data[:4096], headers={**headers, "Upload-Checksum": "md5 AAAA"})
    assert_problem(resp, 400, "upload.checksum-algorithm-unsupported")
    right = "sha256 " + base64.b64encode(hashlib.sha256(data[:4096]).digest()).decode()
    resp = client.patch(location, data=data[:4096], headers={**headers, "Upload-Checksum": right})
    assert resp.status_code == 204 and resp.headers["Upload-Offset"] == "4096"


def test_a_patch_at_the_wrong_offset_or_with_another_content_type_is_refused(client, world):
    data = PHOTO.read_bytes()
    location = client.post(URL, headers=create_headers(world, data)).headers["Location"]
    headers = {**world.headers("inspector_east"), **TUS}
    resp = client.patch(location, data=data, headers={**headers, **OCTETS, "Upload-Offset": "7"})
    assert_problem(resp, 409, "upload.offset-mismatch")
    resp = client.patch(location, data=data, headers={**headers, "Content-Type": "image/jpeg", "Upload-Offset": "0"})
    assert_problem(resp, 415, "request.unsupported-media-type")
    resp = client.patch(location, data=data, headers={**headers, **OCTETS})
    assert_problem(resp, 422, "request.invalid")


def test_an_unknown_target_or_missing_hash_is_refused_at_creation(client, world, settings):
    data = PHOTO.read_bytes()
    assert_problem(client.post(URL, headers=create_headers(world, data, target="report-x")),
                   422, "upload.target-unknown")
    resp = client.post(URL, headers={**world.headers("inspector_east"), **TUS, "Upload-Length": "5",
                                     "Upload-Metadata": metadata(target=KIND)})
    assert_problem(resp, 422, "upload.metadata-invalid")
    resp = client.post(URL, headers={**world.headers("inspector_east"), **TUS, "Upload-Length": "5",
                                     "Upload-Metadata": "target not-base64!"})
    assert_problem(resp, 422, "request.invalid")
    assert_nothing_stored(settings)


def test_a_filename_with_path_tricks_never_reaches_the_filesystem(client, world, settings):
    data = PHOTO.read_bytes()
    before = set(settings.data_dir.rglob("*"))
    for name in ("../../etc/passwd", "/etc/passwd", "..\\..\\boot.ini", "x\0y/../../z.jpg"):
        location, resp = tus_upload(client, world, data, filename=name)
        assert resp.status_code == 204
        label = client.get(location, headers=world.headers("inspector_east")).get_json()["label"]
        assert label in ("passwd", "boot.ini", "z.jpg")
    created = set(settings.data_dir.rglob("*")) - before
    blob = settings.data_dir / "blobs" / sha(data)[:2] / sha(data)[2:4] / sha(data)
    assert {p for p in created if p.is_file()} == {blob}
    assert not any(p.name in ("passwd", "boot.ini", "z.jpg") for p in settings.data_dir.parent.rglob("*"))


def test_an_upload_is_its_creator_s_alone(client, world):
    data = PHOTO.read_bytes()
    location = client.post(URL, headers=create_headers(world, data)).headers["Location"]
    for persona in ("supervisor_east", "admin", "liaison_water"):
        headers = {**world.headers(persona), **TUS}
        assert_problem(client.patch(location, data=data, headers={**headers, **OCTETS, "Upload-Offset": "0"}),
                       404, "upload.not-found")
        assert client.head(location, headers=headers).status_code == 404
        assert_problem(client.delete(location, headers=headers), 404, "upload.not-found")
    assert_problem(client.post(URL, headers=create_headers(world, data, persona="leader_city")),
                   403, "access.forbidden")
    assert_problem(client.post(URL, headers={**TUS, "Upload-Length": "5"}), 401, "auth.unauthenticated")
    assert client.head(location, headers={**world.headers("inspector_east"), **TUS}).status_code == 200


def test_termination_removes_an_unfinished_upload(client, world, settings):
    data = PHOTO.read_bytes()
    resp = client.post(URL, data=data[:500], headers={**create_headers(world, data), **OCTETS})
    headers = {**world.headers("inspector_east"), **TUS}
    assert client.delete(resp.headers["Location"], headers=headers).status_code == 204
    assert client.head(resp.headers["Location"], headers=headers).status_code == 404
    assert_nothing_stored(settings)


def test_a_truncated_upload_stays_partial_then_expires_with_410_and_is_swept(client, world, settings):
    from workers.uploads import expire_uploads

    data = PHOTO.read_bytes()
    location = client.post(URL, data=data[:500], headers={**create_headers(world, data), **OCTETS}).headers["Location"]
    headers = {**world.headers("inspector_east"), **TUS}
    assert client.head(location, headers=headers).headers["Upload-Offset"] == "500"
    assert expire_uploads() == {"expired": 0, "orphans": 0, "hidden_blobs": 0}
    assert len(partial_files(settings)) == 1 and blob_files(settings) == []
    Upload.objects.update(set__expires_at=Upload.objects.get().expires_at.replace(year=2000))
    assert_problem(client.patch(location, data=data[500:], headers={**headers, **OCTETS, "Upload-Offset": "500"}),
                   410, "upload.expired")
    assert client.head(location, headers=headers).status_code == 410
    assert expire_uploads() == {"expired": 1, "orphans": 0, "hidden_blobs": 0}
    assert client.head(location, headers=headers).status_code == 404
    assert_nothing_stored(settings)


def test_errors_read_in_english_and_chinese(client, world):
    data = TIFF.read_bytes()
    for lang, marker in (("en", "recognised as image/tiff"), ("zh-CN", "识别为 image/tiff")):
        created = client.post(URL, headers=create_headers(world, data))
        resp = client.patch(created.headers["Location"], data=data,
                            headers={**world.headers("inspector_east", lang=lang), **TUS, **OCTETS,
                                     "Upload-Offset": "0"})
        assert marker in resp.get_json()["detail"]


# -- against a real gunicorn ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    """gunicorn (gthread, one worker) on this module's app, with the test session's servers and data dir."""
    from ops.embedded import free_port

    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {**_service_env(settings), "API_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1", "API_THREADS": "4"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ops/gunicorn_conf.py",
                                 "tests.api.test_uploads_tus:server_app()"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or still importing the app
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("gunicorn did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.1)
    yield base, proc
    proc.terminate()
    proc.wait(timeout=20)


def test_the_stock_tuspy_client_uploads_and_resumes_from_its_stored_url(server, world, settings, tmp_path):
    from tusclient.client import TusClient
    from tusclient.storage.filestorage import FileStorage

    base, _ = server
    data = HEIC.read_bytes()
    client = TusClient(base + URL, headers=world.headers("inspector_east"))
    options = dict(file_path=str(HEIC), chunk_size=128 * 1024, retries=2, retry_delay=0, upload_checksum=True,
                   metadata={"target": KIND, "sha256": sha(data), "filename": HEIC.name},
                   store_url=True, url_storage=FileStorage(str(tmp_path / "tus-urls.json")))
    first = client.uploader(**options)
    first.upload(stop_at=3 * 128 * 1024)  # the phone goes offline here
    assert first.offset == 3 * 128 * 1024
    again = client.uploader(**options)  # a new run finds the stored URL and asks the server's offset
    assert again.url == first.url and again.offset == 3 * 128 * 1024
    again.upload()
    body = requests.get(again.url, headers=world.headers("inspector_east")).json()
    assert (body["status"], body["blob_sha256"], body["media_type"]) == ("complete", sha(data), "image/heic")
    assert (settings.data_dir / "blobs" / sha(data)[:2] / sha(data)[2:4] / sha(data)).read_bytes() == data


def _raw_request(base: str, head: str, body: bytes = b"", read_reply: bool = True) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        if not read_reply:
            return b""
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.partition(b"\r\n\r\n")[2]) < _content_length(reply):
            chunk = sock.recv(65536)  # headers and body may arrive in separate segments
            if not chunk:
                break
            reply += chunk
        return reply


def _content_length(reply: bytes) -> int:
    for line in reply.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _head_lines(path: str, headers: dict) -> str:
    return f"PATCH {path} HTTP/1.1\r\nHost: test\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())


def test_a_patch_cut_off_half_way_resumes_at_the_server_s_offset(server, world):
    base, _ = server
    data = (CORPUS / "jpg" / "hdr" / "iphone_hdr_NO.jpg").read_bytes()
    created = requests.post(base + URL, headers=create_headers(world, data))
    location, half = created.headers["Location"], len(data) // 2
    auth = {**world.headers("inspector_east"), **TUS, **OCTETS}
    _raw_request(base, _head_lines(location, {**auth, "Upload-Offset": "0", "Content-Length": str(len(data))}),
                 data[:half], read_reply=False)  # the connection drops with half the body sent
    deadline = time.monotonic() + 10
    while (offset := int(requests.head(base + location, headers=auth).headers["Upload-Offset"])) != half:
        assert time.monotonic() < deadline, f"offset stuck at {offset}"
        time.sleep(0.05)
    resp = requests.patch(base + location, data=data[half:], headers={**auth, "Upload-Offset": str(half)})
    assert resp.status_code == 204 and resp.headers["Upload-Offset"] == str(len(data))
    assert requests.get(base + location, headers=auth).json()["blob_sha256"] == sha(data)


def test_gunicorn_answers_413_from_the_declared_length_without_waiting_for_the_body(server, world, settings):
    base, _ = server
    data = PHOTO.read_bytes()
    location = requests.post(base + URL, headers=create_headers(world, data)).headers["Location"]
    auth = {**world.headers("inspector_east"), **TUS, **OCTETS, "Upload-Offset": "0"}
    # No body is ever sent: a server that waited for it would never answer (the socket times out).
    reply = _raw_request(base, _head_lines(location, {**auth, "Content-Length": str(settings.max_upload_bytes + 1)}))
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"code": "request.too-large"' in reply or b'"code":"request.too-large"' in reply
    resp = requests.post(base + URL, headers=create_headers(world, data, length=settings.max_upload_bytes + 1))
    assert resp.status_code == 413 and resp.json()["code"] == "upload.too-large"


def test_a_64_mb_upload_through_gunicorn_keeps_the_worker_s_memory_bounded(server, world, settings, tmp_path):
    import psutil

    base, proc = server
    [worker] = psutil.Process(proc.pid).children()
    head = PHOTO.read_bytes()
    block = os.urandom(1024 * 1024)
    big = tmp_path / "big.jpg"
    digest = hashlib.sha256()
    with open(big, "wb") as fh:
        for part in [head] + [block] * 64:
            fh.write(part)
            digest.update(part)
    size = big.stat().st_size
    warm = PHOTO.read_bytes()  # warm the worker (imports, first requests) before the baseline
    location = requests.post(base + URL, headers=create_headers(world, warm)).headers["Location"]
    requests.patch(base + location, data=warm, headers={**world.headers("inspector_east"), **TUS, **OCTETS,
                                                        "Upload-Offset": "0"})
    baseline = worker.memory_info().rss
    peak, done = [baseline], threading.Event()

    def watch():
        while not done.is_set():
            peak.append(worker.memory_info().rss)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        headers = create_headers(world, b"", length=size, sha256=digest.hexdigest())
        location = requests.post(base + URL, headers=headers).headers["Location"]
        with open(big, "rb") as fh:
            resp = requests.patch(base + location, data=fh, headers={
                **world.headers("inspector_east"), **TUS, **OCTETS, "Upload-Offset": "0", "Content-Length": str(size)})
    finally:
        done.set()
        watcher.join()
    assert resp.status_code == 204, resp.text
    growth = (max(peak) - baseline) / 2 ** 20
    assert growth < 40, f"worker RSS grew by {growth:.1f} MB for a {size / 2 ** 20:.0f} MB upload"
    assert (settings.data_dir / "blobs" / digest.hexdigest()[:2] / digest.hexdigest()[2:4]
            / digest.hexdigest()).stat().st_size == size


def _service_env(settings) -> dict:
    # The child serves the test session's database (embedded, or TEST_MONGODB_URI), never the caller's MONGODB_URI.
    return {**os.environ, "APP_ENV": "test", "DATA_DIR": str(settings.data_dir), "MONGODB_URI": settings.mongodb_uri,
            "MONGODB_DB": settings.mongodb_db, "REDIS_URL": settings.redis_url, "SECRET_KEY": settings.secret_key,
            "AUDIT_KEY_FILE": str(settings.resolved_audit_key_file)}


def test_the_expiry_sweep_is_scheduled_and_a_real_forking_worker_removes_expired_partials(client, world, settings,
                                                                                         redis_conn):
    from rq import Queue
    from rq.cron import CronScheduler
    from rq.job import JobStatus

    scheduler = CronScheduler(connection=redis_conn)
    scheduler.load_config_from_file("workers.cron")
    assert "workers.uploads.expire_uploads" in {job.func_name for job in scheduler._cron_jobs}

    data = PHOTO.read_bytes()
    location = client.post(URL, data=data[:500], headers={**create_headers(world, data), **OCTETS}).headers["Location"]
    Upload.objects.update(set__expires_at=Upload.objects.get().expires_at.replace(year=2000))
    job = Queue("default", connection=redis_conn).enqueue("workers.uploads.expire_uploads")
    subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", settings.redis_url,
                    "--worker-class", "workers.worker.InspectionWorker", "default"],
                   cwd=ROOT, env=_service_env(settings), check=True, capture_output=True, timeout=60)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value() == {"expired": 1, "orphans": 0, "hidden_blobs": 0}
    assert client.head(location, headers={**world.headers("inspector_east"), **TUS}).status_code == 404
    assert_nothing_stored(settings)
