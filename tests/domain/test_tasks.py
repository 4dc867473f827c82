"""Tasks without HTTP: planning rules, the status machine (every refused move), conflict of interest,
scoping, the report mark, and the sync counter written with each change."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from domain import storage
from domain.access import SYSTEM
from domain.accounts.services import actor_for
from domain.audit import AuditEvent
from domain.errors import (
    FormVersionNotFoundError,
    TaskConflictOfInterestError,
    TaskFormModeMismatchError,
    TaskInspectorNotInPoolError,
    TaskNotEditableError,
    TaskNotFoundError,
    TaskReasonRequiredError,
    TaskTransitionError,
    TaskUnitRuleError,
    TaskWindowInvalidError,
    UnitNotFoundError,
)
from domain.forms import load_shipped_forms
from domain.tasks import services, sync
from domain.tasks.models import Task, TaskStatus
from domain.tasks.rules import TRANSITIONS
from domain.units.models import Unit, UnitKind
from tests.factories.accounts import AccountFactory
from tests.factories.tasks import task_in
from domain import clock

STATUSES = list(TaskStatus)
ACTIONS = ["acknowledge", "cancel", "close_submission", "review", "close", "update"]
LEGAL = {(a, s) for a, moves in TRANSITIONS.items() for s in moves} | {("update", TaskStatus.PLANNED)}
REFUSED = [(a, s) for a in ACTIONS for s in STATUSES if (a, s) not in LEGAL]


@pytest.fixture
def forms(settings):
    load_shipped_forms()


def actor(world, persona):
    return actor_for(world.accounts[persona])


def plan(world, persona="supervisor_east", **overrides):
    now = clock.now()
    data = dict(mode="open", title="水务局窗口明查", form_id="open_check_service_hall",
                target_unit_id=world.id("water"), site_id=world.id("site_water"),
                inspector_ids=[str(world.accounts["inspector_east"].pk)],
                starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1))
    data.update(overrides)
    return services.plan_task(actor(world, persona), **data)


def pool_inspector(world, home_key, username="inspector_two"):
    return AccountFactory(username=username, home_unit=world.units[home_key].pk,
                          pool_offices=[world.units["office_east"].pk])


def unit_under(world, key, parent_key, kind=UnitKind.ORGANISATION, code="PJSW-BGS"):
    parent = world.unit(parent_key)
    unit = Unit(code=code, name="水务局办公室", kind=kind, parent=parent.pk, ancestors=[*parent.ancestors, parent.pk])
    storage.atomic(lambda tx: tx.insert(unit))
    world.units[key] = unit
    return unit


def act(world, task, action):
    sup, insp = actor(world, "supervisor_east"), actor(world, "inspector_east")
    return {
        "acknowledge": lambda: services.acknowledge_task(insp, task.pk),
        "cancel": lambda: services.cancel_task(sup, task.pk, "天气原因"),
        "close_submission": lambda: services.close_submission(sup, task.pk),
        "review": lambda: services.review_task(sup, task.pk),
        "close": lambda: services.close_task(sup, task.pk),
        "update": lambda: services.update_task(sup, task.pk, title="改"),
    }[action]()


def test_planning_pins_the_form_copies_the_site_and_audits_on_the_office_chain(world, forms):
    task = plan(world)
    stored = Task.objects.get(pk=task.pk)
    assert stored.status is TaskStatus.PLANNED and stored.office == world.unit("office_east").pk
    assert stored.office_name == "蓬江区督查室" and stored.target_name == "蓬江区水务局"
    assert (stored.form_id, stored.form_version) == ("open_check_service_hall", 2) and len(stored.form_hash) == 64
    assert (stored.site.site, stored.site.lon, stored.site.lat, stored.site.radius_m) == (
        world.unit("site_water").pk, 113.0780, 22.5790, 100)
    assert stored.site.address == "江门市蓬江区建设路 1 号"
    assert stored.inspectors == [world.accounts["inspector_east"].pk] and stored.sync_seq == sync.current_seq() >= 1
    assert [(h.from_status, h.to_status) for h in stored.history] == [(None, "planned")]
    event = AuditEvent.objects.get(action="task.plan")
    assert event.chain == world.id("office_east") and event.target_type == "task"
    assert event.target_id == str(task.pk) and event.target_unit == world.id("water")


def test_the_newest_form_version_is_pinned_when_none_is_named_and_a_missing_one_is_refused(world, forms):
    assert plan(world, form_version=None).form_version == 2
    with pytest.raises(FormVersionNotFoundError):
        plan(world, form_version=9)
    with pytest.raises(FormVersionNotFoundError):
        plan(world, form_id="no_such_form")


def test_an_undercover_form_cannot_serve_an_open_task_but_an_any_form_serves_both(world, forms):
    with pytest.raises(TaskFormModeMismatchError):
        plan(world, form_id="undercover_mystery_visit")
    assert plan(world, mode="undercover", form_id="work_discipline_office").mode == "undercover"


def test_a_window_must_start_before_it_ends_and_end_in_the_future(world, forms):
    now = clock.now()
    with pytest.raises(TaskWindowInvalidError):
        plan(world, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=1))
    with pytest.raises(TaskWindowInvalidError):
        plan(world, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))


def test_a_target_outside_the_jurisdiction_is_not_found_for_the_planner(world, forms):
    with pytest.raises(UnitNotFoundError):
        plan(world, target_unit_id=world.id("market_west"))
    with pytest.raises(UnitNotFoundError):
        plan(world, site_id=world.id("site_west"))
    assert Task.objects.count() == 0


def test_the_target_must_be_an_organisation_and_the_site_a_site(world, forms):
    with pytest.raises(TaskUnitRuleError) as target:
        plan(world, target_unit_id=world.id("east"))
    assert target.value.params["field"] == "target_unit_id"
    with pytest.raises(TaskUnitRuleError) as site:
        plan(world, site_id=world.id("water"))
    assert site.value.params["field"] == "site_id"


def test_an_inspector_outside_the_office_pool_is_refused(world, forms):
    outsider = AccountFactory(username="inspector_west", home_unit=world.units["west"].pk,
                              pool_offices=[world.units["office_west"].pk])
    for account_id in (str(outsider.pk), str(world.accounts["supervisor_east"].pk), "0" * 24):
        with pytest.raises(TaskInspectorNotInPoolError) as err:
            plan(world, inspector_ids=[account_id])
        assert err.value.params["inspector"] == account_id
    disabled = AccountFactory(username="inspector_off", home_unit=world.units["west"].pk, disabled=True,
                              pool_offices=[world.units["office_east"].pk])
    with pytest.raises(TaskInspectorNotInPoolError):
        plan(world, inspector_ids=[str(disabled.pk)])


@pytest.mark.parametrize("relation", ["home", "subtree", "parent"])
def test_an_inspector_is_never_sent_to_their_home_unit_its_subtree_or_its_parent(world, forms, relation):
    if relation == "home":
        home = "water"  # the target itself
    elif relation == "subtree":
        home = "east"  # 水务局 lies below 蓬江区
    else:
        home = unit_under(world, "water_office", "water") and "water_office"  # 水务局 is its parent
    inspector = pool_inspector(world, home)
    with pytest.raises(TaskConflictOfInterestError) as err:
        plan(world, inspector_ids=[str(world.accounts["inspector_east"].pk), str(inspector.pk)])
    assert err.value.params["inspector"] == str(inspector.pk) and err.value.params["username"] == "inspector_two"
    assert err.value.params["relation"] == relation and Task.objects.count() == 0


def test_an_inspector_working_elsewhere_in_the_district_may_be_assigned(world, forms):
    other = pool_inspector(world, "hall_east")  # a sibling of 水务局, not its parent
    assert plan(world, inspector_ids=[str(other.pk)]).inspectors == [other.pk]


def test_the_whole_lifecycle_records_each_transition_and_numbers_each_write(world, forms):
    second = pool_inspector(world, "hall_east")
    task = plan(world, inspector_ids=[str(world.accounts["inspector_east"].pk), str(second.pk)])
    seqs = [task.sync_seq]
    task = services.acknowledge_task(actor(world, "inspector_east"), task.pk)
    assert task.status is TaskStatus.IN_PROGRESS and task.assignment_of(world.accounts["inspector_east"].pk).acknowledged_at
    seqs.append(task.sync_seq)
    task = services.acknowledge_task(actor_for(second), task.pk)  # recorded only
    assert task.status is TaskStatus.IN_PROGRESS and task.assignment_of(second.pk).acknowledged_at
    seqs.append(task.sync_seq)
    again = services.acknowledge_task(actor_for(second), task.pk)  # a phone retrying: nothing written
    assert again.sync_seq == task.sync_seq
    sup = actor(world, "supervisor_east")
    for call in (services.close_submission, services.review_task, services.close_task):
        task = call(sup, task.pk)
        seqs.append(task.sync_seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    stored = Task.objects.get(pk=task.pk)
    assert [(h.from_status, h.to_status) for h in stored.history] == [
        (None, "planned"), ("planned", "in_progress"), ("in_progress", "submitted"),
        ("submitted", "reviewed"), ("reviewed", "closed")]
    assert stored.history[1].by == str(world.accounts["inspector_east"].pk) and stored.history[1].by_role == "inspector"
    assert stored.submitted_at is not None
    actions = [e.action for e in AuditEvent.objects(target_type="task").order_by("seq")]
    assert actions == ["task.plan", "task.acknowledge", "task.acknowledge", "task.close-submission",
                       "task.review", "task.close"]


def test_the_refused_moves_are_every_status_and_action_pair_but_the_legal_ones():
    assert len(REFUSED) == len(STATUSES) * len(ACTIONS) - 8 == 28


@pytest.mark.parametrize("action,status", REFUSED, ids=lambda v: str(v))
def test_every_move_the_status_machine_does_not_allow_is_refused(world, status, action):
    task = task_in(world, status=status)
    expected = TaskNotEditableError if action == "update" else TaskTransitionError
    with pytest.raises(expected) as err:
        act(world, task, action)
    if action != "update":
        assert err.value.code == "task.illegal-transition" and err.value.params["from"] == str(status)
    else:
        assert err.value.code == "task.not-editable" and err.value.params["status"] == str(status)
    stored = Task.objects.get(pk=task.pk)
    assert stored.status is status and stored.sync_seq == task.sync_seq


@pytest.mark.parametrize("status", [TaskStatus.PLANNED, TaskStatus.IN_PROGRESS], ids=str)
def test_a_task_is_cancelled_from_planned_or_in_progress_with_a_reason(world, status):
    task = task_in(world, status=status)
    sup = actor(world, "supervisor_east")
    with pytest.raises(TaskReasonRequiredError):
        services.cancel_task(sup, task.pk, "   ")
    done = services.cancel_task(sup, task.pk, "防汛值班，改期")
    assert done.status is TaskStatus.CANCELLED and done.cancel_reason == "防汛值班，改期"
    assert done.history[-1].reason == "防汛值班，改期" and done.sync_seq > task.sync_seq


def test_only_a_planned_task_is_updated_and_unassigned_inspectors_are_remembered(world, forms):
    second = pool_inspector(world, "hall_east")
    task = plan(world)
    sup = actor(world, "supervisor_east")
    task = services.update_task(sup, task.pk, title="改期后的明查", inspector_ids=[str(second.pk)])
    assert task.title == "改期后的明查" and task.inspectors == [second.pk]
    assert task.former_inspectors == [world.accounts["inspector_east"].pk]
    task = services.update_task(sup, task.pk, inspector_ids=[str(second.pk), str(world.accounts["inspector_east"].pk)])
    assert task.former_inspectors == [] and len(task.assignments) == 2
    services.acknowledge_task(actor_for(second), task.pk)
    with pytest.raises(TaskNotEditableError):
        services.update_task(sup, task.pk, title="开始后不能改")


def test_supervisors_of_another_office_and_unassigned_inspectors_do_not_find_the_task(world, forms):
    task = plan(world)
    with pytest.raises(TaskNotFoundError):
        services.cancel_task(actor(world, "supervisor_west"), task.pk, "越权")
    with pytest.raises(TaskNotFoundError):
        services.read_task(actor(world, "supervisor_west"), task.pk)
    stranger = pool_inspector(world, "hall_east")
    with pytest.raises(TaskNotFoundError):
        services.acknowledge_task(actor_for(stranger), task.pk)
    assert Task.objects.get(pk=task.pk).status is TaskStatus.PLANNED


def test_the_last_outstanding_report_submits_and_a_late_one_reopens_nothing(world, forms):
    second = pool_inspector(world, "hall_east")
    task = plan(world, inspector_ids=[str(world.accounts["inspector_east"].pk), str(second.pk)])
    first = services.mark_reported(SYSTEM, task.pk, world.accounts["inspector_east"].pk)
    assert first.task.status is TaskStatus.IN_PROGRESS and first.changed and not first.late
    last = services.mark_reported(actor_for(second), task.pk, second.pk)
    assert last.task.status is TaskStatus.SUBMITTED and last.task.submitted_at is not None
    repeat = services.mark_reported(SYSTEM, task.pk, second.pk)
    assert not repeat.changed and repeat.task.sync_seq == last.task.sync_seq


def test_a_report_after_submission_was_closed_is_recorded_as_late(world, forms):
    second = pool_inspector(world, "hall_east")
    task = plan(world, inspector_ids=[str(world.accounts["inspector_east"].pk), str(second.pk)])
    services.acknowledge_task(actor(world, "inspector_east"), task.pk)
    services.close_submission(actor(world, "supervisor_east"), task.pk)
    late = services.mark_reported(SYSTEM, task.pk, second.pk)
    assert late.late and late.changed and late.task.status is TaskStatus.SUBMITTED
    assert late.task.assignment_of(second.pk).reported_at is not None


def test_the_sync_counter_is_created_on_first_use_and_numbers_concurrent_writes_uniquely(world, forms):
    storage.database()["counters"].delete_many({})
    tasks = [task_in(world) for _ in range(4)]
    errors = []

    def acknowledge(task):
        try:
            services.acknowledge_task(actor(world, "inspector_east"), task.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=acknowledge, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = sorted(Task.objects.get(pk=t.pk).sync_seq for t in tasks)
    assert seqs == list(range(5, 9)) and sync.current_seq() == 8
