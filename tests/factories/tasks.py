"""Tasks for tests, written through storage.atomic with a real sync number like every task write.

``TaskFactory`` needs the places: pass ``office``, ``target`` and ``site`` (Units) and ``inspectors``
(Accounts), or use ``task_in(world, ...)`` for the persona world's 水务局 task. Traits set a status
as if the lifecycle had run: ``in_progress``, ``submitted``, ``reviewed``, ``closed``, ``cancelled``;
``undercover`` sets the mode.
"""
from __future__ import annotations

from datetime import timedelta

import factory

from domain import scope, storage
from domain.access import Role
from domain.tasks import sync
from domain.tasks.models import (
    Assignment,
    SiteSnapshot,
    Task,
    TaskMode,
    TaskStatus,
    Transition,
)
from domain import clock

ORDER = (TaskStatus.PLANNED, TaskStatus.IN_PROGRESS, TaskStatus.SUBMITTED, TaskStatus.REVIEWED, TaskStatus.CLOSED)


def _history(status: TaskStatus, at) -> list[Transition]:
    path = [TaskStatus.PLANNED, TaskStatus.CANCELLED] if status is TaskStatus.CANCELLED else \
        list(ORDER[:ORDER.index(status) + 1])
    out, prev = [], None
    for s in path:
        out.append(Transition(at=at, by=None, by_role=str(Role.SUPERVISOR), from_status=prev, to_status=str(s)))
        prev = str(s)
    return out


class TaskFactory(factory.Factory):
    class Meta:
        model = Task
        exclude = ("office_unit", "target", "site_unit", "inspector_accounts", "now")

    now = factory.LazyFunction(clock.now)
    office_unit = None
    target = None
    site_unit = None
    inspector_accounts = factory.LazyFunction(list)

    office = factory.LazyAttribute(lambda o: o.office_unit.pk)
    office_name = factory.LazyAttribute(lambda o: o.office_unit.name)
    mode = TaskMode.OPEN
    title = factory.Faker("sentence", nb_words=4, locale="zh_CN")
    instructions = "按检查表逐项检查。"
    form_id = "open_check_service_hall"
    form_version = 2  # the shipped forms' current version (inspection_forms/)
    form_hash = "0" * 64
    target_unit = factory.LazyAttribute(lambda o: o.target.pk)
    target_name = factory.LazyAttribute(lambda o: o.target.name)
    site = factory.LazyAttribute(lambda o: SiteSnapshot(
        site=o.site_unit.pk, name=o.site_unit.name, address=o.site_unit.address,
        lon=o.site_unit.location["coordinates"][0], lat=o.site_unit.location["coordinates"][1],
        radius_m=o.site_unit.radius_m))
    starts_at = factory.LazyAttribute(lambda o: o.now - timedelta(hours=1))
    ends_at = factory.LazyAttribute(lambda o: o.now + timedelta(days=2))
    assignments = factory.LazyAttribute(lambda o: [
        Assignment(inspector=a.pk, name=a.display_name or a.username, assigned_at=o.now)
        for a in o.inspector_accounts])
    inspectors = factory.LazyAttribute(lambda o: [a.pk for a in o.inspector_accounts])
    status = TaskStatus.PLANNED
    submitted_at = factory.LazyAttribute(
        lambda o: o.now if o.status in (TaskStatus.SUBMITTED, TaskStatus.REVIEWED, TaskStatus.CLOSED) else None)
    cancel_reason = factory.LazyAttribute(lambda o: "计划调整" if o.status is TaskStatus.CANCELLED else None)
    history = factory.LazyAttribute(lambda o: _history(o.status, o.now))
    sync_seq = 0

    class Params:
        in_progress = factory.Trait(status=TaskStatus.IN_PROGRESS)
        submitted = factory.Trait(status=TaskStatus.SUBMITTED)
        reviewed = factory.Trait(status=TaskStatus.REVIEWED)
        closed = factory.Trait(status=TaskStatus.CLOSED)
        cancelled = factory.Trait(status=TaskStatus.CANCELLED)
        undercover = factory.Trait(mode=TaskMode.UNDERCOVER, form_id="undercover_mystery_visit")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        task = model_class(*args, **kwargs)

        def work(tx):
            task.sync_seq = sync.next_seq(tx)
            if not task.scope_units:  # as planning stores it (domain/scope.py)
                task.scope_units = scope.task_scope(task.target_unit, task.site.site, tx.session)
            return tx.insert(task)
        return storage.atomic(work)


def task_in(world, *, inspectors=("inspector_east",), accounts=None, **kwargs) -> Task:
    """A task of 蓬江区督查室 on 蓬江区水务局 at its service window, assigned to the named personas
    (or to ``accounts``, Account documents)."""
    return TaskFactory(office_unit=world.unit("office_east"), target=world.unit("water"),
                       site_unit=world.unit("site_water"),
                       inspector_accounts=accounts if accounts is not None else [world.accounts[i] for i in inspectors],
                       **kwargs)


def plan_body(world, **overrides) -> dict:
    """A POST /api/v1/tasks body: supervisor_east's open check of 水务局 with inspector_east."""
    now = clock.now()
    body = {"mode": "open", "title": "水务局服务窗口明查", "form_id": "open_check_service_hall",
            "target_unit_id": world.id("water"), "site_id": world.id("site_water"),
            "inspector_ids": [str(world.accounts["inspector_east"].pk)],
            "starts_at": (now + timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=1)).isoformat(),
            "instructions": "上午 9 点前到达，先看公示栏。"}
    body.update(overrides)
    return body


def matrix_tasks(world) -> dict[str, str]:
    """For the role matrix: the shipped forms and one task per case, ids kept on the world (``world.task_ids``):
    ``open`` planned, ``covert`` undercover in progress, ``submitted`` undercover submitted, ``reviewed``
    open reviewed (all 蓬江区督查室 on 水务局 with inspector_east) and ``west`` (新会区督查室's own)."""
    if getattr(world, "task_ids", None):
        return world.task_ids
    from domain.forms import load_shipped_forms
    from tests.factories.accounts import AccountFactory

    load_shipped_forms()
    west_inspector = AccountFactory(username="matrix_inspector_west", home_unit=world.unit("east").pk,
                                    pool_offices=[world.unit("office_west").pk])
    world.task_ids = {
        "open": str(task_in(world).pk),
        "covert": str(task_in(world, undercover=True, in_progress=True).pk),
        "submitted": str(task_in(world, undercover=True, submitted=True).pk),
        "reviewed": str(task_in(world, reviewed=True).pk),
        "west": str(TaskFactory(office_unit=world.unit("office_west"), target=world.unit("market_west"),
                                site_unit=world.unit("site_west"), inspector_accounts=[west_inspector]).pk),
    }
    return world.task_ids


def task_path(key: str, suffix: str = ""):
    """A role-matrix path builder: ``/api/v1/tasks/<id of matrix task key><suffix>``."""
    return lambda world: f"/api/v1/tasks/{matrix_tasks(world)[key]}{suffix}"


def task_ids_are(*keys):
    """A role-matrix body check on a task page."""
    def check(world, body):
        names = {v: k for k, v in matrix_tasks(world).items()}
        assert {names.get(t["id"], t["id"]) for t in body["items"]} == set(keys)
    return check


def task_count_is(n: int):
    def check(world, body):
        assert body == {"count": n}
    return check


def staff_view(world, body):
    """A staff body names the inspectors."""
    assert [i["inspector_id"] for i in body["inspectors"]] == [str(world.accounts["inspector_east"].pk)]


def department_view(world, body):
    """A liaison's body names the office and has no inspector field at all."""
    assert "inspectors" not in body and "history" not in body and body["office"]["name"] == "蓬江区督查室"
    assert str(world.accounts["inspector_east"].pk) not in str(body)


def synced_tasks(n: int):
    def check(world, body):
        assert body["full"] is True and len(body["tasks"]) == n and body["sync_token"]
    return check
