"""Validation figures: photos/s per process, per-stage times, peak RSS, the ratio of the verdict
path to the bare floor measured in the same run, and near-duplicate lookups at a million photos.

The floor does the work no verdict can skip, in this process with nothing else: SHA-256, EXIF
(Pillow), the 1/8 draft decode (a full decode for HEIC), the perceptual hashes, the 320 px
thumbnail. The verdict path is what a warm worker runs per photo: the guarded facts read (child
process round trip included), the reuse lookups against the stored evidence records, judge(), and
the record's verdict and band keys written in a transaction (bench_evidence_job.py times the real
service call, with its overlaps). Goal: <= 1.3x the floor for JPEG, <= 1.2x the decode for HEIC;
lookup p99 < 20 ms at 1,000,000 stored hashes. Prints figures; asserts nothing.

    /tmp/v1/bin/python bench/bench_validation.py [--stored 1000000] [--keep DIR] [--rounds 5]

--keep DIR keeps the SecantusDB data there, so a second run skips the insert of the hashes.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from domain import clock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import ExifTags, Image, ImageOps  # noqa: E402

from domain import storage  # noqa: E402
from bson import ObjectId  # noqa: E402

from domain.reports import Evidence  # noqa: E402
from domain.validation import (DeviceFix, Site, ValidationContext, assess_photo, band_keys,  # noqa: E402
                               extract_facts, judge, lookup_reuse, run_guarded)
from domain.validation import guard, hashes  # noqa: E402
from domain.validation.facts import configure_pillow, extract_facts_guarded  # noqa: E402
from domain.validation.near_duplicates import find_exact_reuse, find_near_duplicates  # noqa: E402
from domain.validation.working_copies import draft_size, thumbnail_from_upright  # noqa: E402
from ops.embedded import EmbeddedServer, mongo_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or ROOT.parent / "shared" / "evidence-corpus")
JIANGMEN = (22.5790, 113.0815)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def synth_12mp(path: Path, seed: int) -> Path:
    """A 4000x3000 phone-like JPEG: a smooth scene with sensor noise, EXIF time, offset and GPS."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), "RGB")
    scene = np.asarray(small.resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.int16)
    scene = np.clip(scene + rng.integers(-12, 13, scene.shape, dtype=np.int16), 0, 255).astype(np.uint8)
    ex = Image.Exif()
    ex[0x010F], ex[0x0110], ex[0x0131], ex[0x0112] = "Xiaomi", "Mi 11", "V13.0.1", 1
    sub = ex.get_ifd(ExifTags.IFD.Exif)
    sub[0x9003], sub[0x9011], sub[0x9291] = "2026:05:01 10:00:00", "+08:00", "123"
    gps = ex.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({1: "N", 2: (22.0, 34.0, 44.4), 3: "E", 4: (113.0, 4.0, 53.4), 29: "2026:05:01", 7: (2.0, 0.0, 0.0),
                31: 12.5})
    Image.fromarray(scene, "RGB").save(path, "JPEG", quality=92, exif=ex)
    return path


def floor(path: Path) -> None:
    """The bare work: SHA-256, EXIF, draft (or full) decode, hashes, 320 px thumbnail."""
    data = path.read_bytes()
    hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        exif.get_ifd(ExifTags.IFD.Exif), exif.get_ifd(ExifTags.IFD.GPSInfo)
        if image.format == "JPEG":
            image.draft("RGB", draft_size(*image.size, 320))
        image.load()
        small = image
        if max(small.size) // 640 >= 2:  # a full decode (HEIC): box-reduce to about a draft's size
            small = image.reduce(max(small.size) // 640)
            small.info = dict(image.info)
        up = ImageOps.exif_transpose(small)
        grey = hashes.grey(up)
        hashes.phash(grey), hashes.dhash(grey)
        thumbnail_from_upright(up)


def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def vm_hwm(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


NEW_REPORT = str(ObjectId())  # the report the measured photos belong to


def _filler_facts() -> dict:
    """A real photo's facts (about 1 KB stored), so the stored records are the size real ones are."""
    facts = extract_facts(CORPUS / "jpg/gps/DSCN0010.jpg").to_dict()
    return {k: v for k, v in facts.items() if k not in ("phash", "dhash")}


def stored_record(evidence_id, report_id, client_id: str, sha256: str, phash: int | str, dhash: int | str,
                  filler: dict) -> dict:
    """A judged photo's evidence record with what the lookups read (raw: the bench skips the rest)."""
    phash = hashes.to_hex(phash) if isinstance(phash, int) else phash
    dhash = hashes.to_hex(dhash) if isinstance(dhash, int) else dhash
    return {"_id": evidence_id, "report": report_id, "client_id": client_id, "sha256": sha256,
            "facts": {**filler, "sha256": sha256, "phash": phash, "dhash": dhash}, "outcome": "pass",
            "phash_keys": band_keys(phash), "validated_at": clock.now()}


def store_hashes(n: int) -> None:
    coll = Evidence._get_collection()
    have = coll.estimated_document_count()
    if have >= n:
        print(f"judged photos: {have:,} already stored (kept directory)")
        return
    rng, filler = random.Random(2026), _filler_facts()
    reports = {}
    t0 = time.perf_counter()
    batch = []
    for i in range(have, n):
        h, sha = rng.getrandbits(64), hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
        report = reports.setdefault(i // 6, ObjectId())
        batch.append(stored_record(ObjectId(), report, f"bench-{i}", sha, h, rng.getrandbits(64), filler))
        if len(batch) == 10_000:
            coll.insert_many(batch, ordered=False)
            batch = []
            reports.clear()
    if batch:
        coll.insert_many(batch, ordered=False)
    wall = time.perf_counter() - t0
    print(f"judged photos: inserted {n - have:,} evidence records in {wall:.0f} s ({(n - have) / wall:,.0f}/s, "
          f"batches of 10k)")


def bench_lookups(rounds: int = 1000) -> None:
    rng = random.Random(7)
    near, exact = [], []
    for i in range(rounds):
        h = rng.getrandbits(64)
        t0 = time.perf_counter()
        find_near_duplicates(hashes.to_hex(h), hashes.to_hex(rng.getrandbits(64)), report_id=NEW_REPORT)
        near.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        find_exact_reuse(hashlib.sha256((i * 997).to_bytes(8, "big")).hexdigest(), report_id=NEW_REPORT)
        exact.append(time.perf_counter() - t0)
    # Planted: a stored hash with 5 bits flipped must be found.
    doc = Evidence._get_collection().find_one({"client_id": "bench-123"})
    target = hashes.from_hex(doc["facts"]["phash"])
    for bit in (0, 13, 27, 41, 60):
        target ^= 1 << bit
    found = find_near_duplicates(hashes.to_hex(target), None, report_id=NEW_REPORT)
    stored = Evidence._get_collection().estimated_document_count()
    print(f"near-duplicate lookup (D=5, 66 index seeks in 3 queries), {stored:,} judged photos stored: p50 "
          f"{ms(statistics.median(near))}, p99 {ms(pct(near, 99))}  [goal p99 < 20 ms]; planted 5-bit neighbour "
          f"found: {any(m.evidence_id == str(doc['_id']) for m in found)}")
    print(f"exact-reuse lookup (sha256): p50 {ms(statistics.median(exact))}, p99 {ms(pct(exact, 99))}")


_recorded: list = []


def forget_run() -> None:
    """Remove what a measured run stored, so every round looks up against the same million
    unrelated photos, not its own earlier rounds."""
    Evidence._get_collection().delete_many({"_id": {"$in": _recorded}})
    _recorded.clear()


def _write(facts) -> None:
    """The verdict path's write: a judged record with its band keys, in a transaction."""
    record = stored_record(ObjectId(), ObjectId(NEW_REPORT), f"run-{len(_recorded)}-{time.perf_counter_ns()}",
                           facts.sha256, facts.phash or "0" * 16, facts.dhash or "0" * 16, facts.to_dict())
    _recorded.append(record["_id"])
    storage.atomic(lambda tx: tx.collection(Evidence).insert_one(record, session=tx.session))


def bench_set(label: str, paths: list[Path], rounds: int, context: ValidationContext) -> None:
    floor_t, path_t, stages, parts = [], [], {}, {"facts": [], "lookups": [], "judge": [], "write": []}
    for n, path in enumerate(paths):
        floor(path), extract_facts_guarded(path)  # warm caches for this file
        floor_t += timed(lambda: floor(path), rounds)
        for _ in range(rounds):
            t0 = time.perf_counter()
            assessment = assess_photo(path, context)
            _write(assessment.facts)
            path_t.append(time.perf_counter() - t0)
            forget_run()
        facts = extract_facts_guarded(path)
        for k, v in facts.timings.items():
            stages.setdefault(k, []).append(v)
        t0 = time.perf_counter()
        facts = extract_facts_guarded(path)
        parts["facts"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lookup_reuse(facts, report_id=NEW_REPORT)
        parts["lookups"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        judge(facts, context)
        parts["judge"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _write(facts)
        parts["write"].append(time.perf_counter() - t0)
        forget_run()
    f, p = statistics.median(floor_t), statistics.median(path_t)
    print(f"\n{label} ({len(paths)} file(s) x {rounds} rounds)")
    print(f"  floor (sha256+exif+draft+hashes+thumbnail, unguarded): {ms(f)} median")
    print(f"  verdict path (guarded facts + lookups + judge + write): {ms(p)} median -> "
          f"{1 / p:.1f} photos/s per process; ratio to floor {p / f:.2f}x")
    print("  stages in the child (median): " + ", ".join(
        f"{k} {statistics.median(v):.1f} ms" for k, v in stages.items()))
    print("  parts in the worker (median): " + ", ".join(
        f"{k} {ms(statistics.median(v))}" for k, v in parts.items()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_pillow(None)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.keep or Path(tmp)
        server = EmbeddedServer(mongo_spec(data_dir, db="bench")).start()
        try:
            storage.connect(server.url, "bench")
            Evidence.ensure_indexes()
            store_hashes(args.stored)
            bench_lookups()

            # Guard costs: child start (a fork of this warm process), round trip, a plain fork.
            guard.shutdown()
            t0 = time.perf_counter()
            run_guarded(hashes.to_hex, 1, timeout_s=5, memory_mb=2048)
            start = time.perf_counter() - t0
            trip = timed(lambda: run_guarded(hashes.to_hex, 1, timeout_s=5, memory_mb=2048), 500)
            forks = []
            for _ in range(20):
                t0 = time.perf_counter()
                pid = os.fork()
                if pid == 0:
                    os._exit(0)
                os.waitpid(pid, 0)
                forks.append(time.perf_counter() - t0)
            print(f"\nguard: child start {ms(start)} (once per worker process), round trip p50 "
                  f"{ms(statistics.median(trip))} p99 {ms(pct(trip, 99))}; "
                  f"fork+exit of this process (an RQ work horse's fork) p50 {ms(statistics.median(forks))}")

            synth_dir = Path(tmp) / "synth"
            synth_dir.mkdir()
            synth = [synth_12mp(synth_dir / f"p{i}.jpg", i) for i in range(4)]
            print(f"synthesized 12 MP JPEGs: {statistics.mean(p.stat().st_size for p in synth) / 1e6:.1f} MB average")
            fixes = (DeviceFix(*JIANGMEN, 10, datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)),)
            window = {"starts_at": datetime(2026, 5, 1, 1, tzinfo=timezone.utc),
                      "ends_at": datetime(2026, 5, 1, 3, tzinfo=timezone.utc)}
            context = ValidationContext(site=Site(*JIANGMEN, 100), device_fixes=fixes, report_id=NEW_REPORT, **window)
            bench_set("synthesized 12 MP JPEG", synth, args.rounds, context)
            phones = [CORPUS / "jpg/hdr/iphone_hdr_NO.jpg", CORPUS / "jpg/mobile/jolla.jpg",
                      CORPUS / "jpg/corrupted.jpg"]
            bench_set("real phone/camera JPEGs (8-10 MP)", phones, args.rounds, context)
            heic = CORPUS / "heic/IMG_5195.HEIC"
            bench_set("HEIC 8.5 MP (iPhone 11 Pro Max)", [heic], args.rounds, context)

            def decode_only():
                with Image.open(heic) as image:
                    image.load()
            decode = statistics.median(timed(decode_only, args.rounds))
            path = statistics.median(timed(lambda: assess_photo(heic, context), args.rounds))
            print(f"  HEIC decode alone {ms(decode)}; verdict path / decode {path / decode:.2f}x  [goal <= 1.2x]")
            unguarded = statistics.median(timed(lambda: extract_facts(synth[0]), args.rounds))
            guarded = statistics.median(timed(lambda: extract_facts_guarded(synth[0]), args.rounds))
            print(f"\nguard overhead per photo (12 MP JPEG): unguarded {ms(unguarded)}, guarded {ms(guarded)}")
            child = guard._guards.get((2048, "fork"))
            child_hwm = vm_hwm(child.proc.pid) if child and child.proc else 0.0
            print(f"peak RSS: worker process {vm_hwm():.0f} MB, guarded child {child_hwm:.0f} MB")
        finally:
            guard.shutdown()
            server.stop()


if __name__ == "__main__":
    main()
