"""Report intake figures: submission latency of a 40-item report, first submission and retry.

Through the Flask app in-process (schema, service, one transaction with the task mark, two audit
events), on its own embedded SecantusDB in a temp directory; no Redis (the validation outbox entry
waits). Each submission is a new task (one report per inspector per task), with 40 answers, 3
findings, 2 GPS fixes and 4 declared photos. Prints figures; asserts nothing.
    .venv/bin/python bench/bench_reports.py [N]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain import storage  # noqa: E402
from domain.access import SYSTEM  # noqa: E402
from domain.config import Settings  # noqa: E402
from ops.embedded import EmbeddedServer, mongo_spec  # noqa: E402

FORM_ID = "bench_forty_items"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def _label(text: str) -> dict:
    return {"zh": text, "en": text}


def forty_item_form() -> dict:
    """10 yes/no, 8 single choice, 6 numbers, 6 scores, 4 texts, 2 times, 2 locations, 2 photo items."""
    items = []
    for n in range(10):
        items.append({"id": f"yn{n}", "type": "yes_no", "label": _label(f"是否规范 {n}"),
                      "category": "window_discipline.on_post", "problem_when": False, "photos_when_problem": 1})
    for n in range(8):
        items.append({"id": f"ch{n}", "type": "single_choice", "label": _label(f"选择 {n}"),
                      "options": [{"value": "good", "label": _label("好")}, {"value": "bad", "label": _label("差")}],
                      "category": "openness", "problem_when": ["bad"]})
    items += [{"id": f"num{n}", "type": "number", "integer": True, "min": 0, "label": _label(f"数量 {n}")}
              for n in range(6)]
    items += [{"id": f"sc{n}", "type": "score", "min": 1, "max": 5, "label": _label(f"评分 {n}"),
               "category": "hard_face", "problem_when": {"below": 3}} for n in range(6)]
    items += [{"id": f"tx{n}", "type": "text", "label": _label(f"说明 {n}")} for n in range(4)]
    items += [{"id": f"tm{n}", "type": "time", "label": _label(f"时间 {n}")} for n in range(2)]
    items += [{"id": f"loc{n}", "type": "location", "label": _label(f"位置 {n}")} for n in range(2)]
    items += [{"id": f"ph{n}", "type": "photo", "min_photos": 2, "label": _label(f"照片 {n}")} for n in range(2)]
    return {"form_id": FORM_ID, "version": 1, "title": _label("四十项基准检查表"), "mode": "any",
            "sections": [{"id": "all", "title": _label("全部"), "items": items}]}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def line(name: str, values: list[float]) -> str:
    return f"{name}: p50 {statistics.median(values):.1f} ms, p99 {pct(values, 99):.1f} ms, n={len(values)}"


def main(n: int = 200) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        server = EmbeddedServer(mongo_spec(tmp_path, db="bench")).start()
        try:
            settings = Settings.from_env(app_env="test", mongodb_uri=server.url, mongodb_db="bench", data_dir=tmp_path,
                                         secret_key=SECRET, audit_key_file=tmp_path / "audit.key", redis_url=None,
                                         argon2_time_cost=1, argon2_memory_cost=1024)
            from api.app import create_app
            from domain import bootstrap
            from domain.forms import load_forms

            app = create_app(settings)
            bootstrap.prepare_database()
            form_file = tmp_path / f"{FORM_ID}.yaml"
            form_file.write_text(yaml.safe_dump(forty_item_form(), allow_unicode=True), encoding="utf-8")
            load_forms(SYSTEM, [form_file])

            from tests.factories.reports import declare, photo, report_body
            from tests.factories.tasks import task_in
            from tests.personas import build_world

            world = build_world()
            headers = world.headers("inspector_east")
            photos = [photo(k) for k in range(4)]
            files = [declare(f"ph{k // 2}-{k % 2}", data, item=f"ph{k // 2}") for k, data in enumerate(photos)]
            findings = [{"id": f"f{k}", "item": f"yn{k}", "category": "window_discipline.on_post",
                         "description": "窗口人员离岗，未放置去向牌。" * 3, "severity": "medium",
                         "location": {"lat": 22.5760, "lon": 113.0830, "crs": "gcj02"}} for k in range(3)]
            tasks = [task_in(world, form_id=FORM_ID, form_version=1) for _ in range(n)]
            bodies = []
            for task in tasks:
                body = report_body(task, evidence=files, findings=findings)
                body["fixes"].append({**body["fixes"][0], "crs": "gcj02"})
                bodies.append(body)
            assert len(bodies[0]["answers"]) == 38, len(bodies[0]["answers"])  # + 2 photo items = 40
            client = app.test_client()
            for warm in bodies[:5]:
                assert client.post("/api/v1/reports", json=warm, headers=headers).status_code == 201
            first, retry = [], []
            for body in bodies[5:]:
                t0 = time.perf_counter()
                resp = client.post("/api/v1/reports", json=body, headers=headers)
                first.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 201, resp.get_data(as_text=True)
            for body in bodies[5:]:
                t0 = time.perf_counter()
                resp = client.post("/api/v1/reports", json=body, headers=headers)
                retry.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200
            print("report submission, 40 items, 3 findings, 4 declared photos (in-process WSGI, embedded SecantusDB)")
            print(line("  first submission (201)", first))
            print(line("  retry, same payload (200)", retry))
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
