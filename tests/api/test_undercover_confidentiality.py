"""Who sees which task, asserted on bodies; and the liaison's world compared with and without an
undercover task on its unit (docs/tasks.md, "Who sees which task"): every response it can get must be the same."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from domain import storage
from domain.tasks.models import Task, TaskStatus
from tests.factories.accounts import AccountFactory
from tests.factories.tasks import TaskFactory, task_in
from domain import clock

URL = "/api/v1/tasks"
DEPARTMENT_KEYS = {"id", "title", "mode", "status", "office", "target_unit", "site", "starts_at", "ends_at",
                   "created_at"}


@pytest.fixture
def tasks(world):
    """O: an open planned task and U1/U2: undercover ones (in progress, submitted) of 蓬江区督查室 on 水务局;
    W: an open task of 新会区督查室 on its market bureau."""
    west_inspector = AccountFactory(username="inspector_west", display_name="王五", home_unit=world.unit("east").pk,
                                    pool_offices=[world.unit("office_west").pk])
    west = TaskFactory(office_unit=world.unit("office_west"), target=world.unit("market_west"),
                       site_unit=world.unit("site_west"), inspector_accounts=[west_inspector])
    return {"O": task_in(world), "U1": task_in(world, undercover=True, in_progress=True),
            "U2": task_in(world, undercover=True, submitted=True), "W": west}


VISIBLE = {
    "admin": {"O", "U1", "U2", "W"},
    "supervisor_east": {"O", "U1", "U2"},
    "supervisor_west": {"W"},
    "leader_city": {"O", "U2", "W"},  # an undercover task only once submitted
    "inspector_east": {"O", "U1", "U2"},  # its assignments
    "liaison_water": {"O"},  # open tasks on its unit only
}


@pytest.mark.parametrize("persona", sorted(VISIBLE))
def test_each_role_lists_counts_and_reads_exactly_its_tasks(client, world, tasks, persona):
    h = world.headers(persona)
    names = {str(t.pk): key for key, t in tasks.items()}
    listed = client.get(URL, headers=h).get_json()["items"]
    assert {names[t["id"]] for t in listed} == VISIBLE[persona]
    assert client.get(f"{URL}/count", headers=h).get_json() == {"count": len(VISIBLE[persona])}
    for key, task in tasks.items():
        resp = client.get(f"{URL}/{task.pk}", headers=h)
        if key in VISIBLE[persona]:
            assert resp.status_code == 200 and resp.get_json()["id"] == str(task.pk)
        else:
            assert resp.status_code == 404 and resp.get_json()["code"] == "task.not-found", (persona, key)


@pytest.mark.parametrize("persona", ["admin", "supervisor_east", "leader_city", "inspector_east"])
def test_staff_views_name_the_inspectors(client, world, tasks, persona):
    body = client.get(f"{URL}/{tasks['O'].pk}", headers=world.headers(persona)).get_json()
    assert [i["inspector_id"] for i in body["inspectors"]] == [str(world.accounts["inspector_east"].pk)]
    assert body["history"] and body["instructions"]


def test_the_liaison_gets_the_department_view_with_the_office_and_no_inspector_field(client, world, tasks):
    h = world.headers("liaison_water")
    body = client.get(f"{URL}/{tasks['O'].pk}", headers=h).get_json()
    assert set(body) == DEPARTMENT_KEYS
    assert body["office"] == {"id": world.id("office_east"), "name": "蓬江区督查室"}
    assert body["site"]["id"] == world.id("site_water")
    for item in client.get(URL, headers=h).get_json()["items"]:
        assert set(item) == DEPARTMENT_KEYS
    refused = client.get(f"{URL}?inspector_id={world.accounts['inspector_east'].pk}", headers=h)
    assert refused.status_code == 422 and refused.get_json()["code"] == "task.filter-not-allowed"


def test_no_liaison_response_carries_an_inspector_id_or_name(client, world, tasks):
    inspector = world.accounts["inspector_east"]
    secrets = {str(inspector.pk), inspector.username, inspector.display_name}
    texts = [r.get_data(as_text=True) + json.dumps(dict(r.headers)) for r in liaison_responses(client, world, tasks)]
    assert texts and not [s for s in secrets for t in texts if s in t]


def test_an_undercover_task_on_a_site_below_the_liaisons_unit_stays_hidden(client, world):
    covert = TaskFactory(office_unit=world.unit("office_east"), target=world.unit("east"),
                         site_unit=world.unit("site_water"), undercover=True,
                         inspector_accounts=[world.accounts["inspector_east"]])
    announced = TaskFactory(office_unit=world.unit("office_east"), target=world.unit("east"),
                            site_unit=world.unit("site_water"), inspector_accounts=[world.accounts["inspector_east"]])
    h = world.headers("liaison_water")
    assert [t["id"] for t in client.get(URL, headers=h).get_json()["items"]] == [str(announced.pk)]
    assert client.get(f"{URL}/{covert.pk}", headers=h).status_code == 404


def liaison_responses(client, world, tasks: dict) -> list:
    """Every task request a liaison can make, with ids it knows or guesses."""
    h = world.headers("liaison_water")
    now = clock.now()
    gets = [URL, f"{URL}?limit=1", f"{URL}/count", f"{URL}?mode=undercover", f"{URL}?mode=open",
            f"{URL}/count?mode=undercover", f"{URL}?target_unit_id={world.id('water')}",
            f"{URL}?site_id={world.id('site_water')}", f"{URL}/count?site_id={world.id('site_water')}",
            f"{URL}?inspector_id={world.accounts['inspector_east'].pk}", f"{URL}/{'0' * 24}", f"{URL}/nonsense",
            "/api/v1/sync/tasks", f"/api/v1/units/{world.id('water')}", "/api/v1/units"]
    gets += [f"{URL}?status={s}" for s in TaskStatus] + [f"{URL}/count?status={s}" for s in TaskStatus]
    gets += [f"{URL}?from={(now - timedelta(days=1)).isoformat()}&to={(now + timedelta(days=9)).isoformat()}"]
    out = [client.get(u.replace("+", "%2B"), headers=h) for u in gets]
    cursor = out[1].get_json().get("next_cursor")
    while cursor:
        out.append(client.get(f"{URL}?limit=1&cursor={cursor}", headers=h))
        cursor = out[-1].get_json().get("next_cursor")
    for task in tasks.values():
        tid = task.pk
        out.append(client.get(f"{URL}/{tid}", headers=h))
        out.append(client.get(f"{URL}/{tid}", headers={**h, "If-None-Match": '"x"'}))
        out.append(client.patch(f"{URL}/{tid}", json={"title": "x"}, headers=h))
        for action in ("cancel", "acknowledge", "close-submission", "review", "close"):
            out.append(client.post(f"{URL}/{tid}/{action}", json={"reason": "x"}, headers=h))
    return out


def normalised(responses) -> list:
    """Status, the headers a client may compare, and the body without the request id."""
    out = []
    for r in responses:
        body = r.get_json(silent=True)
        if isinstance(body, dict):
            body.pop("instance", None)
        out.append((r.status_code, r.headers.get("ETag"), r.headers.get("Content-Type"), body))
    return out


@pytest.mark.parametrize("status", list(TaskStatus), ids=str)
def test_the_liaison_cannot_tell_whether_an_undercover_task_exists_on_its_unit(client, world, status):
    """Build the world with an undercover task (of any status) between two open ones, record every
    response the liaison can get, remove the undercover task, and record again: nothing may differ."""
    other = AccountFactory(username="inspector_two", display_name="李四", home_unit=world.unit("hall_east").pk,
                           pool_offices=[world.unit("office_east").pk])
    tasks = {"O1": task_in(world)}
    tasks["U"] = task_in(world, undercover=True, status=status, accounts=[world.accounts["inspector_east"], other])
    tasks["O2"] = task_in(world, in_progress=True)
    with_it = normalised(liaison_responses(client, world, tasks))
    assert with_it[0][0] == 200 and len(with_it[0][3]["items"]) == 2
    Task._get_collection().delete_one({"_id": tasks["U"].pk})
    without_it = normalised(liaison_responses(client, world, tasks))
    assert with_it == without_it
