"""GET /api/v1/audit-events: admins see everything, supervisors their jurisdiction whatever the chain,
other roles nothing; newest first on a cursor that neither skips nor repeats."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from bson import ObjectId

from domain import jurisdiction, storage
from domain.access import SYSTEM, Actor, Role
from domain.audit import SYSTEM_CHAIN, AuditEvent
from tests.api.problems import problem

EVENTS = "/api/v1/audit-events"


def record(world, unit: str | None, *, chain: str | None = None, actor: Actor = SYSTEM, action="unit.updated",
           target_id="t", target_type="probe", **summaries) -> str:
    """Append one probe event about ``unit`` (on that unit's office chain unless ``chain``); its id."""
    unit_id = world.id(unit) if unit else None
    chain = chain or jurisdiction.chain_for_unit(unit_id)
    fields = storage.atomic(lambda tx: tx.audit(actor, action, target_type=target_type, target_id=target_id,
                                                 chain=chain, target_unit=unit_id, **summaries))
    return str(AuditEvent._get_collection().find_one({"chain": chain, "seq": fields["seq"]})["_id"])


def listed(client, headers, **query) -> list[str]:
    resp = client.get(EVENTS, query_string={"target_type": "probe", **query}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [e["id"] for e in resp.get_json()["items"]]


def test_an_admin_sees_every_event_newest_first_in_full(client, world):
    headers = world.headers("admin")
    alice = Actor(id=str(world.accounts["supervisor_east"].pk), role=Role.SUPERVISOR, username="supervisor_east")
    east = record(world, "water", actor=alice, target_id="w1", before={"name": "旧名"}, after={"name": "新名"})
    west = record(world, "site_west")
    nowhere = record(world, None)
    assert listed(client, headers) == [nowhere, west, east]
    body = client.get(f"{EVENTS}/{east}", headers=headers).get_json()
    stored = AuditEvent.objects.get(pk=east)
    assert datetime.fromisoformat(body.pop("at")).utcoffset() == timedelta(0)
    assert body == {
        "id": east, "chain": world.id("office_east"), "seq": stored.seq, "action": "unit.updated",
        "actor": {"id": alice.id, "role": "supervisor", "name": "supervisor_east"},
        "target": {"type": "probe", "id": "w1", "unit": world.id("water")},
        "request_id": None, "before": {"name": "旧名"}, "after": {"name": "新名"},
        "hash": stored.hash, "prev_hash": stored.prev_hash,
    }


def test_a_supervisor_sees_events_in_its_jurisdiction_whatever_the_chain(client, world):
    east = record(world, "water")
    east_on_system_chain = record(world, "hall_east", chain=SYSTEM_CHAIN)
    west = record(world, "site_west")
    record(world, None)
    assert listed(client, world.headers("supervisor_east")) == [east_on_system_chain, east]
    assert listed(client, world.headers("supervisor_west")) == [west]


def city_supervisor(world) -> dict:
    """A supervisor of 江门市督查室, whose jurisdiction covers 蓬江区 but who plans none of its tasks."""
    from domain.accounts.models import Account
    from tests.personas import PASSWORD, _HASH

    acc = Account(username="supervisor_city", display_name="supervisor_city", role=Role.SUPERVISOR,
                  home_unit=world.unit("office_city").pk, office=world.unit("office_city").pk, password_hash=_HASH)
    storage.atomic(lambda tx: tx.insert(acc))
    world.accounts["supervisor_city"] = acc
    assert PASSWORD
    return world.headers("supervisor_city")


@pytest.mark.parametrize("target_type", ["task", "report", "evidence", "upload"])
def test_an_office_owned_target_s_events_reach_only_its_office_even_inside_a_wider_jurisdiction(
        client, world, target_type):
    owned = record(world, "water", target_type=target_type, action=f"{target_type}.read")
    unit_event = record(world, "water")
    city = city_supervisor(world)
    for headers, expected in ((city, [unit_event]), (world.headers("supervisor_east"), [unit_event, owned]),
                              (world.headers("admin"), [unit_event, owned])):
        items = client.get(EVENTS, headers=headers).get_json()["items"]
        assert [e["id"] for e in items if e["target"]["type"] != "account"] == expected
    problem(client.get(f"{EVENTS}/{owned}", headers=city), 404, "audit.event-not-found")
    assert client.get(f"{EVENTS}/{owned}", headers=world.headers("supervisor_east")).status_code == 200


def test_only_an_admin_sees_the_chain_position_and_hashes(client, world):
    event = record(world, "water")
    full = client.get(f"{EVENTS}/{event}", headers=world.headers("admin")).get_json()
    assert {"seq", "hash", "prev_hash"} <= set(full)
    for body in (client.get(f"{EVENTS}/{event}", headers=world.headers("supervisor_east")).get_json(),
                 client.get(EVENTS, query_string={"target_type": "probe"},
                                headers=world.headers("supervisor_east")).get_json()["items"][0]):
        assert body["id"] == event and not {"seq", "hash", "prev_hash"} & set(body)


def test_an_event_outside_the_jurisdiction_is_not_found(client, world):
    east = record(world, "water")
    problem(client.get(f"{EVENTS}/{east}", headers=world.headers("supervisor_west")), 404, "audit.event-not-found")
    assert client.get(f"{EVENTS}/{east}", headers=world.headers("supervisor_east")).status_code == 200
    assert client.get(f"{EVENTS}/{east}", headers=world.headers("admin")).status_code == 200
    problem(client.get(f"{EVENTS}/{ObjectId()}", headers=world.headers("admin")), 404, "audit.event-not-found")
    problem(client.get(f"{EVENTS}/not-an-id", headers=world.headers("admin")), 404, "http.not-found")


@pytest.mark.parametrize("persona", ["leader_city", "inspector_east", "liaison_water"])
def test_roles_without_the_audit_permission_are_refused(client, world, persona):
    event = record(world, "water")
    problem(client.get(EVENTS, headers=world.headers(persona)), 403, "access.forbidden")
    problem(client.get(f"{EVENTS}/{event}", headers=world.headers(persona)), 403, "access.forbidden")


def test_anonymous_callers_must_sign_in(client, world):
    problem(client.get(EVENTS), 401, "auth.unauthenticated")


def test_only_an_admin_filters_by_chain(client, world):
    east = record(world, "water")
    record(world, "hall_east", chain=SYSTEM_CHAIN)
    assert listed(client, world.headers("admin"), chain=world.id("office_east")) == [east]
    zh = problem(client.get(EVENTS, query_string={"chain": SYSTEM_CHAIN}, headers=world.headers("supervisor_east")),
                 403, "audit.chain-filter-forbidden")
    assert "管理员" in zh["detail"]
    en = problem(client.get(EVENTS, query_string={"chain": SYSTEM_CHAIN},
                            headers=world.headers("supervisor_east", lang="en")), 403, "audit.chain-filter-forbidden")
    assert en["title"] == "Filtering by chain not allowed"


def test_filters_narrow_the_list(client, world):
    headers = world.headers("admin")
    alice = Actor(id=str(ObjectId()), role=Role.SUPERVISOR, username="alice")
    ids = []
    for i in range(3):
        ids.append(record(world, "water", action="unit.moved" if i == 1 else "unit.updated", target_id=f"t{i}",
                          actor=alice if i == 2 else SYSTEM))
        time.sleep(0.003)  # distinct milliseconds, so since/until have a clear edge
    at = [AuditEvent.objects.get(pk=i).at.isoformat() for i in ids]
    assert listed(client, headers, action="unit.moved") == [ids[1]]
    assert listed(client, headers, target_id="t0") == [ids[0]]
    assert listed(client, headers, actor_id=alice.id) == [ids[2]]
    assert listed(client, headers, since=at[1]) == [ids[2], ids[1]]
    assert listed(client, headers, until=at[1]) == [ids[0]]
    assert listed(client, headers, since=at[0], until=at[2]) == [ids[1], ids[0]]
    assert listed(client, headers, since=at[1].replace("+00:00", "")) == [ids[2], ids[1]]  # no offset: UTC


def test_pages_newest_first_neither_skip_nor_repeat_while_events_arrive(client, world):
    headers = world.headers("admin")
    older = [record(world, "water", target_id=f"o{i}") for i in range(7)]
    first = client.get(EVENTS, query_string={"target_type": "probe", "limit": 3}, headers=headers).get_json()
    newer = [record(world, "water", target_id=f"n{i}") for i in range(2)]
    seen, cursor = [e["id"] for e in first["items"]], first["next_cursor"]
    while cursor:
        body = client.get(EVENTS, query_string={"target_type": "probe", "limit": 3, "cursor": cursor},
                          headers=headers).get_json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
    assert seen == older[::-1]
    assert listed(client, headers, limit=2) == newer[::-1]


def test_a_bad_cursor_or_an_oversized_limit_is_refused(client, world):
    headers = world.headers("admin")
    problem(client.get(EVENTS, query_string={"cursor": "nonsense"}, headers=headers), 422, "pagination.invalid-cursor")
    problem(client.get(EVENTS, query_string={"limit": 201}, headers=headers), 422, "request.invalid")
    problem(client.get(EVENTS, query_string={"since": "yesterday"}, headers=headers), 422, "request.invalid")


def test_audit_events_cannot_be_written_over_http(client, world):
    event = record(world, "water")
    headers = world.headers("admin")
    assert client.post(EVENTS, json={}, headers=headers).status_code == 405
    for method in (client.put, client.patch, client.delete):
        assert method(f"{EVENTS}/{event}", json={}, headers=headers).status_code == 405
    assert AuditEvent.objects(pk=event).count() == 1


def test_an_event_keeps_the_id_of_the_request_that_wrote_it(client, world):
    from tests.personas import PASSWORD

    resp = client.post("/api/v1/auth/login", json={"username": "liaison_water", "password": PASSWORD},
                       headers={"X-Request-ID": "req-audit-0001"})
    assert resp.status_code == 200
    query = {"action": "auth.login", "target_id": str(world.accounts["liaison_water"].pk)}
    body = client.get(EVENTS, query_string=query, headers=world.headers("admin")).get_json()
    assert [e["request_id"] for e in body["items"]] == ["req-audit-0001"]
    assert body["items"][0]["target"]["unit"] == world.id("water")


def test_paging_keeps_the_time_window(client, world):
    headers = world.headers("admin")
    ids = []
    for i in range(5):
        ids.append(record(world, "water", target_id=f"t{i}"))
        time.sleep(0.003)
    at = [AuditEvent.objects.get(pk=i).at.isoformat() for i in ids]
    query = {"target_type": "probe", "since": at[1], "until": at[4], "limit": 1}
    seen, cursor = [], None
    while True:
        body = client.get(EVENTS, query_string={**query, **({"cursor": cursor} if cursor else {})},
                          headers=headers).get_json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[3], ids[2], ids[1]]
