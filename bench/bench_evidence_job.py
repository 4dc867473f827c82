"""The verdict job's per-photo service call in a warm process, DB writes included, against the floor
timed in the same rounds, and beside it the fork + queue latency of a real forking RQ worker.

The service call is ``domain.evidence.validation.validate_evidence``: the file's name read, the guarded
read started, and beside it the photo with its report, task and office (one aggregate), the exact-reuse
lookup and the audit head's peek; the near-duplicate lookup once the child's hashes are in; then one
transaction with the verdict, the facts and band keys on the record and the custody audit event, the
thumbnail written to the blob store beside it. Two paths: the first judgement (what every photo's job
does once; the record is reset to unjudged and its thumbnail's file removed between rounds, outside
the timing), and a forced re-judgement (``force=True``, revalidation after a rule change). The floor
(bench_validation.floor) is SHA-256, EXIF, the 1/8 draft decode, the hashes and the 320 px thumbnail in
this process, timed in the same rounds. The ratio is what counts (docs/validation.md, "Measurements"). Prints figures;
asserts nothing.

    /tmp/v1/bin/python bench/bench_evidence_job.py [--rounds 10] [--jobs 30]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_validation import floor, ms, pct, synth_12mp, timed

from domain import storage
from domain.access import SYSTEM
from domain.config import Settings, set_settings
from ops.embedded import EmbeddedServer, mongo_spec, redis_spec

FILES = {"gps": "jpg/gps/DSCN0010.jpg", "blue": "jpg/xmp/BlueSquare.jpg", "hdr": "jpg/hdr/iphone_hdr_NO.jpg",
         "heic": "heic/IMG_5195.HEIC"}


def decode_alone(path: Path) -> None:
    """The HEIC goal's yardstick (<= 1.2x): the full decode and nothing else."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()


def queue_latency(settings: Settings, jobs: int) -> list[float]:
    """enqueue -> finished of a no-op job through a real forking worker (InspectionWorker, warm imports)."""
    import redis
    from rq import Queue, Worker

    from ops import programs

    env = {"MONGODB_URI": settings.mongodb_uri, "MONGODB_DB": settings.mongodb_db, "REDIS_URL": settings.redis_url,
           "DATA_DIR": str(settings.data_dir), "AUDIT_KEY_FILE": str(settings.audit_key_file),
           "SECRET_KEY": settings.secret_key, "APP_ENV": "test", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(programs.worker(settings.redis_url, name="bench-evidence"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = redis.Redis.from_url(settings.redis_url)
    try:
        while not any(w.name == "bench-evidence" for w in Worker.all(connection=conn)):
            time.sleep(0.05)
        queue, out = Queue("default", connection=conn), []
        for _ in range(jobs):
            t0 = time.perf_counter()
            job = queue.enqueue("os.getpid")
            while job.get_status(refresh=True) != "finished":
                time.sleep(0.001)
            out.append(time.perf_counter() - t0)
        return out
    finally:
        proc.terminate()
        proc.wait(15)


def first_judgements(validation, store, evidence_id, rounds: int) -> list[float]:
    """The service call on a photo never judged: the record is reset (and its thumbnail's file removed,
    so the thumbnail is written again) before each round, outside the timing."""
    from domain.reports import Evidence

    out = []
    for _ in range(rounds):
        thumbnail = Evidence._get_collection().find_one({"_id": evidence_id}).get("thumbnail_sha256")
        if thumbnail:
            store.path(thumbnail).unlink(missing_ok=True)
        Evidence._get_collection().update_one({"_id": evidence_id}, {"$inc": {"rev": 1}, "$unset": {
            "facts": "", "facts_digest": "", "verdict": "", "outcome": "", "validator_version": "",
            "validated_at": "", "thumbnail_sha256": "", "phash_keys": ""}})
        t0 = time.perf_counter()
        result = validation.validate_evidence(SYSTEM, evidence_id)
        out.append(time.perf_counter() - t0)
        if not result["judged"]:
            raise SystemExit(f"not judged: {result}")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        mongo = EmbeddedServer(mongo_spec(data_dir, db="bench_test")).start()
        rds = EmbeddedServer(redis_spec(data_dir)).start()
        try:
            settings = Settings.from_env(app_env="test", data_dir=data_dir, mongodb_uri=mongo.url,
                                         mongodb_db="bench_test", redis_url=rds.url,
                                         secret_key="bench-secret-key-that-is-long-enough-0123456789",
                                         audit_key_file=data_dir / "audit.key", argon2_time_cost=1,
                                         argon2_memory_cost=1024)
            set_settings(settings)
            settings.audit_key()
            storage.connect(settings.mongodb_uri, settings.mongodb_db)
            import domain.validation  # noqa: F401
            from domain.validation.facts import configure_pillow

            configure_pillow(None)  # HEIF in this process too, for the floor (as bench_validation does)
            from domain.evidence import blob_store, validation
            from tests.factories.evidence import (
                corpus_task,
                evidence_of,
                received_report,
            )
            from tests.personas import build_world

            storage.ensure_indexes()
            world = build_world()
            files = {**FILES, "synth": str(synth_12mp(data_dir / "synthesized-12mp.jpg", 7))}
            report = received_report(world, corpus_task(world), files)
            photos = evidence_of(report.pk)
            store = blob_store()
            print(f"per-photo service call (validate_evidence), warm process, {args.rounds} rounds each, the floor "
                  f"timed in the same rounds:")
            for name, record in photos.items():
                path = store.path(record.sha256)
                validation.validate_evidence(SYSTEM, record.pk, force=True)  # warm: guard child, caches
                floor(path)
                floors, firsts, forceds = [], [], []
                for _ in range(args.rounds):  # interleaved, so a slower moment of the machine hits all three
                    floors += timed(lambda p=path: floor(p), 1)
                    firsts += first_judgements(validation, store, record.pk, 1)
                    forceds += timed(lambda r=record: validation.validate_evidence(SYSTEM, r.pk, force=True), 1)
                f, first, forced = (statistics.median(x) for x in (floors, firsts, forceds))
                label = "synthesized 12 MP JPEG" if name == "synth" else FILES[name]
                goal = "  [goal <= 1.3x]" if name in ("hdr", "synth") else ""  # the JPEGs of 8 MP and more
                print(f"  {label:32} floor {ms(f)}  first judgement {ms(first)} ({first / f:.2f}x)  "
                      f"forced re-judgement {ms(forced)} ({forced / f:.2f}x){goal}")
                if label.lower().endswith(".heic"):
                    d = statistics.median(timed(lambda p=path: decode_alone(p), args.rounds))
                    print(f"  {'':32} HEIC decode alone {ms(d)}: first judgement / decode {first / d:.2f}x  "
                          f"[goal <= 1.2x]")
            lat = queue_latency(dataclasses.replace(settings), args.jobs)
            print(f"fork + queue latency (enqueue -> finished of a no-op job, forking worker): "
                  f"p50 {ms(statistics.median(lat))} p99 {ms(pct(lat, 99))}")
        finally:
            from domain.validation import guard
            guard.shutdown()
            rds.stop()
            mongo.stop()


if __name__ == "__main__":
    main()
