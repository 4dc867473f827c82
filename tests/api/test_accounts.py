"""Accounts over HTTP: one's own account, admin management, a supervisor's inspector pool."""
from __future__ import annotations

import pytest
from bson import ObjectId

from domain.audit import AuditEvent
from tests.factories.accounts import AccountFactory
from tests.personas import PASSWORD, PERSONAS
from tests.api.problems import problem

ACCOUNTS = "/api/v1/accounts"


def ids(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {item["id"] for item in resp.get_json()["items"]}


def new_account(world, **overrides):
    body = {"username": "new.inspector", "display_name": "新督查员", "role": "inspector",
            "home_unit": world.id("east"), "password": "Strong@2026", "pool_offices": [world.id("office_east")]}
    return {**body, **overrides}


@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_reads_their_own_account_with_unit_names_and_no_secrets(client, world, persona):
    resp = client.get(f"{ACCOUNTS}/me", headers=world.headers(persona))
    assert resp.status_code == 200
    body = resp.get_json()
    account = world.accounts[persona]
    assert body["id"] == str(account.pk) and body["username"] == persona
    assert body["home_unit"]["id"] == str(account.home_unit) and body["home_unit"]["name"]
    text = resp.get_data(as_text=True)
    assert "password_hash" not in text and "argon2" not in text and "failed_logins" not in text


def test_a_supervisor_reads_its_office_in_its_own_account(client, world):
    body = client.get(f"{ACCOUNTS}/me", headers=world.headers("supervisor_east")).get_json()
    assert body["office"] == {"id": world.id("office_east"), "name": "蓬江区督查室"}
    inspector = client.get(f"{ACCOUNTS}/me", headers=world.headers("inspector_east")).get_json()
    assert inspector["pool_offices"] == [{"id": world.id("office_east"), "name": "蓬江区督查室"}]


def test_an_admin_lists_every_account_page_by_page_and_filters(client, world):
    headers = world.headers("admin")
    every = {str(a.pk) for a in world.accounts.values()}
    assert ids(client.get(ACCOUNTS, headers=headers)) == every
    seen, cursor = [], None
    while True:
        query = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        body = client.get(ACCOUNTS, query_string=query, headers=headers).get_json()
        assert len(body["items"]) <= 4
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(seen) == every
    supervisors = {str(world.accounts[p].pk) for p in ("supervisor_east", "supervisor_west")}
    assert ids(client.get(ACCOUNTS, query_string={"role": "supervisor"}, headers=headers)) == supervisors
    at_city_office = {str(world.accounts[p].pk) for p in ("inspector_east", "leader_city")}
    assert ids(client.get(ACCOUNTS, query_string={"home_unit": world.id("office_city")}, headers=headers)) == at_city_office
    assert ids(client.get(ACCOUNTS, query_string={"active": "false"}, headers=headers)) == set()


def test_a_supervisor_sees_only_the_inspectors_of_its_office_pool(client, world):
    west_only = AccountFactory(home_unit=world.unit("west").pk, pool_offices=[world.unit("office_west").pk])
    both = AccountFactory(home_unit=world.unit("city").pk,
                          pool_offices=[world.unit("office_east").pk, world.unit("office_west").pk])
    AccountFactory(home_unit=world.unit("east").pk)  # in no pool, though it works in the east
    east = ids(client.get(ACCOUNTS, headers=world.headers("supervisor_east")))
    assert east == {str(world.accounts["inspector_east"].pk), str(both.pk)}
    west = ids(client.get(ACCOUNTS, headers=world.headers("supervisor_west")))
    assert west == {str(west_only.pk), str(both.pk)}


def test_a_supervisor_reads_a_pool_inspector_but_not_other_accounts(client, world):
    headers = world.headers("supervisor_east")
    inspector = str(world.accounts["inspector_east"].pk)
    assert client.get(f"{ACCOUNTS}/{inspector}", headers=headers).get_json()["id"] == inspector
    for other in ("supervisor_west", "admin", "liaison_water"):
        problem(client.get(f"{ACCOUNTS}/{world.accounts[other].pk}", headers=headers), 404, "account.not-found")
    problem(client.get(f"{ACCOUNTS}/{inspector}", headers=world.headers("supervisor_west")), 404, "account.not-found")


def test_other_roles_read_only_their_own_account(client, world):
    headers = world.headers("liaison_water")
    problem(client.get(ACCOUNTS, headers=headers), 403, "access.forbidden")
    problem(client.get(f"{ACCOUNTS}/{world.accounts['admin'].pk}", headers=headers), 404, "account.not-found")
    own = str(world.accounts["liaison_water"].pk)
    assert client.get(f"{ACCOUNTS}/{own}", headers=headers).get_json()["id"] == own
    problem(client.get(f"{ACCOUNTS}/{ObjectId()}", headers=headers), 404, "account.not-found")
    problem(client.get(f"{ACCOUNTS}/not-an-id", headers=headers), 404, "http.not-found")  # ids are ObjectIds


def test_an_admin_creates_an_account_that_can_then_sign_in(client, world):
    resp = client.post(ACCOUNTS, json=new_account(world, username="New.Inspector"), headers=world.headers("admin"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["username"] == "new.inspector" and body["role"] == "inspector" and body["active"] is True
    assert body["home_unit"] == {"id": world.id("east"), "name": "蓬江区"} and "password" not in body
    event = AuditEvent.objects.get(action="account.created")
    assert event.target_id == body["id"] and event.actor_id == str(world.accounts["admin"].pk)
    login = client.post("/api/v1/auth/login", json={"username": "NEW.INSPECTOR", "password": "Strong@2026"})
    assert login.status_code == 200
    pool = ids(client.get(ACCOUNTS, headers=world.headers("supervisor_east")))
    assert body["id"] in pool


RULES = [
    ({"role": "supervisor", "pool_offices": []}, "office-required"),
    ({"role": "leader", "pool_offices": [], "office": "water"}, "office-required"),
    ({"role": "liaison", "pool_offices": [], "home_unit": "site_water"}, "liaison-home-unit"),
    ({"pool_offices": ["water"]}, "pool-not-office"),
    ({"role": "supervisor", "office": "office_east"}, "pool-inspectors-only"),
    ({"office": "office_east"}, "office-not-allowed"),
]


@pytest.mark.parametrize("change,rule", RULES, ids=[r[1] + "-" + r[0].get("role", "inspector") for r in RULES])
def test_account_creation_refuses_role_rule_breaches_naming_the_rule(client, world, change, rule):
    resolved = {k: (world.id(v) if k in ("home_unit", "office") else [world.id(p) for p in v]
                    if k == "pool_offices" else v) for k, v in change.items()}
    resp = client.post(ACCOUNTS, json=new_account(world, **resolved),
                       headers={**world.headers("admin"), "Accept-Language": "en"})
    body = problem(resp, 422, "account.role-rule")
    assert f"({rule})" in body["detail"]


def test_a_supervisor_and_a_leader_with_an_office_are_accepted(client, world):
    headers = world.headers("admin")
    for role in ("supervisor", "leader"):
        resp = client.post(ACCOUNTS, json=new_account(world, username=f"new.{role}", role=role, pool_offices=[],
                                                      office=world.id("office_west")), headers=headers)
        assert resp.status_code == 201 and resp.get_json()["office"]["name"] == "新会区督查室"


def test_a_username_is_taken_whatever_its_case(client, world):
    resp = client.post(ACCOUNTS, json=new_account(world, username="Supervisor_EAST"), headers=world.headers("admin"))
    problem(resp, 409, "account.username-taken")


def test_a_weak_initial_password_is_refused(client, world):
    problem(client.post(ACCOUNTS, json=new_account(world, password="short1A"), headers=world.headers("admin")),
            422, "auth.weak-password")


def test_only_admins_create_or_change_accounts(client, world):
    for persona in ("supervisor_east", "inspector_east", "leader_city", "liaison_water"):
        problem(client.post(ACCOUNTS, json=new_account(world), headers=world.headers(persona)), 403, "access.forbidden")
        problem(client.patch(f"{ACCOUNTS}/{world.accounts[persona].pk}", json={"display_name": "x"},
                             headers=world.headers(persona)), 403, "access.forbidden")


def test_an_admin_enrols_an_inspector_in_another_pool(client, world):
    inspector = str(world.accounts["inspector_east"].pk)
    pools = [world.id("office_east"), world.id("office_west")]
    resp = client.patch(f"{ACCOUNTS}/{inspector}", json={"pool_offices": pools, "display_name": "王督查"},
                        headers=world.headers("admin"))
    assert resp.status_code == 200
    assert [p["id"] for p in resp.get_json()["pool_offices"]] == pools and resp.get_json()["display_name"] == "王督查"
    assert inspector in ids(client.get(ACCOUNTS, headers=world.headers("supervisor_west")))
    event = AuditEvent.objects.get(action="account.updated")
    assert event.before == {"pool_offices": [world.id("office_east")], "display_name": "inspector_east"}
    assert event.after == {"pool_offices": pools, "display_name": "王督查"}


def test_an_update_may_not_break_the_role_rules_or_change_the_role(client, world):
    headers = world.headers("admin")
    supervisor = world.accounts["supervisor_east"].pk
    problem(client.patch(f"{ACCOUNTS}/{supervisor}", json={"office": None}, headers=headers), 422, "account.role-rule")
    body = problem(client.patch(f"{ACCOUNTS}/{supervisor}", json={"role": "admin"}, headers=headers),
                   422, "request.invalid")
    assert "role" in body["errors"]["json"]


def test_an_admin_password_reset_signs_the_account_out_everywhere(client, world):
    headers = world.headers("liaison_water")
    account_id = world.accounts["liaison_water"].pk
    resp = client.post(f"{ACCOUNTS}/{account_id}/password", json={"new_password": "Reset@2026"},
                       headers=world.headers("admin"))
    assert resp.status_code == 204
    problem(client.get(f"{ACCOUNTS}/me", headers=headers), 401, "auth.token-revoked")
    assert client.post("/api/v1/auth/login", json={"username": "liaison_water", "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/login", json={"username": "liaison_water", "password": "Reset@2026"}).status_code == 200


def test_unknown_accounts_are_not_found_for_admins_too(client, world):
    problem(client.patch(f"{ACCOUNTS}/{'0' * 24}", json={"display_name": "x"}, headers=world.headers("admin")),
            404, "account.not-found")
    problem(client.post(f"{ACCOUNTS}/{'0' * 24}/unlock", headers=world.headers("admin")), 404, "account.not-found")
