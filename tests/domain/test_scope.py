"""Scope stored on the documents (docs/scope.md): what planning, intake and the undercover submission
store, that every scoped read is one match on it, and that a unit move reaches every scoped list
through the outbox job, run by a real RQ worker."""
from __future__ import annotations

import io
import shutil
from datetime import timedelta

import pytest
from bson import ObjectId
from rq import Queue, SimpleWorker

from domain import scope
from domain.access import SYSTEM, Actor, Permission, Role
from domain.accounts.services import actor_for
from domain.errors import EvidenceNotFoundError, ReportNotFoundError
from domain.evidence import queries as evidence_queries
from domain.forms import load_shipped_forms
from domain.migrations import run_migrations
from domain.outbox import OutboxEntry, OutboxStatus, dispatch_pending
from domain.reports import Evidence, Report, services as reports
from domain.reports import queries as report_queries
from domain.tasks import Task, services as tasks
from domain.tasks import queries as task_queries
from domain.units import services as units
from tests.factories.reports import EvidenceFactory, ReportFactory, as_kwargs, photos_for, report_body, report_in
from tests.factories.accounts import AccountFactory
from tests.factories.tasks import TaskFactory, task_in
from workers.queues import DEFAULT, RQTaskQueue
from domain import clock

ADMIN = Actor(id=str(ObjectId()), role=Role.ADMIN, username="admin")
SCOPE_JOB = "workers.units.refresh_scope"
READERS = ("supervisor_east", "supervisor_west", "leader_city", "liaison_water")


@pytest.fixture
def forms(settings):
    load_shipped_forms()
    shutil.rmtree(settings.data_dir / "blobs", ignore_errors=True)


def actor(world, persona):
    return actor_for(world.accounts[persona])


def ids(world, *keys):
    return [world.unit(k).pk for k in keys]


def plan(world, **overrides):
    now = clock.now()
    data = dict(mode="open", title="水务局窗口明查", form_id="open_check_service_hall",
                target_unit_id=world.id("water"), site_id=world.id("site_water"),
                inspector_ids=[str(world.accounts["inspector_east"].pk)],
                starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1))
    data.update(overrides)
    return tasks.plan_task(actor(world, "supervisor_east"), **data)


def test_planning_stores_the_target_and_site_paths_and_a_new_site_replaces_its_part(world, forms):
    task = plan(world)
    assert Task.objects.get(pk=task.pk).scope_units == ids(world, "city", "east", "water", "site_water")
    tasks.update_task(actor(world, "supervisor_east"), task.pk, site_id=world.id("hall_east"))
    assert Task.objects.get(pk=task.pk).scope_units == ids(world, "city", "east", "water", "hall_east")


def test_reports_and_photos_of_an_undercover_task_reach_a_leader_in_the_transition_that_submits_it(world, forms):
    second = AccountFactory(username="inspector_two", home_unit=world.unit("office_city").pk,
                            pool_offices=[world.unit("office_east").pk])  # still to report: not submitted yet
    task = task_in(world, undercover=True, in_progress=True, accounts=[world.accounts["inspector_east"], second])
    photos = photos_for(task)
    report = reports.submit_report(actor(world, "inspector_east"), **as_kwargs(report_body(task, photos))).report
    client_id, (_declared, data) = next(iter(photos.items()))
    put = reports.put_evidence(actor(world, "inspector_east"), report.pk, client_id, stream=io.BytesIO(data),
                               content_length=len(data))
    stored, photo = Report.objects.get(pk=report.pk), Evidence.objects.get(pk=put.evidence.pk)
    assert stored.scope_units == photo.scope_units == Task.objects.get(pk=task.pk).scope_units
    leader = actor(world, "leader_city")
    assert stored.leader_visible is False and photo.leader_visible is False
    with pytest.raises(ReportNotFoundError):
        report_queries.get_report(leader, report.pk)
    with pytest.raises(EvidenceNotFoundError):
        evidence_queries.get_evidence(leader, photo.pk)

    tasks.close_submission(actor(world, "supervisor_east"), task.pk)
    assert Report.objects.get(pk=report.pk).leader_visible is True
    assert Evidence.objects.get(pk=photo.pk).leader_visible is True
    assert report_queries.get_report(leader, report.pk).pk == report.pk
    assert evidence_queries.get_evidence(leader, photo.pk)[0].pk == photo.pk


def test_an_open_report_is_visible_to_a_leader_at_once_and_a_late_one_of_a_submitted_undercover_task_too(world, forms):
    open_task = task_in(world, in_progress=True)
    late_task = task_in(world, undercover=True, submitted=True)
    leader = actor(world, "leader_city")
    for task in (open_task, late_task):
        report = reports.submit_report(actor(world, "inspector_east"), **as_kwargs(report_body(task, photos_for(task)))).report
        assert Report.objects.get(pk=report.pk).leader_visible is True
        assert report_queries.get_report(leader, report.pk).pk == report.pk


# --- a unit moved across two offices' jurisdictions ------------------------------------------------------

@pytest.fixture
def records(world):
    """O: an open task of 蓬江区督查室 on 水务局, U: an undercover submitted one, C: an undercover one in
    progress (all with a report and a photo); W: 新会区督查室's own open task on its market bureau."""
    west_inspector = AccountFactory(username="inspector_west", home_unit=world.unit("east").pk,
                                    pool_offices=[world.unit("office_west").pk])
    made = {"O": task_in(world, in_progress=True), "U": task_in(world, undercover=True, submitted=True),
            "C": task_in(world, undercover=True, in_progress=True),
            "W": TaskFactory(office_unit=world.unit("office_west"), target=world.unit("market_west"),
                             site_unit=world.unit("site_west"), inspector_accounts=[west_inspector], in_progress=True)}
    out = {}
    for key, task in made.items():
        report = ReportFactory(task_doc=task, inspector_account=west_inspector) if key == "W" else \
            report_in(task, world)
        out[key] = (task, report, EvidenceFactory(report_doc=report))
    return out


def seen(world, records) -> dict[str, dict]:
    """What each reader finds, by record key: tasks listed and counted, reports listed, photos read."""
    names = {}
    for key, (task, report, photo) in records.items():
        names[task.pk], names[report.pk], names[photo.pk] = key, key, key
    out = {}
    for persona in READERS:
        who = actor(world, persona)
        listed = {names[t.pk] for t in tasks.list_tasks(who, limit=100).items}
        photos = set()
        for key, (_t, _r, photo) in records.items():
            try:
                evidence_queries.get_evidence(who, photo.pk)
                photos.add(key)
            except EvidenceNotFoundError:
                pass
        report_keys = set()
        if who.can(Permission.REPORT_READ):
            report_keys = {names[r.pk] for r in reports.list_reports(who, limit=100).items}
        out[persona] = {"tasks": listed, "count": tasks.count_tasks(who), "reports": report_keys, "photos": photos}
    return out


def expect(east, west, leader, liaison) -> dict[str, dict]:
    def row(task_keys, record_keys):
        return {"tasks": set(task_keys), "count": len(task_keys), "reports": set(record_keys),
                "photos": set(record_keys)}
    return {"supervisor_east": row(east, east), "supervisor_west": row(west, west),
            "leader_city": row(*leader), "liaison_water": row(liaison, ())}


def run_scope_job(redis_conn, unit_id) -> dict:
    """Dispatch the move's outbox entry and run it through a real worker; its return value."""
    entry = OutboxEntry.objects(job=SCOPE_JOB, args=[str(unit_id)], status__ne=OutboxStatus.SENT).first() or \
        OutboxEntry.objects(job=SCOPE_JOB, args=[str(unit_id)]).order_by("-created_at").first()
    assert entry is not None
    dispatch_pending(RQTaskQueue(redis_conn))
    assert OutboxEntry.objects.get(pk=entry.pk).status == OutboxStatus.SENT
    queue = Queue(DEFAULT, connection=redis_conn)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    return queue.fetch_job(f"outbox-{entry.pk}").return_value()


BEFORE = expect(east={"O", "U", "C"}, west={"W"}, leader=({"O", "U", "W"}, {"O", "U", "W"}), liaison={"O"})
# 水务局 under 新会区: 蓬江区督查室's own tasks there are outside its jurisdiction now (scope, then office),
# 新会区督查室 did not plan them; the city leader and the bureau's own liaison see what they saw.
MOVED = expect(east=set(), west={"W"}, leader=({"O", "U", "W"}, {"O", "U", "W"}), liaison={"O"})


def test_a_unit_moved_with_its_subtree_to_another_office_reaches_every_scoped_list_after_the_job(
        world, records, redis_conn):
    assert seen(world, records) == BEFORE
    units.move_unit(ADMIN, world.id("water"), world.id("west"))
    assert seen(world, records) == BEFORE  # stale until the job ran (docs/scope.md)

    result = run_scope_job(redis_conn, world.unit("water").pk)
    assert result == {"checked": 3, "tasks": 3, "reports": 3, "evidence": 3}
    moved_path = ids(world, "city", "west", "water", "site_water")
    assert all(Task.objects.get(pk=records[k][0].pk).scope_units == moved_path for k in "OUC")
    assert all(Evidence.objects.get(pk=records[k][2].pk).scope_units == moved_path for k in "OUC")
    assert seen(world, records) == MOVED

    units.move_unit(ADMIN, world.id("water"), world.id("east"))  # and back: 蓬江区督查室 finds them again
    assert run_scope_job(redis_conn, world.unit("water").pk)["tasks"] == 3
    assert seen(world, records) == BEFORE


def test_the_refresh_walks_bounded_batches_and_a_second_run_changes_nothing(world, records):
    units.move_unit(ADMIN, world.id("water"), world.id("west"))
    first = scope.refresh_scope_below(SYSTEM, world.id("water"), batch=2)
    again = scope.refresh_scope_below(SYSTEM, world.id("water"), batch=2)
    assert first == {"checked": 3, "tasks": 3, "reports": 3, "evidence": 3}
    assert again == {"checked": 3, "tasks": 0, "reports": 0, "evidence": 0}
    assert Report.objects.get(pk=records["W"][1].pk).scope_units == ids(world, "city", "west", "market_west",
                                                                        "site_west")  # not below the moved unit


def test_the_migration_gives_old_records_their_scope_and_a_second_run_changes_nothing(world, records):
    for doc_cls in (Task, Report, Evidence):
        doc_cls._get_collection().update_many({}, {"$unset": {"scope_units": "", "leader_visible": ""}})
    first = run_migrations(["scope-units"])["scope-units"]
    assert first == {"checked": 4, "tasks": 4, "reports": 4, "evidence": 4}
    assert run_migrations(["scope-units"])["scope-units"] == {"checked": 4, "tasks": 0, "reports": 0, "evidence": 0}
    assert seen(world, records) == BEFORE
    task, report, photo = records["C"]
    assert Report.objects.get(pk=report.pk).leader_visible is False  # undercover, not submitted yet
    assert Evidence.objects.get(pk=photo.pk).scope_units == ids(world, "city", "east", "water", "site_water")


# --- one indexed match ---------------------------------------------------------------------------------

def _in_lists(flt) -> list[list]:
    """Every ``$in`` list anywhere in a raw filter."""
    if isinstance(flt, dict):
        return [v["$in"] for v in flt.values() if isinstance(v, dict) and "$in" in v] + \
            [x for v in flt.values() for x in _in_lists(v)]
    if isinstance(flt, list):
        return [x for v in flt for x in _in_lists(v)]
    return []


@pytest.mark.parametrize("persona", READERS)
def test_scoped_filters_name_the_roots_or_the_unit_never_a_list_of_units_or_tasks(world, persona):
    who = actor(world, persona)
    for flt in (task_queries._filters(who), report_queries.scope_filter(who)):
        widest = max((len(v) for v in _in_lists(flt) if v and isinstance(v[0], ObjectId)), default=0)
        assert widest <= len(who.jurisdiction_roots)


def test_a_supervisors_task_and_report_lists_use_the_scope_index(world, records):
    who = actor(world, "supervisor_east")
    plans = [Task._get_collection().find(task_queries._filters(who)).explain(),
             Report._get_collection().find(report_queries.scope_filter(who)).explain()]
    for plan in plans:
        assert "scope_units" in str(plan.get("queryPlanner", plan)), plan
