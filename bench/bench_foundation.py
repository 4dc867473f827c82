"""Foundation figures: transactional write latency and audit-chain append throughput.

Prints figures; asserts nothing. Runs on its own embedded SecantusDB in a temp directory.
    .venv/bin/python bench/bench_foundation.py
"""
from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain import storage  # noqa: E402
from domain.access import SYSTEM  # noqa: E402
from domain.config import Settings, set_settings  # noqa: E402
from ops.embedded import EmbeddedServer, mongo_spec  # noqa: E402


def _setup(uri: str, data_dir: str):
    s = Settings.from_env(mongodb_uri=uri, mongodb_db="bench", data_dir=Path(data_dir),
                          audit_key_file=Path(data_dir) / "audit.key")
    set_settings(s)
    storage.connect(uri, "bench")
    import domain.audit  # noqa: F401
    import domain.outbox  # noqa: F401
    import domain.units.models  # noqa: F401


def _appender(uri, data_dir, chain, n, out):
    _setup(uri, data_dir)
    t0 = time.perf_counter()
    for i in range(n):
        storage.atomic(lambda tx: tx.audit(SYSTEM, "bench.append", target_type="bench", target_id=i, chain=chain))
    out.put(time.perf_counter() - t0)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(mongo_spec(Path(tmp), db="bench")).start()
        try:
            _setup(server.url, tmp)
            storage.ensure_indexes()
            from domain.audit.chain import ensure_chain
            from domain.units.models import Unit, UnitKind

            for c in ("c0", "c1", "c2", "c3"):
                ensure_chain(c)
            lat = []
            for i in range(300):
                unit = Unit(code=f"B{i}", name="基准单位", kind=UnitKind.ORGANISATION)
                t0 = time.perf_counter()

                def write(tx, unit=unit):
                    tx.insert(unit)
                    tx.audit(SYSTEM, "unit.create", target_type="unit", target_id=unit.pk, chain="c0")
                    tx.enqueue("workers.units.recount_sites", str(unit.pk))
                storage.atomic(write)
                lat.append((time.perf_counter() - t0) * 1000)
            print(f"transaction (insert + audit + outbox), 1 writer: p50 {statistics.median(lat):.1f} ms, "
                  f"p99 {pct(lat, 99):.1f} ms, {1000 / statistics.mean(lat):.0f}/s")
            ctx = mp.get_context("spawn")
            for procs, same_chain in ((1, True), (4, True), (4, False)):
                q = ctx.Queue()
                n = 100
                ps = [ctx.Process(target=_appender, args=(server.url, tmp, "c1" if same_chain else f"c{k}", n, q))
                      for k in range(procs)]
                t0 = time.perf_counter()
                for p in ps:
                    p.start()
                for p in ps:
                    p.join()
                wall = time.perf_counter() - t0
                label = "one chain" if same_chain else "separate chains"
                print(f"audit appends, {procs} process(es), {label}: {procs * n / wall:.0f} events/s "
                      f"(wall {wall:.2f} s incl. process start)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
