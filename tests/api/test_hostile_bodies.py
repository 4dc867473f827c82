"""Hostile request bodies, headers and paths are 4xx problems, never 500s: deep JSON, lone surrogates,
huge integers, dates whose UTC conversion overflows, lists past their caps, a body cut off mid-way."""
from __future__ import annotations

import json
import tracemalloc
from datetime import timedelta

import pytest

from api.body_rules import MAX_DEPTH, MAX_ITEMS, MAX_VALUES
from domain import clock
from domain.forms import load_shipped_forms
from tests.factories.reports import photos_for, report_body
from tests.factories.tasks import plan_body, task_in
from tests.api.problems import problem

TASKS = "/api/v1/tasks"
REPORTS = "/api/v1/reports"
OVERFLOWING = ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00")


@pytest.fixture(autouse=True)
def forms(settings):
    load_shipped_forms()


def raw(client, url, text: str, headers=None, method="post"):
    return getattr(client, method)(url, data=text.encode("utf-8"), content_type="application/json",
                                   headers=headers or {})


# ---- depth, entries, values: counted on the raw bytes ----------------------------------------------

def test_json_nested_a_thousand_deep_is_a_422_on_login_without_signing_in(client):
    body = '{"username": "admin", "password": ' + "[" * 1000 + "]" * 1000 + "}"
    problem(raw(client, "/api/v1/auth/login", body), 422, "request.too-deep")


def test_json_nested_a_thousand_deep_is_a_422_on_planning(client, world):
    body = '{"title": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"
    problem(raw(client, TASKS, body, world.headers("supervisor_east", lang="en")), 422, "request.too-deep")


def test_nesting_up_to_the_depth_cap_is_loaded_and_then_judged_by_the_schema(client, world):
    body = '{"title": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    body = problem(raw(client, TASKS, body, world.headers("supervisor_east")), 422, "request.invalid")
    assert "title" in body["errors"]["json"]


def test_an_array_past_the_raw_cap_is_refused_before_it_is_loaded(client, world):
    ok = json.dumps({"inspector_ids": ["x"] * (MAX_ITEMS - 1)})
    assert problem(raw(client, TASKS, ok, world.headers("supervisor_east")), 422)["code"] == "request.invalid"
    over = json.dumps({"inspector_ids": ["x"] * (MAX_ITEMS + 1)})
    problem(raw(client, TASKS, over, world.headers("supervisor_east")), 422, "request.too-many-items")


def test_an_object_with_too_many_members_is_refused_like_an_array(client, world):
    over = json.dumps({f"k{i}": 0 for i in range(MAX_ITEMS + 1)})
    problem(raw(client, TASKS, over, world.headers("supervisor_east")), 422, "request.too-many-items")


def test_a_body_of_many_small_lists_is_refused_by_its_total_count_of_values(client, world):
    chunk = [[0] * 9 for _ in range(MAX_ITEMS - 1)]
    over = json.dumps({f"k{i}": chunk for i in range(MAX_VALUES // len(chunk) // 10 + 2)})
    problem(raw(client, TASKS, over, world.headers("supervisor_east")), 422, "request.too-many-values")


def test_commas_and_brackets_inside_strings_are_not_counted(client, world):
    title = "[,{" * 2000
    resp = raw(client, TASKS, json.dumps(plan_body(world, title=title[:200])), world.headers("supervisor_east"))
    assert resp.status_code == 201, resp.get_json()


def _peak(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_worst_report_the_caps_allow_and_one_just_over_are_answered_in_bounded_memory(client, world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    fix = body["fixes"][0]
    finding = {"item": "q1", "category": "c" * 64, "description": "描述" * 1000, "severity": "high",
               "location": {"lat": 22.5, "lon": 113.0, "crs": "wgs84", "accuracy_m": 5.0}}
    worst = {**body, "fixes": [fix] * 500, "findings": [{**finding, "id": f"f{i}"} for i in range(200)]}
    over = {**worst, "fixes": [fix] * (MAX_ITEMS + 1)}
    headers = world.headers("inspector_east", lang="en")
    for payload in (worst, over):  # warm up: imports and caches are not the body's cost
        raw(client, REPORTS, json.dumps({**payload, "submission_id": "warmup-0001"}), headers)
    worst_text, over_text = json.dumps(worst, ensure_ascii=False), json.dumps(over, ensure_ascii=False)
    assert len(worst_text) < 2 * 1024 * 1024  # still under the JSON size cap: the caps decide, not the size

    resp, worst_peak = _peak(lambda: raw(client, REPORTS, worst_text, headers))
    assert resp.status_code in (201, 422), resp.get_data(as_text=True)[:500]
    assert resp.status_code == 201 or resp.get_json()["code"] != "request.too-many-items"
    resp, over_peak = _peak(lambda: raw(client, REPORTS, over_text, headers))
    problem(resp, 422, "request.too-many-items")
    # Refused on the raw bytes: about the body's own size, never the parsed tree (tens of MB).
    assert over_peak < 4 * len(over_text) + 2 * 1024 * 1024, over_peak
    assert worst_peak < 60 * 1024 * 1024, worst_peak


# ---- lone surrogates -------------------------------------------------------------------------------

def test_a_lone_surrogate_is_a_422_on_login(client):
    body = '{"username": "\\ud800", "password": "x"}'
    problem(raw(client, "/api/v1/auth/login", body), 422, "request.invalid-text")


def test_a_lone_surrogate_in_a_title_or_a_key_is_a_422(client, world):
    headers = world.headers("supervisor_east", lang="en")
    titled = json.dumps(plan_body(world)).replace('"title": "', '"title": "\\udfff', 1)
    problem(raw(client, TASKS, titled, headers), 422, "request.invalid-text")
    keyed = json.dumps(plan_body(world))[:-1] + ', "\\ud83d": 1}'
    problem(raw(client, TASKS, keyed, headers), 422, "request.invalid-text")


def test_a_surrogate_pair_and_an_escaped_backslash_are_ordinary_text(client, world):
    headers = world.headers("supervisor_east")
    resp = raw(client, TASKS, json.dumps(plan_body(world, title="水务局 \U0001F6B0 明查 \\ud800")), headers)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["title"] == "水务局 \U0001F6B0 明查 \\ud800"


# ---- integers past storage -------------------------------------------------------------------------

def test_a_form_version_past_2_to_the_63_in_a_path_is_a_404(client, world):
    resp = client.get(f"/api/v1/forms/open_check_service_hall/versions/{2**70}", headers=world.headers("admin"))
    problem(resp, 404)


def test_a_form_version_past_2_to_the_63_on_planning_is_a_422(client, world):
    for version in (2**63, 2**70, 10**30):
        body = problem(raw(client, TASKS, json.dumps(plan_body(world, form_version=version)),
                           world.headers("supervisor_east")), 422, "request.invalid")
        assert "form_version" in body["errors"]["json"]


def test_an_upload_offset_or_length_of_2_to_the_70_is_a_422(client, world):
    headers = {**world.headers("inspector_east"), "Tus-Resumable": "1.0.0",
               "Content-Type": "application/offset+octet-stream"}
    resp = client.patch("/api/v1/uploads/" + "a" * 24, data=b"x", headers={**headers, "Upload-Offset": str(2**70)})
    problem(resp, 422, "request.invalid")
    resp = client.post("/api/v1/uploads", headers={**headers, "Upload-Length": str(2**70)})
    assert resp.status_code in (413, 422) and resp.mimetype == "application/problem+json"


# ---- dates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("when", OVERFLOWING)
def test_a_task_window_whose_utc_conversion_overflows_is_a_422(client, world, when):
    for field in ("starts_at", "ends_at"):
        body = problem(raw(client, TASKS, json.dumps(plan_body(world, **{field: when})),
                           world.headers("supervisor_east")), 422, "request.invalid")
        assert field in body["errors"]["json"]


@pytest.mark.parametrize("when", ["1999-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "2100-12-31T23:00:00-01:00"])
def test_a_task_window_outside_2000_to_2100_is_a_422(client, world, when):
    body = problem(raw(client, TASKS, json.dumps(plan_body(world, ends_at=when)), world.headers("supervisor_east")),
                   422, "request.invalid")
    assert "2000" in body["errors"]["json"]["ends_at"][0]


@pytest.mark.parametrize("when", OVERFLOWING)
def test_list_filters_whose_utc_conversion_overflows_are_a_422(client, world, when):
    problem(client.get(TASKS, query_string={"from": when}, headers=world.headers("supervisor_east")), 422)
    problem(client.get("/api/v1/audit-events", query_string={"since": when}, headers=world.headers("admin")), 422)


def test_list_filters_at_the_edges_of_the_range_are_accepted(client, world):
    resp = client.get(TASKS, query_string={"from": "2000-01-01T00:00:00Z", "to": "2100-12-31T23:59:59Z"},
                      headers=world.headers("supervisor_east"))
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize("when", [*OVERFLOWING, "1999-12-31T23:59:59Z"])
def test_a_visit_time_outside_the_range_is_a_422(client, world, when):
    task = task_in(world)
    body = problem(raw(client, REPORTS, json.dumps(report_body(task, photos_for(task), visited_at=when)),
                       world.headers("inspector_east")), 422, "request.invalid")
    assert "visited_at" in body["errors"]["json"]


@pytest.mark.parametrize("field", ["device_time", "fix"])
@pytest.mark.parametrize("when", OVERFLOWING)
def test_a_device_time_or_fix_whose_utc_conversion_overflows_is_a_422(client, world, field, when):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    if field == "fix":
        body["fixes"][0]["at"] = when
    else:
        body["device_time"] = when
    problem(raw(client, REPORTS, json.dumps(body), world.headers("inspector_east")), 422, "request.invalid")


def test_a_phone_clock_reset_to_1970_does_not_strand_its_report(client, world):
    task = task_in(world)
    body = report_body(task, photos_for(task), device_time="1970-01-01T00:00:05+08:00")
    body["fixes"][0]["at"] = "1970-01-01T00:00:00Z"
    resp = raw(client, REPORTS, json.dumps(body), world.headers("inspector_east"))
    assert resp.status_code == 201, resp.get_data(as_text=True)


# ---- a plain upload cut off by the client ----------------------------------------------------------

def test_a_plain_upload_cut_off_by_the_client_is_a_400_problem_and_no_server_error(client, world, caplog):
    task = task_in(world)
    photos = photos_for(task)
    created = raw(client, REPORTS, json.dumps(report_body(task, photos)), world.headers("inspector_east"))
    assert created.status_code == 201, created.get_json()
    client_id, (_declared, data) = next(iter(photos.items()))
    caplog.clear()
    resp = client.put(f"{REPORTS}/{created.get_json()['id']}/evidence/{client_id}", data=data[: len(data) // 2],
                      headers={**world.headers("inspector_east", lang="en"), "Content-Type": "image/jpeg"},
                      environ_overrides={"CONTENT_LENGTH": str(len(data))})
    problem(resp, 400, "request.body-interrupted")
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_every_new_hostile_input_code_has_text_in_both_languages():
    from api.messages import catalogue

    for code in ("request.body-interrupted", "request.too-deep", "request.too-many-items",
                 "request.too-many-values", "request.invalid-text", "text.forbidden-character"):
        for locale in ("zh_CN", "en"):
            assert catalogue(locale).get(f"{code}|title") and catalogue(locale).get(f"{code}|detail"), (code, locale)
