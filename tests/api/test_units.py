"""/api/v1/units over HTTP: shapes, problems, roles and jurisdiction as each persona sees them."""
from __future__ import annotations

import prcoords
import pytest

from domain.units.models import Unit

URL = "/api/v1/units"
HALL = (113.0820, 22.5830)  # WGS-84


def site_body(world, code="PJ-NEW", **extra):
    body = {"code": code, "name": "新窗口", "kind": "site", "parent_id": world.id("water"),
            "position": {"lon": HALL[0], "lat": HALL[1]}, "radius_m": 120}
    body.update(extra)
    return body


def ids(resp) -> set[str]:
    return {u["id"] for u in resp.get_json()["items"]}


def test_an_admin_creates_a_site_from_a_gcj02_position_and_gets_wgs84_back(client, world):
    gcj = prcoords.wgs_gcj(prcoords.Coords(HALL[1], HALL[0]))
    body = site_body(world, position={"crs": "gcj02", "lon": gcj.lon, "lat": gcj.lat})
    resp = client.post(URL, json=body, headers=world.headers("admin"))
    assert resp.status_code == 201, resp.get_json()
    unit = resp.get_json()
    assert unit["code"] == "PJ-NEW" and unit["kind"] == "site" and unit["parent_id"] == world.id("water")
    assert unit["ancestor_ids"] == [world.id("city"), world.id("east"), world.id("water")]
    assert unit["location_input"] == {"crs": "gcj02", "lon": gcj.lon, "lat": gcj.lat}
    back = prcoords.Coords(unit["location"]["lat"], unit["location"]["lon"])
    assert back.distance(prcoords.Coords(HALL[1], HALL[0])) < 1.0
    assert unit["created_at"].endswith(("Z", "+00:00"))
    got = client.get(f"{URL}/{unit['id']}", headers=world.headers("admin")).get_json()
    assert got["location"] == unit["location"] and got["radius_m"] == 120


def test_a_position_without_latitude_is_a_422_problem(client, world):
    resp = client.post(URL, json=site_body(world, position={"lon": 113.0}), headers=world.headers("admin"))
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == "request.invalid"
    assert "lat" in str(resp.get_json()["errors"])


def test_a_taken_code_is_a_409_in_chinese_by_default_and_english_on_request(client, world):
    resp = client.post(URL, json=site_body(world, code="pjsw-ck01"), headers=world.headers("admin"))
    assert resp.status_code == 409
    problem = resp.get_json()
    assert problem["code"] == "unit.code-taken" and problem["title"] == "单位编码已被使用"
    assert "PJSW-CK01" in problem["detail"]
    en = client.post(URL, json=site_body(world, code="PJSW-CK01"), headers=world.headers("admin", lang="en"))
    assert en.get_json()["title"] == "Unit code already in use"


def test_a_kind_rule_is_a_422_with_its_code(client, world):
    body = site_body(world, parent_id=world.id("site_water"))
    resp = client.post(URL, json=body, headers=world.headers("admin"))
    assert resp.status_code == 422 and resp.get_json()["code"] == "unit.parent-rule"


@pytest.mark.parametrize("persona", ["supervisor_east", "inspector_east", "liaison_water", "leader_city"])
def test_only_admins_write_units(client, world, persona):
    h = world.headers(persona)
    assert client.post(URL, json=site_body(world), headers=h).status_code == 403
    assert client.patch(f"{URL}/{world.id('water')}", json={"name": "x"}, headers=h).status_code == 403
    assert client.post(f"{URL}/{world.id('water')}/move", json={"parent_id": None}, headers=h).status_code == 403
    assert client.delete(f"{URL}/{world.id('hall_east')}", headers=h).status_code == 403
    assert Unit.objects.get(pk=world.unit("water").pk).name == "蓬江区水务局"


def test_supervisor_east_cannot_see_xinhui_units(client, world):
    h = world.headers("supervisor_east")
    for key in ("west", "market_west", "site_west", "office_west"):
        resp = client.get(f"{URL}/{world.id(key)}", headers=h)
        assert resp.status_code == 404 and resp.get_json()["code"] == "unit.not-found"
    listed = ids(client.get(f"{URL}?limit=200", headers=h))
    assert listed == {world.id(k) for k in ("east", "office_east", "water", "site_water", "hall_east")}
    assert not ids(client.get(f"{URL}?ancestor_id={world.id('west')}", headers=h))
    assert client.get(f"{URL}/{world.id('site_water')}", headers=h).status_code == 200


def test_the_city_leader_sees_the_whole_city(client, world):
    listed = ids(client.get(f"{URL}?limit=200", headers=world.headers("leader_city")))
    assert listed == {str(u.pk) for u in world.units.values()}


def test_a_liaison_sees_only_its_own_unit(client, world):
    h = world.headers("liaison_water")
    assert ids(client.get(URL, headers=h)) == {world.id("water")}
    assert client.get(f"{URL}/{world.id('water')}", headers=h).status_code == 200
    assert client.get(f"{URL}/{world.id('site_water')}", headers=h).status_code == 404
    assert client.get(f"{URL}/not-an-id", headers=h).status_code == 404


def test_lists_filter_and_page_by_cursor(client, world):
    h = world.headers("admin")
    sites = client.get(f"{URL}?kind=site&q=窗口", headers=h).get_json()
    assert {u["code"] for u in sites["items"]} == {"PJSW-CK01", "XHSJ-CK01"} and sites["next_cursor"] is None
    near = client.get(f"{URL}?near_lon=113.078&near_lat=22.579&within_m=500", headers=h).get_json()
    assert [u["code"] for u in near["items"]] == ["PJSW-CK01"]
    assert client.get(f"{URL}?near_lon=113.078", headers=h).status_code == 422
    first = client.get(f"{URL}?limit=5", headers=h).get_json()
    rest = client.get(f"{URL}?limit=50&cursor={first['next_cursor']}", headers=h).get_json()
    assert len({u["id"] for u in first["items"] + rest["items"]}) == len(world.units)
    bad = client.get(f"{URL}?cursor=garbage", headers=h)
    assert bad.status_code == 422 and bad.get_json()["code"] == "pagination.invalid-cursor"


def test_an_admin_deactivates_renames_and_moves_a_unit(client, world):
    h = world.headers("admin")
    resp = client.patch(f"{URL}/{world.id('hall_east')}", json={"active": False, "name": "蓬江区政务服务中心（旧址）"},
                        headers=h)
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert resp.get_json()["name"] == "蓬江区政务服务中心（旧址）"
    moved = client.post(f"{URL}/{world.id('water')}/move", json={"parent_id": world.id("west")}, headers=h)
    assert moved.status_code == 200
    body = moved.get_json()
    assert body["ancestor_ids"] == [world.id("city"), world.id("west")]
    assert body["moves"][0]["from_parent_id"] == world.id("east") and body["moves"][0]["to_parent_id"] == world.id("west")
    below = client.get(f"{URL}/{world.id('site_water')}", headers=h).get_json()
    assert below["ancestor_ids"] == [world.id("city"), world.id("west"), world.id("water")]
    # now out of supervisor_east's jurisdiction, inside supervisor_west's
    assert client.get(f"{URL}/{world.id('site_water')}", headers=world.headers("supervisor_east")).status_code == 404
    assert client.get(f"{URL}/{world.id('site_water')}", headers=world.headers("supervisor_west")).status_code == 200


def test_a_unit_cannot_move_below_itself(client, world):
    resp = client.post(f"{URL}/{world.id('east')}/move", json={"parent_id": world.id("water")},
                       headers=world.headers("admin"))
    assert resp.status_code == 422 and resp.get_json()["code"] == "unit.move-into-own-subtree"


def test_delete_removes_only_a_fresh_leaf(client, world):
    h = world.headers("admin")
    fresh = client.post(URL, json=site_body(world), headers=h).get_json()
    assert client.delete(f"{URL}/{fresh['id']}", headers=h).status_code == 204
    assert client.get(f"{URL}/{fresh['id']}", headers=h).status_code == 404
    children = client.delete(f"{URL}/{world.id('water')}", headers=h)
    assert children.status_code == 409 and children.get_json()["code"] == "unit.has-children"
    history = client.delete(f"{URL}/{world.id('office_east')}", headers=h)
    assert history.status_code == 409 and history.get_json()["code"] == "unit.has-history"


def test_an_admin_sets_an_office_s_validation_thresholds_and_bad_ones_are_refused(client, world):
    office = f"/api/v1/units/{world.id('office_east')}"
    admin = world.headers("admin")
    resp = client.patch(office, json={"validation_thresholds": {"near_duplicate_distance": 4}}, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["validation_thresholds"] == {"near_duplicate_distance": 4}
    bad = client.patch(office, json={"validation_thresholds": {"no_such_threshold": 1}}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["code"] == "unit.field-rule"
    site = client.patch(f"/api/v1/units/{world.id('site_water')}", json={"validation_thresholds": {}}, headers=admin)
    assert site.status_code == 422 and site.get_json()["code"] == "unit.field-rule"
    assert client.get(office, headers=admin).get_json()["validation_thresholds"] == {"near_duplicate_distance": 4}
