"""POST/GET /api/v1/reports through the test client: idempotent retries, races on the unique indexes,
per-item errors, what is refused, what is kept late, and who reads which report."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from domain import storage
from domain.forms import load_shipped_forms
from domain.reports import Report
from tests.factories.reports import clean_answers, form_content, photos_for, report_body
from tests.factories.tasks import task_in
from domain import clock
from tests.api.problems import problem

URL = "/api/v1/reports"


@pytest.fixture(autouse=True)
def forms(settings):
    load_shipped_forms()


def post(client, world, body, persona="inspector_east", lang=None):
    return client.post(URL, json=body, headers=world.headers(persona, lang))


def race(app, world, bodies, persona="inspector_east"):
    """Send ``bodies`` at once, one thread and one client each; the responses in order."""
    headers = world.headers(persona)
    gate = threading.Barrier(len(bodies))
    out = [None] * len(bodies)

    def run(i):
        client = app.test_client()
        gate.wait()
        out[i] = client.post(URL, json=bodies[i], headers=headers)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_a_report_is_created_and_a_retry_replays_the_same_body(client, world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    first = post(client, world, body)
    assert first.status_code == 201, first.get_data(as_text=True)
    created = first.get_json()
    assert created["status"] == "incomplete" and created["missing"] == 3 and created["late"] is False
    assert created["submission_id"] == body["submission_id"] and created["task_id"] == str(task.pk)
    assert created["form"]["form_id"] == "open_check_service_hall" and created["form"]["version"] == task.form_version
    assert created["device"] == body["device"] and created["received_at"]
    assert [f["received"] for f in created["evidence"]] == [False, False, False]
    again = post(client, world, body)
    assert again.status_code == 200
    assert again.get_json() == created


def test_a_changed_payload_under_the_same_submission_id_is_409(client, world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    first = post(client, world, body).get_json()
    changed = {**body, "device_time": (clock.now() + timedelta(seconds=5)).isoformat()}
    problem_body = problem(post(client, world, changed, lang="en"), 409, "report.submission-conflict")
    assert first["id"] in problem_body["detail"]
    assert Report.objects.count() == 1


def test_concurrent_retries_of_one_submission_create_exactly_one_report(app, world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    responses = race(app, world, [body] * 4)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 200, 201], [r.get_data(as_text=True)[:200] for r in responses]
    assert len({r.get_json()["id"] for r in responses}) == 1
    assert Report.objects.count() == 1


def test_concurrent_reports_of_one_inspector_for_one_task_leave_one_and_name_it(app, world):
    task = task_in(world)
    photos = photos_for(task)
    responses = race(app, world, [report_body(task, photos) for _ in range(3)])
    won = [r for r in responses if r.status_code == 201]
    lost = [r for r in responses if r.status_code == 409]
    assert len(won) == 1 and len(lost) == 2, [r.get_data(as_text=True)[:200] for r in responses]
    winner = won[0].get_json()["id"]
    assert all(r.get_json()["code"] == "report.already-submitted" and winner in r.get_json()["detail"] for r in lost)
    assert Report.objects.count() == 1


def test_a_second_report_under_another_submission_id_is_409_naming_the_first(client, world):
    task = task_in(world)
    photos = photos_for(task)
    first = post(client, world, report_body(task, photos)).get_json()
    second = problem(post(client, world, report_body(task, photos)), 409, "report.already-submitted")
    assert first["id"] in second["detail"] and first["submission_id"] in second["detail"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_wrong_answers_are_422_with_errors_keyed_by_item(client, world, lang):
    task = task_in(world)
    answers, _ = clean_answers(form_content(task))
    answers.update(civil_language="yes", windows_open=-1)
    answers.pop("check_time")
    body = problem(post(client, world, report_body(task, photos_for(task), answers=answers), lang=lang),
                   422, "report.invalid")
    assert body["errors"] == {"civil_language": [{"code": "wrong-type", "expected": "boolean"}],
                              "windows_open": [{"code": "out-of-range", "min": 0, "max": None}],
                              "check_time": [{"code": "required"}]}
    assert "3" in body["detail"] and body["title"]


def test_a_file_naming_both_an_item_and_a_finding_is_a_shape_error(client, world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    body["evidence"][0]["finding"] = "f1"
    problem(post(client, world, body), 422, "request.invalid")


def test_an_inspector_not_assigned_gets_404_and_a_cancelled_task_before_the_visit_422(client, world):
    from tests.factories.tasks import TaskFactory

    west = TaskFactory(office_unit=world.unit("office_west"), target=world.unit("market_west"),
                       site_unit=world.unit("site_west"), inspector_accounts=[])
    problem(post(client, world, report_body(west, photos_for(west))), 404, "task.not-found")
    task = task_in(world, cancelled=True)
    late_visit = report_body(task, photos_for(task), visited_at=clock.now().isoformat())
    body = problem(post(client, world, late_visit), 422, "report.outside-assignment")
    assert Report.objects.count() == 0
    assert body["status"] == 422


def test_a_report_after_review_is_kept_and_flagged_late(client, world):
    task = task_in(world, reviewed=True)
    resp = post(client, world, report_body(task, photos_for(task)))
    assert resp.status_code == 201
    assert resp.get_json()["late"] is True and resp.get_json()["late_reasons"] == ["after-submission"]
    listed = client.get(f"{URL}?late=true", headers=world.headers("supervisor_east")).get_json()
    assert [r["id"] for r in listed["items"]] == [resp.get_json()["id"]]
    # the supervisor's own task shows who reported late; the task stays reviewed
    seen = client.get(f"/api/v1/tasks/{task.pk}", headers=world.headers("supervisor_east")).get_json()
    assert seen["status"] == "reviewed"
    assert [a["reported_late"] for a in seen["inspectors"]] == [True]


def _submitted(client, world, **task_kwargs) -> str:
    task = task_in(world, **task_kwargs)
    resp = post(client, world, report_body(task, photos_for(task)))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def ids(client, world, persona) -> set[str]:
    resp = client.get(URL, headers=world.headers(persona))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {r["id"] for r in resp.get_json()["items"]}


def test_reports_are_read_within_scope_and_never_by_a_liaison(client, world):
    from tests.factories.accounts import AccountFactory

    open_report = _submitted(client, world)
    partner = AccountFactory(username="inspector_partner", home_unit=world.unit("office_city").pk,
                             pool_offices=[world.unit("office_east").pk])
    # Two inspectors, one reported: the undercover task stays in progress.
    covert = _submitted(client, world, undercover=True, accounts=[world.accounts["inspector_east"], partner])
    assert ids(client, world, "inspector_east") == {open_report, covert}
    assert ids(client, world, "supervisor_east") == {open_report, covert}
    assert ids(client, world, "admin") == {open_report, covert}
    assert ids(client, world, "supervisor_west") == set()
    assert ids(client, world, "leader_city") == {open_report}
    assert client.get(f"{URL}/{covert}", headers=world.headers("leader_city")).status_code == 404
    assert client.get(f"{URL}/{open_report}", headers=world.headers("supervisor_west")).status_code == 404
    problem(client.get(URL, headers=world.headers("liaison_water")), 403, "access.forbidden")
    problem(client.get(f"{URL}/{open_report}", headers=world.headers("liaison_water")), 403, "access.forbidden")
    one = client.get(f"{URL}/{open_report}", headers=world.headers("supervisor_east"))
    assert one.status_code == 200 and one.get_json()["answers"]["check_time"]


def test_a_leader_sees_an_undercover_report_once_its_task_is_submitted(client, world):
    covert = _submitted(client, world, undercover=True)  # the only inspector reported: the task is submitted
    assert client.get(f"{URL}/{covert}", headers=world.headers("leader_city")).status_code == 200


def test_filters_select_by_task_and_status(client, world):
    task = task_in(world)
    report = post(client, world, report_body(task, photos_for(task))).get_json()
    headers = world.headers("supervisor_east")
    assert [r["id"] for r in client.get(f"{URL}?task_id={task.pk}", headers=headers).get_json()["items"]] == [
        report["id"]]
    assert client.get(f"{URL}?status=received", headers=headers).get_json()["items"] == []
    problem(client.get(f"{URL}?cursor=garbage", headers=headers), 422, "pagination.invalid-cursor")
