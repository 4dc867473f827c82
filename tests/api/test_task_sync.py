"""/api/v1/sync/tasks: the phone's baseline with its ETag, deltas by sync token, removal markers,
and no write skipped when it commits while a sync runs."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from domain.clock import FixedClock
from domain import storage
from domain.accounts.services import actor_for
from domain.tasks import services, sync
from domain.tasks.models import Task
from tests.factories.accounts import AccountFactory
from tests.factories.tasks import task_in
from domain import clock

URL = "/api/v1/sync/tasks"


def full(client, world, persona="inspector_east", **headers):
    return client.get(URL, headers={**world.headers(persona), **headers})


def delta(client, world, token, persona="inspector_east"):
    resp = client.get(URL, query_string={"updated_since": token}, headers=world.headers(persona))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def supervisor(world):
    return actor_for(world.accounts["supervisor_east"])


def test_a_full_sync_returns_the_active_set_whole_with_site_and_form(client, world):
    now = clock.now()
    planned, started = task_in(world), task_in(world, in_progress=True)
    recent = task_in(world, submitted=True, now=now - timedelta(days=6))
    task_in(world, reviewed=True, now=now - timedelta(days=8))  # submitted too long ago
    task_in(world, cancelled=True)
    task_in(world, accounts=[AccountFactory(home_unit=world.unit("hall_east").pk)])  # someone else's
    resp = full(client, world)
    assert resp.status_code == 200 and resp.headers["ETag"].startswith('W/"')
    body = resp.get_json()
    assert body["full"] is True and body["removed"] == [] and body["sync_token"]
    assert [t["id"] for t in body["tasks"]] == [str(planned.pk), str(started.pk), str(recent.pk)]
    first = body["tasks"][0]
    assert first["site"] == {"id": world.id("site_water"), "name": "蓬江区水务局服务窗口",
                             "address": "江门市蓬江区建设路 1 号",
                             "location": {"lon": 113.078, "lat": 22.579, "crs": "wgs84"}, "radius_m": 100}
    assert first["form"]["href"] == "/api/v1/forms/open_check_service_hall/versions/2"
    assert first["form"]["content_hash"] == planned.form_hash


def test_an_unchanged_set_is_a_304_without_a_body_and_a_change_gives_a_new_etag(client, world):
    task = task_in(world)
    etag = full(client, world).headers["ETag"]
    again = full(client, world, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    task_in(world, accounts=[AccountFactory(home_unit=world.unit("hall_east").pk)])  # not mine: still 304
    assert full(client, world, **{"If-None-Match": etag}).status_code == 304
    services.update_task(supervisor(world), task.pk, title="新标题")
    changed = full(client, world, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["tasks"][0]["title"] == "新标题"


def test_a_delta_brings_changes_then_nothing(client, world):
    kept = task_in(world)
    token = full(client, world).get_json()["sync_token"]
    quiet = delta(client, world, token)
    assert quiet == {"full": False, "sync_token": quiet["sync_token"], "tasks": [], "removed": []}
    services.update_task(supervisor(world), kept.pk, title="改了")
    new = task_in(world, in_progress=True)
    changed = delta(client, world, quiet["sync_token"])
    assert [(t["id"], t["title"]) for t in changed["tasks"]] == [(str(kept.pk), "改了"), (str(new.pk), new.title)]
    assert delta(client, world, changed["sync_token"])["tasks"] == []


def test_a_cancellation_and_an_unassignment_arrive_as_removal_markers(client, world):
    partner = AccountFactory(username="inspector_two", home_unit=world.unit("hall_east").pk,
                             pool_offices=[world.unit("office_east").pk])
    doomed, shared = task_in(world), task_in(world, accounts=[world.accounts["inspector_east"], partner])
    token = full(client, world).get_json()["sync_token"]
    partner_token = sync.sync_tasks(actor_for(partner)).sync_token
    services.cancel_task(supervisor(world), doomed.pk, "改期")
    services.update_task(supervisor(world), shared.pk, inspector_ids=[str(partner.pk)])
    mine = delta(client, world, token)
    assert mine["tasks"] == []
    assert mine["removed"] == [{"id": str(doomed.pk), "removed": True, "reason": "cancelled"},
                               {"id": str(shared.pk), "removed": True, "reason": "unassigned"}]
    theirs = sync.sync_tasks(actor_for(partner), partner_token)  # the partner's phone gets the task itself
    assert [t.pk for t in theirs.tasks] == [shared.pk] and theirs.removed == []
    assert theirs.tasks[0].inspectors == [partner.pk]


def test_a_task_submitted_long_enough_ago_leaves_as_expired(world, settings):
    task = task_in(world, submitted=True)
    me = actor_for(world.accounts["inspector_east"])
    first = sync.sync_tasks(me)
    assert [t.pk for t in first.tasks] == [task.pk]
    later = clock.now() + timedelta(days=settings.sync_submitted_days, minutes=1)
    with clock.using(FixedClock(later)) as moved:
        gone = sync.sync_tasks(me, first.sync_token)
        assert gone.tasks == [] and gone.removed == [{"id": str(task.pk), "removed": True, "reason": "expired"}]
        assert sync.sync_tasks(me).tasks == []
        moved.advance(timedelta(minutes=1))
        assert sync.sync_tasks(me, gone.sync_token).removed == []


@pytest.mark.parametrize("token,reason", [("not base64!", "malformed"), ("e30", "malformed"),
                                          (sync.encode_token(10 ** 6, clock.now()), "unknown")],
                         ids=["not-base64", "empty-json", "sequence-from-the-future"])
def test_a_token_this_server_did_not_issue_is_a_422(client, world, token, reason):
    resp = client.get(URL, query_string={"updated_since": token}, headers=world.headers("inspector_east"))
    assert resp.status_code == 422 and resp.get_json()["code"] == "sync.token-invalid"
    assert reason in resp.get_json()["detail"]


@pytest.mark.parametrize("persona", ["supervisor_east", "liaison_water", "leader_city", "admin"])
def test_only_inspectors_sync(client, world, persona):
    assert full(client, world, persona).status_code == 403


def test_a_write_committed_while_a_sync_reads_is_picked_up_by_the_next_sync(client, world, monkeypatch):
    task = task_in(world)
    token = full(client, world).get_json()["sync_token"]
    read_counter = sync.current_seq

    def counter_then_concurrent_write():
        seq = read_counter()
        services.update_task(supervisor(world), task.pk, title="同步途中修改")  # commits mid-sync
        return seq
    monkeypatch.setattr(sync, "current_seq", counter_then_concurrent_write)
    during = delta(client, world, token)
    monkeypatch.setattr(sync, "current_seq", read_counter)
    after = delta(client, world, during["sync_token"])
    assert [t["title"] for t in after["tasks"]] == ["同步途中修改"]
    assert Task.objects.get(pk=task.pk).sync_seq > sync.decode_token(
        during["sync_token"], current=sync.current_seq(), now=clock.now())[0]


def test_a_phone_syncing_during_a_stream_of_writes_ends_with_every_last_version(world):
    tasks = [task_in(world) for _ in range(3)]
    me = actor_for(world.accounts["inspector_east"])
    sup = supervisor(world)
    seen: dict[str, int] = {}
    done = threading.Event()

    def writer():
        try:
            for i in range(12):
                services.update_task(sup, tasks[i % 3].pk, title=f"第 {i} 次修改")
        finally:
            done.set()
    result = sync.sync_tasks(me)
    seen.update({str(t.pk): t.sync_seq for t in result.tasks})
    token = result.sync_token
    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        step = sync.sync_tasks(me, token)
        seen.update({str(t.pk): t.sync_seq for t in step.tasks})
        token = step.sync_token
    thread.join()
    final = sync.sync_tasks(me, token)
    seen.update({str(t.pk): t.sync_seq for t in final.tasks})
    assert seen == {str(t.pk): Task.objects.get(pk=t.pk).sync_seq for t in tasks}
