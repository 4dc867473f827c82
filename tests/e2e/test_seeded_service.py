"""The seeded service as `make run` starts it: the audit chain under concurrent writers from several
processes through the real API, and schemathesis against the app's own OpenAPI document per role."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import start_service

pytestmark = pytest.mark.e2e
DEMO_PASSWORD = "Inspect@2026"
ROLES = ("admin", "supervisor", "inspector", "liaison", "leader")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    svc = start_service(tmp_path_factory.mktemp("seeded"), SEED_DEMO="1", WEB_CONCURRENCY="2",
                        DEMO_PASSWORD=DEMO_PASSWORD)
    yield svc
    svc.stop()


def _rename_units(base_url: str, token: str, unit_ids: list[str], rounds: int) -> list[int]:
    """One client process: rename its units again and again (each rename is one audited transaction)."""
    statuses = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        for r in range(rounds):
            for uid in unit_ids:
                resp = http.patch(f"{base_url}/api/v1/units/{uid}", json={"name_en": f"round {r} by {os.getpid()}"},
                                  timeout=30)
                statuses.append(resp.status_code)
    return statuses


def _inspectctl(svc, *args) -> subprocess.CompletedProcess:
    # The CLI finds the service's servers through DATA_DIR/run/servers.json, as an operator's would.
    env = {**svc.env}
    return subprocess.run([str(Path(sys.executable).parent / "inspectctl"), *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_concurrent_writers_through_the_service_leave_one_gapless_chain(seeded):
    admin = seeded.login("admin", DEMO_PASSWORD)
    units = seeded.get("/api/v1/units", params={"ancestor_id": _unit_id(seeded, admin, "440703000000"), "limit": 200},
                       headers=admin).json()["items"]
    ids = [u["id"] for u in units]
    assert len(ids) >= 4
    token = admin["Authorization"].split()[1]
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_rename_units, [seeded.base_url] * 4, [token] * 4, [ids[i::4] for i in range(4)],
                                [5] * 4))
    statuses = [s for r in results for s in r]
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    events = seeded.get("/api/v1/audit-events", params={"action": "unit.update", "limit": 200},
                        headers=admin).json()["items"]
    assert len(events) == len(statuses)
    chains = {e["chain"] for e in events}
    assert len(chains) == 1  # every renamed unit lies in one office's jurisdiction
    checked = _inspectctl(seeded, "audit", "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "BROKEN" not in checked.stdout
    seqs = sorted(e["seq"] for e in events)
    assert len(set(seqs)) == len(seqs)  # no fork: no two events share a place in the chain


def _unit_id(svc, headers, code: str) -> str:
    items = svc.get("/api/v1/units", params={"code": code}, headers=headers).json()["items"]
    return items[0]["id"]


# Operations that would end the run's own sessions are excluded (so the run does not lock itself out);
# they have their own tests in tests/api/test_auth.py.
EXCLUDED = ("logout", "changePassword")


@pytest.fixture(scope="module")
def schemathesis_reports(seeded, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """One schemathesis run per role, all at once (they only read and fuzz; the service serves them together)."""
    runs = {}
    for role in ROLES:
        token = seeded.login(role, DEMO_PASSWORD)["Authorization"]
        workdir = tmp_path_factory.mktemp(f"st-{role}")
        report = workdir / "report.json"
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{seeded.base_url}/openapi.json",
               "-H", f"Authorization: {token}", "--checks", "all", "--max-examples", "8", "--seed", "20261125",
               # The coverage phase (every boundary of every parameter) is the slow one: the admin reaches
               # every operation's logic, so it runs there; every role fuzzes.
               "--phases", "examples,coverage,fuzzing" if role == "admin" else "examples,fuzzing", "--no-shrink", "--workers", "1",
               "--generation-database", "none", "--report", "json", "--report-json-path", str(report),
               "--request-timeout", "30"]
        for op in EXCLUDED:
            cmd += ["--exclude-operation-id", op]
        out = open(workdir / "out.txt", "w")
        runs[role] = (subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir), report, workdir)
        out.close()
    results = {}
    for role, (proc, report, workdir) in runs.items():
        proc.wait(timeout=600)
        results[role] = (report, (workdir / "out.txt").read_text()[-6000:])
    return results


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_no_server_error_and_no_response_breaking_the_schema(schemathesis_reports, role):
    report, output = schemathesis_reports[role]
    assert report.exists(), output
    data = json.loads(report.read_text())
    assert data["operations"]["tested"] > 30, output  # every operation but the excluded ones was exercised
    serious = [f for f in data["failures"] if f["code"] in SERIOUS or f["code"].startswith("ST4")]
    assert not serious, json.dumps(serious, ensure_ascii=False, indent=1) + "\n" + output


# What the issue asks: no 5xx and no response that breaks the documented schema (status code, content type,
# headers, body), and no ignored authentication (ST4xx). The request-side checks of --checks all (ST2xx:
# "schema-valid request rejected") run and are reported too, but business rules legitimately answer 4xx to
# schema-valid input (a code that already exists, an id that does not), so they do not fail this test.
SERIOUS = {"ST101", "ST102", "ST103", "ST104", "ST105", "ST106", "ST107", "ST108", "ST109", "ST110", "ST111"}
