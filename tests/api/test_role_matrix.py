"""Role × endpoint matrix: each persona gets exactly what it may, and nothing outside its jurisdiction.

One row per (route, method[, target]); each row states, for every persona, the status and, where the
body matters, what it must (and must not) contain. A route in ``app.url_map`` without a row fails
``test_every_route_has_a_row``, so a new endpoint cannot slip past this table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from domain.audit import AuditEvent
from tests.factories.tasks import (department_view, matrix_tasks, plan_body, staff_view, synced_tasks,
                                  task_count_is, task_ids_are, task_path)
from tests.factories.evidence import (matrix_photo, override_body, overridden, photo_path, revalidation_queued,
                                      summary_of_open_report)
from tests.factories.reports import (evidence_of_open_report, evidence_replayed, late_report_body, matrix_reports,
                                     report_ids_are, report_is, report_path)
from tests.personas import PASSWORD, World

# Forbidden and anonymous callers go first, so an allowed mutation (an admin's delete) runs last.
ORDER = ("anonymous", "liaison_water", "inspector_east", "leader_city", "supervisor_west", "supervisor_east", "admin")
EVERYONE = ORDER[1:]
UNIT_KEYS = ("city", "east", "west", "office_city", "office_east", "office_west", "water", "site_water", "hall_east",
             "market_west", "site_west")
EAST = ("east", "office_east", "water", "site_water", "hall_east")
WEST = ("west", "office_west", "market_west", "site_west")


@dataclass
class Expect:
    status: int
    check: Callable[[World, dict | list | None], None] | None = None


@dataclass
class Row:
    method: str
    rule: str
    path: Callable[[World], str]
    expect: dict[str, int | Expect]
    body: Callable[[World, str], dict] | None = None
    headers: Callable[[World], dict] | None = None
    label: str = ""
    setup: Callable[[World], None] | None = None
    per_persona: bool = field(default=False)


def only(*statuses_for: tuple[tuple[str, ...], int | Expect], default: int = 403, anonymous: int = 401) -> dict:
    table: dict[str, int | Expect] = {p: default for p in EVERYONE}
    table["anonymous"] = anonymous
    for personas, expect in statuses_for:
        for p in personas:
            table[p] = expect
    return table


def all_of(expect: int | Expect, anonymous: int = 401) -> dict:
    table: dict[str, int | Expect] = {p: expect for p in EVERYONE}
    table["anonymous"] = anonymous
    return table


# ---- body checks -----------------------------------------------------------------------------------

def unit_ids(*keys):
    def check(w: World, body):
        got = {u["id"] for u in body["items"]}
        assert got == {w.id(k) for k in keys}, sorted(u["name"] for u in body["items"])
    return check


def unit_is(key):
    def check(w: World, body):
        assert body["id"] == w.id(key)
    return check


def account_ids(*usernames):
    def check(w: World, body):
        assert {a["username"] for a in body["items"]} == set(usernames)
        assert "password_hash" not in str(body)
    return check


def own_account(w: World, body):  # filled per persona in run_row
    raise AssertionError("replaced at run time")


def tokens_issued(w: World, body):
    assert body["access_token"] and body["refresh_token"] and body["expires_in"] > 0


def audit_only_units(*keys):
    def check(w: World, body):
        allowed = {w.id(k) for k in keys}
        units = {e["target"]["unit"] for e in body["items"]}
        assert units, "expected some events"
        assert units <= allowed, units - allowed
    return check


def form_list(w: World, body):
    assert {f["form_id"] for f in body["items"]} >= {"open_check_service_hall", "undercover_mystery_visit"}


def categories(w: World, body):
    assert "hard_to_enter" in str(body)


# ---- setup helpers ---------------------------------------------------------------------------------

def first_form_version(w: World) -> str:
    from domain.forms import load_shipped_forms
    from domain.forms.models import FormVersion

    load_shipped_forms()
    fv = FormVersion.objects.order_by("form_id").first()
    return f"/api/v1/forms/{fv.form_id}/versions/{fv.version}"


def east_event_id(w: World) -> str:
    from domain import storage
    from domain.access import SYSTEM

    storage.atomic(lambda tx: tx.audit(SYSTEM, "unit.update", target_type="unit", target_id=w.id("water"),
                                       target_unit=w.id("water"), chain=w.id("office_east")))
    return str(AuditEvent.objects(target_id=w.id("water")).first().pk)


def audited_world(w: World) -> None:
    """Events on an east and a west unit, so scoped listings have something to hide."""
    from domain import storage
    from domain.access import SYSTEM

    for key, office in (("water", "office_east"), ("market_west", "office_west")):
        storage.atomic(lambda tx, key=key, office=office: tx.audit(
            SYSTEM, "unit.update", target_type="unit", target_id=w.id(key), target_unit=w.id(key),
            chain=w.id(office)))


def new_org(w: World, persona: str) -> dict:
    return {"code": f"ORG-{ORDER.index(persona)}", "name": "蓬江区新建部门", "kind": "organisation",
            "parent_id": w.id("east")}


def new_account(w: World, persona: str) -> dict:
    return {"username": f"new_{persona}", "display_name": "新督查员", "role": "inspector",
            "home_unit": w.id("water"), "password": "Strong#Pass1", "pool_offices": [w.id("office_east")]}


def login_body(w: World, persona: str) -> dict:
    return {"username": "admin" if persona == "anonymous" else persona, "password": PASSWORD}


def refresh_body(w: World, persona: str) -> dict:
    from domain.accounts.services import login

    return {"refresh_token": login("admin", PASSWORD)["refresh_token"]}


TUS = {"Tus-Resumable": "1.0.0"}


def _tus_metadata(w: World) -> dict:
    return {"target": "evidence", "target_id": f"{matrix_reports(w)['covert']}:p1", "sha256": "0" * 64}


def tus_creation_headers(w: World) -> dict:
    import base64

    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in _tus_metadata(w).items())
    return {**TUS, "Upload-Length": "10", "Upload-Metadata": meta}


def open_upload(w: World) -> str:
    """An unfinished tus upload by inspector_east for the undercover report's declared file (made once per world)."""
    if not getattr(w, "upload_id", None):
        from domain.accounts.services import actor_from_access_token
        from domain.uploads.services import create_upload

        actor = actor_from_access_token(w.tokens("inspector_east")["access_token"])
        w.upload_id = str(create_upload(actor, length=10, metadata=_tus_metadata(w)).pk)
    return w.upload_id


ROWS: list[Row] = [
    # health and docs: public
    Row("GET", "/healthz", lambda w: "/healthz", all_of(200, anonymous=200)),
    Row("GET", "/readyz", lambda w: "/readyz", all_of(200, anonymous=200)),
    Row("GET", "/openapi.json", lambda w: "/openapi.json", all_of(200, anonymous=200)),
    Row("GET", "/docs", lambda w: "/docs", all_of(200, anonymous=200)),
    Row("GET", "/docs/assets/<path:filename>", lambda w: "/docs/assets/swagger-ui.css", all_of(200, anonymous=200)),
    # auth
    Row("POST", "/api/v1/auth/login", lambda w: "/api/v1/auth/login", all_of(Expect(200, tokens_issued), anonymous=200),
        body=login_body),
    Row("POST", "/api/v1/auth/refresh", lambda w: "/api/v1/auth/refresh",
        all_of(Expect(200, tokens_issued), anonymous=200), body=refresh_body),
    Row("POST", "/api/v1/auth/logout", lambda w: "/api/v1/auth/logout", all_of(204)),
    Row("POST", "/api/v1/auth/password", lambda w: "/api/v1/auth/password", all_of(204),
        body=lambda w, p: {"current_password": PASSWORD, "new_password": "Changed#2026x"}),
    # accounts
    Row("GET", "/api/v1/accounts/me", lambda w: "/api/v1/accounts/me", all_of(Expect(200, own_account))),
    Row("GET", "/api/v1/accounts", lambda w: "/api/v1/accounts", only(
        (("admin",), Expect(200, account_ids("admin", "supervisor_east", "supervisor_west", "inspector_east",
                                             "liaison_water", "leader_city"))),
        (("supervisor_east",), Expect(200, account_ids("inspector_east"))),
        (("supervisor_west",), Expect(200, account_ids())))),
    Row("POST", "/api/v1/accounts", lambda w: "/api/v1/accounts", only((("admin",), 201)), body=new_account),
    Row("GET", "/api/v1/accounts/<objectid:account_id>", lambda w: f"/api/v1/accounts/{w.accounts['inspector_east'].pk}",
        only((("admin", "supervisor_east", "inspector_east"), 200), default=404), label="pool inspector"),
    Row("PATCH", "/api/v1/accounts/<objectid:account_id>", lambda w: f"/api/v1/accounts/{w.accounts['inspector_east'].pk}",
        only((("admin",), 200)), body=lambda w, p: {"display_name": "改名"}),
    Row("POST", "/api/v1/accounts/<objectid:account_id>/unlock",
        lambda w: f"/api/v1/accounts/{w.accounts['inspector_east'].pk}/unlock", only((("admin",), 204))),
    Row("POST", "/api/v1/accounts/<objectid:account_id>/password",
        lambda w: f"/api/v1/accounts/{w.accounts['inspector_east'].pk}/password", only((("admin",), 204)),
        body=lambda w, p: {"new_password": "Reset#2026xy"}),
    # units: reads scoped by jurisdiction, writes for admins
    Row("GET", "/api/v1/units", lambda w: "/api/v1/units?limit=200", {
        "anonymous": 401,
        "admin": Expect(200, unit_ids(*UNIT_KEYS)),
        "leader_city": Expect(200, unit_ids(*UNIT_KEYS)),
        "supervisor_east": Expect(200, unit_ids(*EAST)),
        "supervisor_west": Expect(200, unit_ids(*WEST)),
        "inspector_east": Expect(200, unit_ids("office_city")),
        "liaison_water": Expect(200, unit_ids("water")),
    }),
    Row("GET", "/api/v1/units/<objectid:unit_id>", lambda w: f"/api/v1/units/{w.id('water')}", {
        "anonymous": 401, "admin": Expect(200, unit_is("water")), "leader_city": Expect(200, unit_is("water")),
        "supervisor_east": Expect(200, unit_is("water")), "liaison_water": Expect(200, unit_is("water")),
        "supervisor_west": 404, "inspector_east": 404}, label="east unit"),
    Row("GET", "/api/v1/units/<objectid:unit_id>", lambda w: f"/api/v1/units/{w.id('market_west')}", {
        "anonymous": 401, "admin": 200, "leader_city": 200, "supervisor_west": Expect(200, unit_is("market_west")),
        "supervisor_east": 404, "liaison_water": 404, "inspector_east": 404}, label="west unit"),
    Row("POST", "/api/v1/units", lambda w: "/api/v1/units", only((("admin",), 201)), body=new_org),
    Row("PATCH", "/api/v1/units/<objectid:unit_id>", lambda w: f"/api/v1/units/{w.id('water')}", only((("admin",), 200)),
        body=lambda w, p: {"name": "蓬江区水利局"}),
    Row("POST", "/api/v1/units/<objectid:unit_id>/move", lambda w: f"/api/v1/units/{w.id('site_water')}/move",
        only((("admin",), 200)), body=lambda w, p: {"parent_id": w.id("east")}),
    Row("DELETE", "/api/v1/units/<objectid:unit_id>", lambda w: f"/api/v1/units/{w.id('hall_east')}", only((("admin",), 204))),
    # forms: never for a liaison (the undercover checklist is confidential)
    Row("GET", "/api/v1/forms", lambda w: "/api/v1/forms", only(
        (("admin", "supervisor_east", "supervisor_west", "leader_city", "inspector_east"), Expect(200, form_list))),
        setup=lambda w: first_form_version(w)),
    Row("GET", "/api/v1/forms/categories", lambda w: "/api/v1/forms/categories", all_of(Expect(200, categories))),
    Row("GET", "/api/v1/forms/<form_id>/versions/<int:version>", first_form_version, only(
        (("admin", "supervisor_east", "supervisor_west", "leader_city", "inspector_east"), 200))),
    # audit: admins everything, supervisors their jurisdiction
    Row("GET", "/api/v1/audit-events", lambda w: "/api/v1/audit-events?limit=200", only(
        (("admin",), 200),
        (("supervisor_east",), Expect(200, audit_only_units(*EAST))),
        (("supervisor_west",), Expect(200, audit_only_units(*WEST)))), setup=audited_world),
    Row("GET", "/api/v1/audit-events/<objectid:event_id>", lambda w: f"/api/v1/audit-events/{east_event_id(w)}", only(
        (("admin", "supervisor_east"), 200), (("supervisor_west",), 404))),
    # tasks: scoped reads (an undercover task never reaches a liaison; a leader sees it once submitted), writes
    # by the planning office's supervisors (another office's: 404), acknowledgement and sync by inspectors
    Row("GET", "/api/v1/tasks", lambda w: "/api/v1/tasks", only(
        (("admin",), Expect(200, task_ids_are("open", "covert", "submitted", "reviewed", "west"))),
        (("supervisor_east", "inspector_east"), Expect(200, task_ids_are("open", "covert", "submitted", "reviewed"))),
        (("supervisor_west",), Expect(200, task_ids_are("west"))),
        (("leader_city",), Expect(200, task_ids_are("open", "submitted", "reviewed", "west"))),
        (("liaison_water",), Expect(200, task_ids_are("open", "reviewed")))), setup=matrix_tasks),
    Row("POST", "/api/v1/tasks", lambda w: "/api/v1/tasks",
        only((("supervisor_east",), 201), (("supervisor_west",), 404)), body=lambda w, p: plan_body(w),
        setup=matrix_tasks),
    Row("GET", "/api/v1/tasks/count", lambda w: "/api/v1/tasks/count", only(
        (("admin",), Expect(200, task_count_is(5))),
        (("supervisor_east", "inspector_east", "leader_city"), Expect(200, task_count_is(4))),
        (("supervisor_west",), Expect(200, task_count_is(1))),
        (("liaison_water",), Expect(200, task_count_is(2)))), setup=matrix_tasks),
    Row("GET", "/api/v1/tasks/<objectid:task_id>", task_path("covert"),
        only((("admin", "supervisor_east", "inspector_east"), Expect(200, staff_view)), default=404),
        label="undercover in progress"),
    Row("GET", "/api/v1/tasks/<objectid:task_id>", task_path("open"), only(
        (("admin", "supervisor_east", "inspector_east", "leader_city"), Expect(200, staff_view)),
        (("liaison_water",), Expect(200, department_view)), default=404), label="open"),
    Row("PATCH", "/api/v1/tasks/<objectid:task_id>", task_path("open"),
        only((("supervisor_east",), 200), (("supervisor_west",), 404)), body=lambda w, p: {"title": "改期"}),
    Row("POST", "/api/v1/tasks/<objectid:task_id>/cancel", task_path("open", "/cancel"),
        only((("supervisor_east",), 200), (("supervisor_west",), 404)), body=lambda w, p: {"reason": "改期"}),
    Row("POST", "/api/v1/tasks/<objectid:task_id>/acknowledge", task_path("open", "/acknowledge"),
        only((("inspector_east",), 200))),
    Row("POST", "/api/v1/tasks/<objectid:task_id>/close-submission", task_path("covert", "/close-submission"),
        only((("supervisor_east",), 200), (("supervisor_west",), 404))),
    Row("POST", "/api/v1/tasks/<objectid:task_id>/review", task_path("submitted", "/review"),
        only((("supervisor_east",), 200), (("supervisor_west",), 404))),
    Row("POST", "/api/v1/tasks/<objectid:task_id>/close", task_path("reviewed", "/close"),
        only((("supervisor_east",), 200), (("supervisor_west",), 404))),
    Row("GET", "/api/v1/sync/tasks", lambda w: "/api/v1/sync/tasks",
        only((("inspector_east",), Expect(200, synced_tasks(4)))), setup=matrix_tasks),
    # reports: an inspector submits and sends its files; reads scoped like tasks (a leader sees an undercover
    # task's report once the task is submitted); a liaison never sees a report
    Row("GET", "/api/v1/reports", lambda w: "/api/v1/reports", only(
        (("admin",), Expect(200, report_ids_are("open", "covert", "submitted", "west"))),
        (("supervisor_east", "inspector_east"), Expect(200, report_ids_are("open", "covert", "submitted"))),
        (("supervisor_west",), Expect(200, report_ids_are("west"))),
        (("leader_city",), Expect(200, report_ids_are("open", "submitted", "west")))), setup=matrix_reports),
    Row("POST", "/api/v1/reports", lambda w: "/api/v1/reports", only((("inspector_east",), 201)),
        body=late_report_body, setup=matrix_reports),
    Row("GET", "/api/v1/reports/<objectid:report_id>", report_path("covert"), only(
        (("admin", "supervisor_east", "inspector_east"), Expect(200, report_is("covert"))),
        (("leader_city", "supervisor_west"), 404)), label="undercover task in progress"),
    Row("GET", "/api/v1/reports/<objectid:report_id>", report_path("open"), only(
        (("admin", "supervisor_east", "inspector_east", "leader_city"), Expect(200, report_is("open"))),
        (("supervisor_west",), 404)), label="open"),
    Row("GET", "/api/v1/reports/<objectid:report_id>/evidence", report_path("open", "/evidence"), only(
        (("admin", "supervisor_east", "inspector_east"), Expect(200, evidence_of_open_report)),
        (("supervisor_west",), 404))),
    # The received file again: answered from what is stored, without reading a body (the matrix sends none).
    Row("PUT", "/api/v1/reports/<objectid:report_id>/evidence/<client_id>", report_path("open", "/evidence/p1"),
        only((("inspector_east",), Expect(200, evidence_replayed)))),
    # Withdraw, replace (the inspector's own) and close as incomplete (the office's supervisors): the open
    # report's file has arrived (409 for the inspector); the report is still incomplete, so it can be closed.
    Row("POST", "/api/v1/reports/<objectid:report_id>/evidence/<client_id>/withdraw",
        report_path("open", "/evidence/p1/withdraw"), only((("inspector_east",), 409)),
        body=lambda w, p: {"reason": "照片拍错了"}),
    Row("POST", "/api/v1/reports/<objectid:report_id>/evidence/<client_id>/replace",
        report_path("open", "/evidence/p1/replace"), only((("inspector_east",), 409)),
        body=lambda w, p: {"reason": "照片拍错了", "sha256": "a" * 64, "size": 10, "media_type": "image/jpeg"}),
    Row("POST", "/api/v1/reports/<objectid:report_id>/close", report_path("open", "/close"),
        only((("supervisor_east",), 200), (("supervisor_west",), 404)), body=lambda w, p: {"reason": "文件无法补传"}),
    # uploads (tus): an upload is its creator's alone (others: 404); a leader may not upload at all
    Row("POST", "/api/v1/uploads", lambda w: "/api/v1/uploads",
        only((("inspector_east",), 201), (("admin", "supervisor_east", "supervisor_west", "liaison_water"), 404)),
        headers=lambda w: tus_creation_headers(w), setup=matrix_reports),
    Row("GET", "/api/v1/uploads/<objectid:upload_id>", lambda w: f"/api/v1/uploads/{open_upload(w)}",
        only((("inspector_east",), 200), (("admin", "supervisor_east", "supervisor_west", "liaison_water"), 404))),
    Row("PATCH", "/api/v1/uploads/<objectid:upload_id>", lambda w: f"/api/v1/uploads/{open_upload(w)}",
        only((("inspector_east",), 204), (("admin", "supervisor_east", "supervisor_west", "liaison_water"), 404)),
        headers=lambda w: {**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
        body=lambda w, p: b"12345"),
    Row("DELETE", "/api/v1/uploads/<objectid:upload_id>", lambda w: f"/api/v1/uploads/{open_upload(w)}",
        only((("inspector_east",), 204), (("admin", "supervisor_east", "supervisor_west", "liaison_water"), 404)),
        headers=lambda w: TUS),
    # evidence: working copies for whoever reads the report (a liaison: 404 until notices); originals for the
    # office and admins only (others in scope 403); overrides by the office's supervisors
    Row("GET", "/api/v1/evidence/<objectid:evidence_id>/thumbnail", photo_path("/thumbnail"), only(
        (("admin", "supervisor_east", "inspector_east", "leader_city"), 200),
        (("supervisor_west", "liaison_water"), 404))),
    Row("GET", "/api/v1/evidence/<objectid:evidence_id>/preview", photo_path("/preview"), only(
        (("admin", "supervisor_east", "inspector_east", "leader_city"), 200),
        (("supervisor_west", "liaison_water"), 404))),
    Row("GET", "/api/v1/evidence/<objectid:evidence_id>/original", photo_path("/original"), only(
        (("admin", "supervisor_east"), 200), (("supervisor_west", "liaison_water"), 404))),
    Row("POST", "/api/v1/evidence/<objectid:evidence_id>/override", photo_path("/override"), only(
        (("supervisor_east",), Expect(200, overridden)), (("supervisor_west", "liaison_water"), 404)),
        body=override_body),
    Row("GET", "/api/v1/reports/<objectid:report_id>/summary", report_path("open", "/summary"), only(
        (("admin", "supervisor_east", "inspector_east", "leader_city"), Expect(200, summary_of_open_report)),
        (("supervisor_west",), 404)), setup=matrix_photo),
    Row("POST", "/api/v1/reports/<objectid:report_id>/revalidate", report_path("open", "/revalidate"), only(
        (("admin", "supervisor_east"), Expect(202, revalidation_queued)), (("supervisor_west",), 404)),
        setup=matrix_photo),
]


def row_id(row: Row) -> str:
    return f"{row.method} {row.rule}" + (f" [{row.label}]" if row.label else "")


def run_row(client, world: World, row: Row) -> list[str]:
    if row.setup:
        row.setup(world)
    path = row.path(world)
    failures = []
    for persona in ORDER:
        expected = row.expect[persona]
        expected = expected if isinstance(expected, Expect) else Expect(expected)
        headers = world.headers(persona) if persona != "anonymous" else {}
        if row.headers:
            headers = {**headers, **row.headers(world)}
        kwargs = {"headers": headers}
        if row.body:
            body = row.body(world, persona)
            kwargs["data" if isinstance(body, bytes) else "json"] = body
        resp = client.open(path, method=row.method, **kwargs)
        if resp.status_code != expected.status:
            failures.append(f"{persona}: {resp.status_code} != {expected.status} "
                            f"{resp.get_data(as_text=True)[:200]}")
            continue
        if resp.status_code >= 400:
            assert resp.mimetype == "application/problem+json", (persona, row_id(row))
        check = expected.check
        if check is own_account:
            assert resp.get_json()["username"] == persona
        elif check:
            try:
                check(world, resp.get_json())
            except AssertionError as exc:
                failures.append(f"{persona}: body check failed: {exc}")
    return failures


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_each_persona_gets_exactly_what_it_may(client, world, row):
    failures = run_row(client, world, row)
    assert not failures, "\n".join(failures)


def test_every_route_has_a_row(app):
    covered = {(r.method, r.rule) for r in ROWS}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) not in covered:
                missing.append(f"{method} {rule.rule}")
    assert not missing, "routes without a row in the role matrix: " + ", ".join(missing)
