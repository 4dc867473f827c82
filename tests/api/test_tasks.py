"""/api/v1/tasks over HTTP: planning, the lifecycle, If-Match, filters, pagination and scope per persona."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain import storage
from domain.forms import load_shipped_forms
from domain.tasks.models import TaskStatus
from tests.factories.accounts import AccountFactory
from tests.factories.tasks import plan_body, task_in
from domain import clock

URL = "/api/v1/tasks"


@pytest.fixture
def forms(settings):
    load_shipped_forms()


def post(client, world, persona="supervisor_east", lang=None, **overrides):
    return client.post(URL, json=plan_body(world, **overrides), headers=world.headers(persona, lang=lang))


def ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [t["id"] for t in resp.get_json()["items"]]


def test_a_supervisor_plans_a_task_and_reads_it_back_with_its_etag(client, world, forms):
    resp = post(client, world)
    assert resp.status_code == 201, resp.get_json()
    task = resp.get_json()
    assert task["status"] == "planned" and task["mode"] == "open"
    assert task["office"] == {"id": world.id("office_east"), "name": "蓬江区督查室"}
    assert task["target_unit"] == {"id": world.id("water"), "name": "蓬江区水务局"}
    assert task["site"]["id"] == world.id("site_water") and task["site"]["radius_m"] == 100
    assert task["site"]["location"] == {"lon": 113.078, "lat": 22.579, "crs": "wgs84"}
    assert task["form"]["href"] == "/api/v1/forms/open_check_service_hall/versions/2"
    assert len(task["form"]["content_hash"]) == 64
    assert [i["inspector_id"] for i in task["inspectors"]] == [str(world.accounts["inspector_east"].pk)]
    assert task["history"][0]["to_status"] == "planned" and task["starts_at"].endswith(("Z", "+00:00"))
    got = client.get(f"{URL}/{task['id']}", headers=world.headers("supervisor_east"))
    assert got.status_code == 200 and got.get_json()["id"] == task["id"] and got.headers["ETag"]


def test_planning_on_a_unit_outside_the_jurisdiction_is_a_404_for_the_unit(client, world, forms):
    resp = post(client, world, target_unit_id=world.id("market_west"))
    assert resp.status_code == 404 and resp.get_json()["code"] == "unit.not-found"


def test_a_conflict_of_interest_is_a_422_naming_the_inspector_in_both_languages(client, world, forms):
    local = AccountFactory(username="water_inspector", home_unit=world.unit("water").pk,
                           pool_offices=[world.unit("office_east").pk])
    zh = post(client, world, inspector_ids=[str(local.pk)])
    assert zh.status_code == 422 and zh.get_json()["code"] == "task.conflict-of-interest"
    assert "water_inspector" in zh.get_json()["detail"] and zh.get_json()["title"] == "督查员需回避"
    en = post(client, world, lang="en", inspector_ids=[str(local.pk)])
    assert en.get_json()["title"] == "Inspector has a conflict of interest"


@pytest.mark.parametrize("overrides,code", [
    ({"inspector_ids": ["0" * 24]}, "task.inspector-not-in-pool"),
    ({"inspector_ids": []}, "request.invalid"),
    ({"mode": "secret"}, "request.invalid"),
    ({"site_id": "not-an-id"}, "request.invalid"),
    ({"form_id": "undercover_mystery_visit"}, "task.form-mode-mismatch"),
])
def test_a_bad_plan_is_a_422_with_its_code(client, world, forms, overrides, code):
    resp = post(client, world, **overrides)
    assert resp.status_code == 422 and resp.get_json()["code"] == code


def test_a_window_that_ends_before_it_starts_is_refused(client, world, forms):
    now = clock.now()
    resp = post(client, world, starts_at=(now + timedelta(days=2)).isoformat(),
                ends_at=(now + timedelta(days=1)).isoformat())
    assert resp.status_code == 422 and resp.get_json()["code"] == "task.window-invalid"


@pytest.mark.parametrize("persona", ["admin", "leader_city", "inspector_east", "liaison_water"])
def test_only_supervisors_plan_or_change_tasks(client, world, forms, persona):
    task = task_in(world)
    h = world.headers(persona)
    assert post(client, world, persona=persona).status_code == 403
    assert client.patch(f"{URL}/{task.pk}", json={"title": "x"}, headers=h).status_code == 403
    assert client.post(f"{URL}/{task.pk}/cancel", json={"reason": "x"}, headers=h).status_code == 403
    for action in ("close-submission", "review", "close"):  # actions that take no body
        assert client.post(f"{URL}/{task.pk}/{action}", headers=h).status_code == 403


def test_the_lifecycle_over_http_and_a_refused_move_names_both_statuses(client, world, forms):
    tid = post(client, world).get_json()["id"]
    sup, insp = world.headers("supervisor_east"), world.headers("inspector_east")
    assert client.post(f"{URL}/{tid}/close-submission", headers=sup).get_json()["code"] == "task.illegal-transition"
    ack = client.post(f"{URL}/{tid}/acknowledge", headers=insp)
    assert ack.status_code == 200 and ack.get_json()["status"] == "in_progress"
    assert ack.get_json()["inspectors"][0]["acknowledged_at"]
    for action, status in (("close-submission", "submitted"), ("review", "reviewed"), ("close", "closed")):
        resp = client.post(f"{URL}/{tid}/{action}", headers=sup)
        assert resp.status_code == 200 and resp.get_json()["status"] == status
    refused = client.post(f"{URL}/{tid}/cancel", json={"reason": "晚了"}, headers=sup)
    assert refused.status_code == 409 and refused.get_json()["code"] == "task.illegal-transition"
    assert "closed" in refused.get_json()["detail"] and "cancelled" in refused.get_json()["detail"]
    en = client.post(f"{URL}/{tid}/acknowledge", headers=world.headers("inspector_east", lang="en"))
    assert en.status_code == 409 and en.get_json()["title"] == "Not allowed in the task's current status"


def test_a_cancellation_needs_a_reason(client, world, forms):
    tid = post(client, world).get_json()["id"]
    sup = world.headers("supervisor_east")
    assert client.post(f"{URL}/{tid}/cancel", json={}, headers=sup).get_json()["code"] == "request.invalid"
    blank = client.post(f"{URL}/{tid}/cancel", json={"reason": "  "}, headers=sup)
    assert blank.status_code == 422 and blank.get_json()["code"] == "task.reason-required"
    done = client.post(f"{URL}/{tid}/cancel", json={"reason": "台风预警"}, headers=sup).get_json()
    assert done["status"] == "cancelled" and done["cancel_reason"] == "台风预警"


def test_patch_honours_if_match_and_only_while_planned(client, world, forms):
    tid = post(client, world).get_json()["id"]
    sup = world.headers("supervisor_east")
    etag = client.get(f"{URL}/{tid}", headers=sup).headers["ETag"]
    ok = client.patch(f"{URL}/{tid}", json={"title": "改过的标题"}, headers={**sup, "If-Match": etag})
    assert ok.status_code == 200 and ok.get_json()["title"] == "改过的标题" and ok.headers["ETag"] != etag
    stale = client.patch(f"{URL}/{tid}", json={"title": "旧版本"}, headers={**sup, "If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["code"] == "resource.precondition-failed"
    assert client.patch(f"{URL}/{tid}", json={"instructions": "无条件"}, headers=sup).status_code == 200
    client.post(f"{URL}/{tid}/acknowledge", headers=world.headers("inspector_east"))
    late = client.patch(f"{URL}/{tid}", json={"title": "开始后"}, headers=sup)
    assert late.status_code == 409 and late.get_json()["code"] == "task.not-editable"
    assert client.get(f"{URL}/{tid}", headers=sup).get_json()["title"] == "改过的标题"


def test_lists_filter_count_and_page_in_a_stable_order(client, world, forms):
    now = clock.now()
    early = task_in(world, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    late = task_in(world, starts_at=now + timedelta(days=5), ends_at=now + timedelta(days=6), in_progress=True)
    covert = task_in(world, undercover=True, starts_at=now + timedelta(days=5), ends_at=now + timedelta(days=7))
    other = AccountFactory(username="inspector_two", home_unit=world.unit("hall_east").pk,
                           pool_offices=[world.unit("office_east").pk])
    theirs = task_in(world, accounts=[other])
    sup = world.headers("supervisor_east")
    every = [str(t.pk) for t in (early, late, covert, theirs)]
    assert ids(client.get(URL, headers=sup)) == every
    assert ids(client.get(f"{URL}?status=in_progress", headers=sup)) == [str(late.pk)]
    assert ids(client.get(f"{URL}?mode=undercover", headers=sup)) == [str(covert.pk)]
    assert ids(client.get(f"{URL}?inspector_id={other.pk}", headers=sup)) == [str(theirs.pk)]
    assert ids(client.get(f"{URL}?site_id={world.id('site_water')}&target_unit_id={world.id('water')}",
                          headers=sup)) == every
    window = {"from": (now + timedelta(days=4)).isoformat(), "to": (now + timedelta(days=5, hours=12)).isoformat()}
    assert ids(client.get(URL, query_string=window, headers=sup)) == [str(late.pk), str(covert.pk)]
    counted = client.get(f"{URL}/count", query_string=window, headers=sup).get_json()
    assert counted == {"count": 2}
    walked, cursor = [], None
    while True:
        page = client.get(URL, query_string={"limit": 1, **({"cursor": cursor} if cursor else {})}, headers=sup)
        walked += ids(page)
        cursor = page.get_json()["next_cursor"]
        if not cursor:
            break
    assert walked == every
    bad = client.get(f"{URL}?cursor=nonsense", headers=sup)
    assert bad.status_code == 422 and bad.get_json()["code"] == "pagination.invalid-cursor"


def test_a_supervisor_outside_the_jurisdiction_sees_nothing(client, world, forms):
    task = task_in(world)
    west = world.headers("supervisor_west")
    assert ids(client.get(URL, headers=west)) == []
    assert client.get(f"{URL}/count", headers=west).get_json() == {"count": 0}
    resp = client.get(f"{URL}/{task.pk}", headers=west)
    assert resp.status_code == 404 and resp.get_json()["code"] == "task.not-found"
    assert client.post(f"{URL}/{task.pk}/cancel", json={"reason": "x"}, headers=west).status_code == 404


def test_a_leader_sees_an_undercover_task_only_once_it_is_submitted(client, world, forms):
    open_task = task_in(world)
    covert = task_in(world, undercover=True, in_progress=True)
    leader = world.headers("leader_city")
    assert ids(client.get(URL, headers=leader)) == [str(open_task.pk)]
    assert client.get(f"{URL}/{covert.pk}", headers=leader).status_code == 404
    client.post(f"{URL}/{covert.pk}/close-submission", headers=world.headers("supervisor_east"))
    assert ids(client.get(URL, headers=leader)) == [str(open_task.pk), str(covert.pk)]
    body = client.get(f"{URL}/{covert.pk}", headers=leader).get_json()
    assert body["status"] == TaskStatus.SUBMITTED and body["inspectors"]


def test_an_inspector_sees_only_its_own_assignments_with_its_co_inspectors(client, world, forms):
    partner = AccountFactory(username="inspector_two", display_name="李四", home_unit=world.unit("hall_east").pk,
                             pool_offices=[world.unit("office_east").pk])
    shared = task_in(world, accounts=[world.accounts["inspector_east"], partner])
    alone = task_in(world, accounts=[partner])
    me = world.headers("inspector_east")
    assert ids(client.get(URL, headers=me)) == [str(shared.pk)]
    names = [i["name"] for i in client.get(f"{URL}/{shared.pk}", headers=me).get_json()["inspectors"]]
    assert "李四" in names
    assert client.get(f"{URL}/{alone.pk}", headers=me).status_code == 404
