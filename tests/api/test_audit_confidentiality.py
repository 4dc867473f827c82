"""The audit log keeps the secrets its targets keep (docs/audit.md, "Who reads what"): a city
supervisor (whose jurisdiction covers 蓬江区), a leader and a liaison get the same audit responses
whether or not 蓬江区督查室 planned an undercover task; the office's own supervisor is the
positive control and does see the difference. Both worlds are built from scratch; ids, which are
random, are replaced by placeholders in order of appearance."""
from __future__ import annotations

import re
from datetime import timedelta

from domain import clock, storage
from domain.accounts.models import Account
from domain.access import Role
from domain.audit import AuditEvent
from domain.clock import FixedClock
from domain.forms import load_shipped_forms
from domain.ids import new_id
from domain.accounts.services import actor_for
from domain.tasks import services as tasks
from tests.personas import _HASH, build_world

EVENTS = "/api/v1/audit-events"
READERS = ("supervisor_city", "leader_city", "liaison_water")
OID = re.compile(r"\b[0-9a-f]{24}\b")


def _empty(redis_conn) -> None:
    db = storage.database()
    for name in db.list_collection_names():
        if not name.startswith("system."):
            db[name].delete_many({})
    redis_conn.flushdb()


def _world(redis_conn, with_undercover: bool, t0):
    """The persona world plus a city supervisor; every persona signs in; 蓬江区督查室 plans an open
    task, maybe an undercover one, and another open task, each at its own instant."""
    _empty(redis_conn)
    fixed = FixedClock(t0)
    with clock.using(fixed):
        world = build_world()
        load_shipped_forms()
        acc = Account(username="supervisor_city", display_name="supervisor_city", role=Role.SUPERVISOR,
                      home_unit=world.unit("office_city").pk, office=world.unit("office_city").pk,
                      password_hash=_HASH)
        storage.atomic(lambda tx: tx.insert(acc))
        world.accounts["supervisor_city"] = acc
        for persona in (*READERS, "supervisor_east", "admin"):
            fixed.advance(timedelta(seconds=1))
            world.tokens(persona)
        planner = actor_for(world.accounts["supervisor_east"])
        plans = [("O1", "open", "open_check_service_hall"), ("U", "undercover", "undercover_mystery_visit"),
                 ("O2", "open", "open_check_service_hall")]
        targets = {}
        for key, mode, form in plans:
            fixed.advance(timedelta(seconds=1))
            if key == "U" and not with_undercover:
                targets[key] = str(new_id())  # a made-up id in its place
                continue
            task = tasks.plan_task(planner, mode=mode, title=f"水务局窗口{key}", form_id=form,
                                   target_unit_id=world.id("water"), site_id=world.id("site_water"),
                                   inspector_ids=[str(world.accounts["inspector_east"].pk)],
                                   starts_at=fixed.now() + timedelta(hours=1), ends_at=fixed.now() + timedelta(days=1))
            targets[key] = str(task.pk)
    events = {key: (str(e.pk) if (e := AuditEvent.objects(target_id=tid).first()) else str(new_id()))
              for key, tid in targets.items()}
    return world, targets, events


def _responses(client, world, persona: str, targets: dict, events: dict) -> list:
    h = world.headers(persona)
    gets = [EVENTS, f"{EVENTS}?target_type=task", f"{EVENTS}?action=task.plan", f"{EVENTS}?target_type=account",
            f"{EVENTS}?limit=1"]
    gets += [f"{EVENTS}?target_id={tid}" for tid in targets.values()]
    gets += [f"{EVENTS}/{eid}" for eid in events.values()]
    out = [client.get(u, headers=h) for u in gets]
    cursor = out[4].get_json().get("next_cursor") if out[4].status_code == 200 else None
    while cursor:
        out.append(client.get(f"{EVENTS}?limit=1&cursor={cursor}", headers=h))
        cursor = out[-1].get_json().get("next_cursor")
    return out


def _normalised(responses) -> list:
    """Status, type and body, with ids as placeholders in order of appearance and cursors blanked."""
    names: dict[str, str] = {}

    def name(match) -> str:
        return names.setdefault(match.group(0), f"<id{len(names)}>")

    out = []
    for r in responses:
        body = r.get_json(silent=True)
        if isinstance(body, dict):
            body.pop("instance", None)
            if body.get("next_cursor"):
                body["next_cursor"] = "<cursor>"
        out.append((r.status_code, r.headers.get("Content-Type"), OID.sub(name, repr(body))))
    return out


def _both_worlds(client, redis_conn, persona: str):
    seen = []
    t0 = clock.now().replace(microsecond=0) - timedelta(minutes=1)  # one instant for both; tokens stay valid
    for with_undercover in (True, False):
        world, targets, events = _world(redis_conn, with_undercover, t0)
        seen.append(_normalised(_responses(client, world, persona, targets, events)))
    return seen


def test_no_reader_outside_the_planning_office_can_tell_an_undercover_task_was_planned(client, redis_conn):
    for persona in READERS:
        with_it, without_it = _both_worlds(client, redis_conn, persona)
        assert with_it == without_it, persona
        if persona == "supervisor_city":  # it does read the log: not a comparison of two refusals
            assert with_it[0][0] == 200 and "auth.login" in with_it[0][2]


def test_the_planning_office_s_supervisor_sees_the_difference(client, redis_conn):
    with_it, without_it = _both_worlds(client, redis_conn, "supervisor_east")
    assert with_it != without_it
    assert "undercover" in repr(with_it) and "undercover" not in repr(without_it)
