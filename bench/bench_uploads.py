"""Upload figures through the real WSGI server: throughput and the worker's memory.

10 x 5 MB and 1 x 200 MB tus uploads (one POST, then the whole file in one PATCH as stock
clients send it, and the 200 MB once more in 8 MB PATCHes) into gunicorn (gthread, one
worker) on its own embedded SecantusDB and redis-server. Prints figures; asserts nothing.
Goal: the worker's peak RSS grows by less than 50 MB for the 200 MB upload.
    .venv/bin/python bench/bench_uploads.py
"""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KIND = "bench-photo"
MB = 1024 * 1024
SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def _accept(actor, upload, info, tx):
    return None


def server_app():
    """What gunicorn loads: the app, with a target kind for the benchmark's uploads."""
    from api.app import create_app
    from domain.uploads import register_upload_target

    register_upload_target(KIND, _accept)
    return create_app()


class Watch:
    """Samples a process's RSS every 10 ms."""

    def __init__(self, proc):
        self.proc, self.samples, self.done = proc, [proc.memory_info().rss], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.done.is_set():
            self.samples.append(self.proc.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    @property
    def peak(self) -> int:
        return max(self.samples)


def make_file(path: Path, size: int, head: bytes) -> str:
    """A JPEG-headed file of ``size`` bytes (random filler); returns its SHA-256."""
    digest, block = hashlib.sha256(), os.urandom(MB)
    with open(path, "wb") as fh:
        fh.write(head)
        digest.update(head)
        left = size - len(head)
        while left > 0:
            part = block[:min(MB, left)]
            fh.write(part)
            digest.update(part)
            left -= len(part)
    return digest.hexdigest()


def upload(base: str, auth: dict, path: Path, sha256: str, chunk: int | None = None) -> float:
    import requests

    size = path.stat().st_size
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"target": KIND, "sha256": sha256, "filename": path.name}.items())
    tus = {**auth, "Tus-Resumable": "1.0.0"}
    started = time.perf_counter()
    resp = requests.post(base + "/api/v1/uploads", headers={**tus, "Upload-Length": str(size), "Upload-Metadata": meta})
    resp.raise_for_status()
    url = base + resp.headers["Location"]
    offset = 0
    with open(path, "rb") as fh:
        while offset < size:
            n = min(chunk or size, size - offset)
            fh.seek(offset)
            body = fh.read(n) if chunk else fh  # whole-file PATCH streams from the file
            resp = requests.patch(url, data=body, headers={**tus, "Content-Type": "application/offset+octet-stream",
                                                            "Upload-Offset": str(offset), "Content-Length": str(n)})
            if resp.status_code != 204:
                raise RuntimeError(f"PATCH {resp.status_code}: {resp.text[:300]}")
            offset = int(resp.headers["Upload-Offset"])
    return time.perf_counter() - started


def main():
    import psutil
    import requests

    from domain import storage
    from domain.access import Role
    from domain.config import Settings, set_settings
    from ops.embedded import EmbeddedServer, free_port, mongo_spec, redis_spec

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mongo = EmbeddedServer(mongo_spec(tmp, db="bench")).start()
        redis = EmbeddedServer(redis_spec(tmp)).start()
        gunicorn = None
        try:
            settings = Settings.from_env(mongodb_uri=mongo.url, mongodb_db="bench", redis_url=redis.url, data_dir=tmp,
                                         secret_key=SECRET, audit_key_file=tmp / "audit.key",
                                         argon2_time_cost=1, argon2_memory_cost=1024)
            set_settings(settings)
            storage.connect(mongo.url, "bench")
            from domain.accounts.models import Account
            from domain.accounts.passwords import hash_password
            from domain.accounts.services import login
            from domain.units.models import Unit, UnitKind
            import domain.audit  # noqa: F401
            import domain.outbox  # noqa: F401
            import domain.uploads.models  # noqa: F401

            storage.ensure_indexes()
            unit = Unit(code="BENCH0001", name="基准督查室", kind=UnitKind.OFFICE)
            storage.atomic(lambda tx: tx.insert(unit))
            account = Account(username="bench", role=Role.INSPECTOR, home_unit=unit.pk,
                              password_hash=hash_password("Bench@2026x"))
            storage.atomic(lambda tx: tx.insert(account))
            auth = {"Authorization": "Bearer " + login("bench", "Bench@2026x")["access_token"]}

            port = free_port()
            env = {**os.environ, "APP_ENV": "test", "DATA_DIR": str(tmp), "MONGODB_URI": mongo.url,
                   "MONGODB_DB": "bench", "REDIS_URL": redis.url, "SECRET_KEY": SECRET,
                   "AUDIT_KEY_FILE": str(tmp / "audit.key"), "API_BIND": f"127.0.0.1:{port}",
                   "WEB_CONCURRENCY": "1", "API_THREADS": "4"}
            log = open(tmp / "gunicorn.log", "wb")
            gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ops/gunicorn_conf.py",
                                         "bench.bench_uploads:server_app()"], cwd=ROOT, env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if requests.get(base + "/healthz", timeout=5).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            [worker] = psutil.Process(gunicorn.pid).children()
            head = (ROOT.parent / "shared" / "evidence-corpus" / "jpg" / "Canon_40D.jpg")
            head = head.read_bytes() if head.exists() else b"\xff\xd8\xff\xe0" + b"\0" * 60

            files = tmp / "files"
            files.mkdir()
            small = [(files / f"p{i}.jpg") for i in range(10)]
            small_sha = [make_file(p, 5 * MB, head) for p in small]
            upload(base, auth, small[0], small_sha[0])  # warm the worker before the baseline
            baseline = worker.memory_info().rss
            with Watch(worker) as w:
                seconds = sum(upload(base, auth, p, s) for p, s in zip(small[1:], small_sha[1:]))
            print(f"9 x 5 MB (after 1 warm-up), one PATCH each: {9 * 5 / seconds:.0f} MB/s, "
                  f"{seconds / 9 * 1000:.0f} ms per upload; "
                  f"worker RSS {baseline / MB:.0f} MB -> peak {w.peak / MB:.0f} MB")

            big = files / "big.jpg"
            big_sha = make_file(big, 200 * MB, head)
            for label, chunk in (("one PATCH", None), ("8 MB PATCHes", 8 * MB)):
                for d in ("blobs", "uploads"):  # same bytes again would only be deduplicated: start empty
                    subprocess.run(["rm", "-rf", str(tmp / d)], check=True)
                baseline = worker.memory_info().rss
                with Watch(worker) as w:
                    seconds = upload(base, auth, big, big_sha, chunk)
                print(f"1 x 200 MB, {label}: {200 / seconds:.0f} MB/s ({seconds:.2f} s incl. the SHA-256 "
                      f"check at completion); worker RSS {baseline / MB:.0f} MB -> peak {w.peak / MB:.0f} MB, "
                      f"growth {(w.peak - baseline) / MB:.1f} MB (goal < 50 MB)")
        finally:
            if gunicorn is not None:
                gunicorn.terminate()
                gunicorn.wait(timeout=30)
            redis.stop()
            mongo.stop()


if __name__ == "__main__":
    main()
