"""The unit tree's use cases on the real database: rules, moves, deletion, scoping, positions."""
from __future__ import annotations

import math

import prcoords
import pytest
from bson import ObjectId

from domain.access import SYSTEM, Actor, Role
from domain.audit import AuditEvent
from domain.errors import (CoordinateOutOfRangeError, CoordinateSystemUnknownError, Forbidden, UnitCodeFormatError,
                           UnitCodeTakenError, UnitFieldRuleError, UnitHasChildrenError, UnitHasHistoryError,
                           UnitMoveIntoOwnSubtreeError, UnitNotFoundError, UnitParentRuleError)
from domain.outbox import OutboxEntry
from domain.units import geo, queries, references, register_reference_check, services
from domain.units.models import Unit

ADMIN = Actor(id=str(ObjectId()), role=Role.ADMIN, username="admin")
JIANGMEN_HALL = (113.0820, 22.5830)  # WGS-84, 江门市政务服务中心 (approximate)


def supervisor_of(world, office: str) -> Actor:
    unit = world.unit(office)
    return Actor(id=str(ObjectId()), role=Role.SUPERVISOR, home_unit=str(unit.pk), office_id=str(unit.pk),
                 jurisdiction_roots=tuple(str(r) for r in unit.jurisdiction_roots))


def liaison_of(world, unit_key: str) -> Actor:
    return Actor(id=str(ObjectId()), role=Role.LIAISON, home_unit=world.id(unit_key))


def site(world, code="PJ-TEST", parent="east", **extra):
    fields = dict(position={"crs": "wgs84", "lon": JIANGMEN_HALL[0], "lat": JIANGMEN_HALL[1]}, radius_m=100)
    fields.update(extra)
    return services.create_unit(ADMIN, code=code, name="测试窗口", kind="site", parent_id=world.id(parent), **fields)


def recount_entries():
    return [e.args for e in OutboxEntry.objects(job="workers.units.recount_sites")]


# Positions
def test_a_gcj02_point_in_jiangmen_converts_back_to_wgs84_within_a_metre():
    wgs = prcoords.Coords(JIANGMEN_HALL[1], JIANGMEN_HALL[0])
    gcj = prcoords.wgs_gcj(wgs)
    assert 300 < wgs.distance(gcj) < 900  # the datum shift is hundreds of metres
    lon, lat = geo.to_wgs84(gcj.lon, gcj.lat, "gcj02")
    assert prcoords.Coords(lat, lon).distance(wgs) < 1.0
    assert geo.position(gcj.lon, gcj.lat, "GCJ-02").input == {"crs": "gcj02", "lon": gcj.lon, "lat": gcj.lat}


def test_a_bd09_point_converts_back_to_wgs84_within_a_metre():
    wgs = prcoords.Coords(JIANGMEN_HALL[1], JIANGMEN_HALL[0])
    bd = prcoords.wgs_bd(wgs)
    assert wgs.distance(bd) > 500
    lon, lat = geo.to_wgs84(bd.lon, bd.lat, "bd09")
    assert prcoords.Coords(lat, lon).distance(wgs) < 1.0


@pytest.mark.parametrize("lon,lat", [(0, 0), (181, 22.5), (113, -90.5), (math.nan, 22.5), (113, math.inf), ("x", 1)])
def test_impossible_coordinates_are_refused(lon, lat):
    with pytest.raises(CoordinateOutOfRangeError):
        geo.position(lon, lat, "wgs84")


def test_an_unknown_datum_is_refused():
    with pytest.raises(CoordinateSystemUnknownError):
        geo.position(113.08, 22.58, "cgcs2000x")


def test_a_site_entered_in_gcj02_is_stored_in_wgs84_with_the_input_kept(world):
    gcj = prcoords.wgs_gcj(prcoords.Coords(JIANGMEN_HALL[1], JIANGMEN_HALL[0]))
    unit = site(world, position={"crs": "gcj02", "lon": gcj.lon, "lat": gcj.lat})
    stored = Unit.objects.get(pk=unit.pk)
    lon, lat = stored.location["coordinates"]
    assert prcoords.Coords(lat, lon).distance(prcoords.Coords(JIANGMEN_HALL[1], JIANGMEN_HALL[0])) < 1.0
    assert stored.location_input == {"crs": "gcj02", "lon": gcj.lon, "lat": gcj.lat}


# Creation rules
def test_codes_are_normalised_and_a_taken_code_is_refused_by_the_unique_index(world):
    unit = services.create_unit(ADMIN, code="  pj-new-01 ", name="新部门", kind="organisation",
                                parent_id=world.id("east"))
    assert unit.code == "PJ-NEW-01"
    with pytest.raises(UnitCodeTakenError) as err:
        services.create_unit(ADMIN, code="PJ-NEW-01", name="另一个", kind="organisation", parent_id=world.id("west"))
    assert err.value.params == {"code": "PJ-NEW-01"}
    assert Unit.objects(code="PJ-NEW-01").count() == 1


@pytest.mark.parametrize("kind,code", [("region", "4407030000"), ("region", "PJ-440703"), ("organisation", "局"),
                                       ("organisation", "A"), ("office", "X" * 33)])
def test_malformed_codes_are_refused(world, kind, code):
    with pytest.raises(UnitCodeFormatError):
        services.create_unit(ADMIN, code=code, name="x", kind=kind, level="town", parent_id=world.id("east"),
                             jurisdiction_root_ids=[world.id("east")])


def test_creating_a_site_is_audited_on_its_office_chain_and_queues_a_recount_of_its_parent(world):
    unit = site(world, parent="water")
    event = AuditEvent.objects.get(action="unit.create", target_id=str(unit.pk))
    assert event.chain == world.id("office_east")
    assert event.target_unit == str(unit.pk)
    assert event.after["code"] == "PJ-TEST" and event.after["radius_m"] == 100
    assert recount_entries() == [[world.id("water")]]


def test_a_new_office_opens_its_own_audit_chain_and_records_its_creation_there(world):
    """An office inside its own jurisdiction (a bureau's internal office) owns its creation event."""
    office = services.create_unit(ADMIN, code="PJSW-DCS", name="水务局督查科", kind="office", parent_id=world.id("water"),
                                  jurisdiction_root_ids=[world.id("water")])
    event = AuditEvent.objects.get(action="unit.create", target_id=str(office.pk))
    assert event.chain == str(office.pk) and event.seq == 1


@pytest.mark.parametrize("kind,parent,extra,error,params", [
    ("region", "water", {"level": "town"}, UnitParentRuleError, {"rule": "kind"}),
    ("region", "east", {"level": "city"}, UnitParentRuleError, {"rule": "level-order"}),
    ("region", "east", {}, UnitFieldRuleError, {"field": "level", "rule": "required-for-region"}),
    ("organisation", "site_water", {}, UnitParentRuleError, {"rule": "kind", "parent_kind": "site"}),
    ("site", None, {"position": {"lon": 113.08, "lat": 22.58}, "radius_m": 100}, UnitParentRuleError,
     {"rule": "needs-parent"}),
    ("site", "water", {"radius_m": 100}, UnitFieldRuleError, {"field": "location"}),
    ("site", "water", {"position": {"lon": 113.08, "lat": 22.58}}, UnitFieldRuleError, {"field": "radius_m"}),
    ("site", "water", {"position": {"lon": 113.08, "lat": 22.58}, "radius_m": 5001}, UnitFieldRuleError,
     {"field": "radius_m", "rule": "range-1-5000"}),
    ("organisation", "east", {"position": {"lon": 113.08, "lat": 22.58}}, UnitFieldRuleError,
     {"field": "location", "rule": "sites-only"}),
    ("office", "east", {}, UnitFieldRuleError, {"field": "jurisdiction_roots", "rule": "required-for-office"}),
    ("office", "east", {"roots": "site_water"}, UnitFieldRuleError, {"rule": "region-or-organisation"}),
])
def test_kind_rules_are_enforced(world, kind, parent, extra, error, params):
    extra = dict(extra)
    roots = [world.id(extra.pop("roots"))] if "roots" in extra else ()
    code = "440703001000" if kind == "region" else "RULE-1"
    with pytest.raises(error) as err:
        services.create_unit(ADMIN, code=code, name="x", kind=kind, parent_id=world.id(parent) if parent else None,
                             jurisdiction_root_ids=roots, **extra)
    assert params.items() <= err.value.params.items()
    assert not Unit.objects(code=code)


def test_only_admins_and_the_system_manage_units(world):
    with pytest.raises(Forbidden):
        services.create_unit(supervisor_of(world, "office_east"), code="X-1", name="x", kind="organisation",
                             parent_id=world.id("east"))


# Update
def test_deactivating_a_site_is_audited_and_queues_a_recount_while_an_empty_change_writes_nothing(world):
    hall = world.unit("hall_east")
    unchanged = services.update_unit(ADMIN, hall.pk, name=hall.name)
    assert unchanged.rev == hall.rev and not AuditEvent.objects(action="unit.update")
    updated = services.update_unit(ADMIN, hall.pk, active=False)
    assert updated.rev == hall.rev + 1 and Unit.objects.get(pk=hall.pk).active is False
    event = AuditEvent.objects.get(action="unit.update")
    assert event.before["active"] is True and event.after["active"] is False
    assert event.chain == world.id("office_east")
    assert recount_entries() == [[world.id("east")]]


def test_a_region_level_cannot_go_below_its_children(world):
    with pytest.raises(UnitParentRuleError):
        services.update_unit(ADMIN, world.id("city"), level="county")


# Move
def test_moving_a_unit_moves_its_subtree_and_keeps_the_move_in_its_history(world):
    water = services.move_unit(ADMIN, world.id("water"), world.id("west"))
    city, west = world.unit("city").pk, world.unit("west").pk
    assert water.parent == west and water.ancestors == [city, west]
    below = Unit.objects.get(pk=world.unit("site_water").pk)
    assert below.ancestors == [city, west, water.pk] and below.parent == water.pk
    move = Unit.objects.get(pk=water.pk).moves[0]
    assert move["from_parent"] == world.unit("east").pk and move["to_parent"] == west and move["by"] == ADMIN.id
    chains = sorted(e.chain for e in AuditEvent.objects(action="unit.move"))
    assert chains == sorted([world.id("office_east"), world.id("office_west")])  # both offices see it go
    assert recount_entries() == [[world.id("east"), world.id("west")]]
    assert references.history_reason(water.pk) == "moves"  # so it can be deactivated, never deleted


@pytest.mark.parametrize("target", ["east", "water", "site_water"])
def test_a_unit_cannot_move_under_itself_or_its_descendants(world, target):
    with pytest.raises((UnitMoveIntoOwnSubtreeError, UnitParentRuleError)) as err:
        services.move_unit(ADMIN, world.id("east"), world.id(target))
    if target != "site_water":
        assert isinstance(err.value, UnitMoveIntoOwnSubtreeError)
    assert Unit.objects.get(pk=world.unit("east").pk).parent == world.unit("city").pk


# Delete
def test_a_unit_with_children_is_not_deleted(world):
    with pytest.raises(UnitHasChildrenError) as err:
        services.delete_unit(ADMIN, world.id("water"))
    assert err.value.params["children"] == 1


def test_units_with_history_are_not_deleted(world):
    with pytest.raises(UnitHasHistoryError) as err:
        services.delete_unit(ADMIN, world.id("office_west"))  # supervisor_west's home unit
    assert err.value.params["reason"] == "accounts"
    updated = site(world, code="PJ-UPD")
    services.update_unit(ADMIN, updated.pk, name="改名")
    with pytest.raises(UnitHasHistoryError) as err:
        services.delete_unit(ADMIN, updated.pk)
    assert err.value.params["reason"] == "audit-events"


def test_a_later_feature_can_register_a_reference_that_blocks_deletion(world):
    fresh = site(world, code="PJ-REF")

    def tasks_on(unit_id):
        return "tasks" if unit_id == fresh.pk else None

    register_reference_check(tasks_on)
    try:
        with pytest.raises(UnitHasHistoryError) as err:
            services.delete_unit(ADMIN, fresh.pk)
        assert err.value.params["reason"] == "tasks"
    finally:
        references._checks.remove(tasks_on)


def test_a_fresh_site_entered_by_mistake_is_deleted_audited_and_recounted(world):
    fresh = site(world, code="PJ-OOPS", parent="water")
    services.delete_unit(ADMIN, fresh.pk)
    assert not Unit.objects(pk=fresh.pk)
    event = AuditEvent.objects.get(action="unit.delete")
    assert event.target_id == str(fresh.pk) and event.before["code"] == "PJ-OOPS"
    assert recount_entries() == [[world.id("water")], [world.id("water")]]


# Recount
def test_recount_sets_active_sites_below_each_unit_and_its_ancestors(world):
    services.update_unit(ADMIN, world.id("hall_east"), active=False)
    result = services.recount_sites(SYSTEM, [world.id("water"), world.id("market_west")])
    counts = {u.code: u.site_count for u in Unit.objects}
    assert counts["440700000000"] == 2 and counts["440703000000"] == 1 and counts["11440703MB2C12345X"] == 1
    assert counts["440705000000"] == 1 and counts["PJSW-CK01"] == 0
    assert result["changed"] == 5
    assert services.recount_sites(SYSTEM, [world.id("water")])["changed"] == 0  # idempotent


# Reads
def test_a_supervisor_sees_only_its_jurisdiction(world):
    east = supervisor_of(world, "office_east")
    with pytest.raises(UnitNotFoundError):
        queries.get_unit(east, world.id("market_west"))
    ids, cursor = [], None
    while True:  # small pages: the scope and the cursor condition must combine, not overwrite each other
        result = queries.list_units(east, cursor=cursor, limit=2)
        ids += [str(u.pk) for u in result.items]
        if not (cursor := result.next_cursor):
            break
    assert sorted(ids) == sorted(world.id(k) for k in ("east", "office_east", "water", "site_water", "hall_east"))


def test_a_liaison_sees_only_its_own_unit(world):
    liaison = liaison_of(world, "water")
    assert [str(u.pk) for u in queries.list_units(liaison).items] == [world.id("water")]
    with pytest.raises(UnitNotFoundError):
        queries.get_unit(liaison, world.id("site_water"))


def test_list_filters_by_name_fragment_kind_and_distance(world):
    assert {u.code for u in queries.list_units(ADMIN, q="政务").items} == {"PJ-ZWZX"}
    assert not queries.list_units(ADMIN, q="(.*").items  # the fragment is literal, not a pattern
    assert {u.code for u in queries.list_units(ADMIN, kind="site").items} == {"PJSW-CK01", "PJ-ZWZX", "XHSJ-CK01"}
    near = queries.Near(113.0780, 22.5790, 500)
    assert {u.code for u in queries.list_units(ADMIN, near=near).items} == {"PJSW-CK01"}


def test_lists_page_by_cursor_without_repeats(world):
    first = queries.list_units(ADMIN, limit=4)
    second = queries.list_units(ADMIN, cursor=first.next_cursor, limit=20)
    ids = [u.pk for u in first.items + second.items]
    assert len(ids) == len(set(ids)) == Unit.objects.count() and second.next_cursor is None
