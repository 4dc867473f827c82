"""Report intake without HTTP: idempotency, one report per inspector, answers per item, what is kept
(late) and what is refused, positions, the task mark, and evidence arriving until the report is received."""
from __future__ import annotations

import io
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from domain import storage
from domain.accounts.services import actor_for
from domain.audit import AuditEvent
from domain.errors import (EvidenceNotDeclaredError, Forbidden, ReportAlreadySubmittedError, ReportFormMismatchError,
                           ReportInvalidError, ReportOutsideAssignmentError, ReportSubmissionConflictError,
                           TaskNotFoundError, UploadHashMismatchError)
from domain.forms import load_shipped_forms
from domain.evidence import blob_store
from domain.outbox import OutboxEntry
from domain.reports import Evidence, Report, ReportStatus, services
from domain.reports.rules import payload_sha256
from domain.tasks import Task, TaskStatus
from domain.tasks import services as tasks
from domain.uploads import Upload
from tests.factories.accounts import AccountFactory
from tests.factories.reports import (as_kwargs, clean_answers, declare, form_content, photo, photos_for,
                                     report_body, sha)
from tests.factories.tasks import task_in
from domain import clock

VALIDATE = "workers.evidence.validate_report"


@pytest.fixture(autouse=True)
def forms(settings):
    load_shipped_forms()
    shutil.rmtree(settings.data_dir / "blobs", ignore_errors=True)


def actor(world, persona="inspector_east"):
    return actor_for(world.accounts[persona])


def submit(world, task, photos=None, persona="inspector_east", **overrides):
    body = report_body(task, photos if photos is not None else photos_for(task), **overrides)
    return services.submit_report(actor(world, persona), **as_kwargs(body))


def send(world, report, client_id, data, persona="inspector_east"):
    return services.put_evidence(actor(world, persona), report.pk, client_id, stream=io.BytesIO(data),
                                 content_length=len(data))


def validations(report) -> list:
    return list(OutboxEntry.objects(job=VALIDATE, args=[str(report.pk)]))


def test_a_submitted_report_pins_its_form_version_and_waits_for_its_declared_files(world):
    task = task_in(world)
    result = submit(world, task)
    report = Report.objects.get(pk=result.report.pk)
    assert result.replayed is False
    assert report.status is ReportStatus.INCOMPLETE and report.completed_at is None
    assert (report.form_id, report.form_version) == ("open_check_service_hall", task.form_version)
    assert {f.client_id for f in report.files} == {"fee_schedule_photo-1", "scene_photos-1", "scene_photos-2"}
    assert report.late is False and report.received_at is not None
    assert validations(report) == []  # nothing to validate before the files are here
    assert AuditEvent.objects(action="report.submit", target_id=str(report.pk)).count() == 1


def test_the_first_report_starts_a_planned_task_and_the_last_outstanding_one_submits_it(world):
    second = AccountFactory(username="inspector_two", home_unit=world.unit("office_city").pk,
                            pool_offices=[world.unit("office_east").pk])
    task = task_in(world, accounts=[world.accounts["inspector_east"], second])
    submit(world, task)
    assert Task.objects.get(pk=task.pk).status is TaskStatus.IN_PROGRESS
    services.submit_report(actor_for(second), **as_kwargs(report_body(task, photos_for(task, start=10))))
    assert Task.objects.get(pk=task.pk).status is TaskStatus.SUBMITTED


def test_the_same_submission_id_and_payload_returns_the_same_report(world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    first = services.submit_report(actor(world), **as_kwargs(body))
    again = services.submit_report(actor(world), **as_kwargs(body))
    assert again.replayed is True and again.report.pk == first.report.pk
    assert Report.objects.count() == 1


def test_the_payload_hash_ignores_key_order_time_zones_nulls_and_integral_floats():
    a = {"b": 1.0, "a": {"at": "x", "n": None}, "t": datetime(2026, 3, 2, 9, 15, tzinfo=timezone(timedelta(hours=8)))}
    b = {"t": datetime(2026, 3, 2, 1, 15, tzinfo=timezone.utc), "a": {"at": "x"}, "b": 1}
    assert payload_sha256(a) == payload_sha256(b)
    assert payload_sha256(a) != payload_sha256({**b, "b": 2})


def test_a_changed_payload_under_the_same_submission_id_is_a_conflict(world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    first = services.submit_report(actor(world), **as_kwargs(body))
    changed = {**body, "answers": {**body["answers"], "attire_proper": False}}
    with pytest.raises(ReportSubmissionConflictError) as caught:
        services.submit_report(actor(world), **as_kwargs(changed))
    assert caught.value.params["report"] == str(first.report.pk)


def test_a_second_report_of_the_inspector_under_another_submission_id_names_the_first(world):
    task = task_in(world)
    first = submit(world, task)
    with pytest.raises(ReportAlreadySubmittedError) as caught:
        submit(world, task)
    assert caught.value.params["report"] == str(first.report.pk)
    assert caught.value.params["submission_id"] == first.report.submission_id


def test_answers_are_checked_against_the_pinned_version_item_by_item(world):
    task = task_in(world)
    answers, _ = clean_answers(form_content(task))
    answers.update(staff_on_post="yes", attitude_score=9, no_such_item=1)
    del answers["windows_open"]
    photos = photos_for(task)
    photos.pop("scene_photos-2")
    with pytest.raises(ReportInvalidError) as caught:
        submit(world, task, photos, answers=answers, findings=[
            {"id": "f1", "item": "badge_worn", "category": "no_such_category", "description": "未佩戴工牌",
             "severity": "medium"}])
    errors = caught.value.params["_errors"]
    assert errors["staff_on_post"] == [{"code": "wrong-type", "expected": "boolean"}]
    assert errors["attitude_score"][0]["code"] == "out-of-range"
    assert errors["windows_open"] == [{"code": "required"}]
    assert errors["no_such_item"] == [{"code": "unknown-item"}]
    assert errors["scene_photos"] == [{"code": "too-few-photos", "min": 2, "count": 1}]
    # badge_worn was answered "yes" (no problem): a finding on it is refused as well.
    assert [e["code"] for e in errors["badge_worn"]] == ["finding-not-a-problem", "finding-unknown-category"]
    assert Report.objects.count() == 0


def test_photos_of_a_finding_count_for_its_item(world):
    task = task_in(world)
    answers, _ = clean_answers(form_content(task))
    answers["badge_worn"] = False  # a problem that needs one photo
    photos = photos_for(task)
    data = photo(50)
    body = report_body(task, photos, answers=answers, findings=[
        {"id": "f1", "item": "badge_worn", "category": "window_discipline.attire", "description": "两名工作人员未佩戴工牌",
         "severity": "medium", "location": {"lat": 22.5791, "lon": 113.0781}}])
    with pytest.raises(ReportInvalidError) as caught:
        services.submit_report(actor(world), **as_kwargs(body))
    assert caught.value.params["_errors"] == {"badge_worn": [{"code": "photos-when-problem", "min": 1, "count": 0}]}
    body["evidence"].append(declare("badge-1", data, finding="f1"))
    report = services.submit_report(actor(world), **as_kwargs(body)).report
    assert report.findings[0].client_id == "f1" and report.findings[0].location.input["crs"] == "wgs84"


def test_a_file_for_an_unknown_finding_is_refused_under_its_client_id(world):
    task = task_in(world)
    photos = photos_for(task)
    body = report_body(task, photos)
    body["evidence"].append(declare("stray", photo(60), finding="nope"))
    with pytest.raises(ReportInvalidError) as caught:
        services.submit_report(actor(world), **as_kwargs(body))
    assert caught.value.params["_errors"]["evidence.stray"] == [{"code": "unknown-finding", "finding": "nope"}]


def test_a_report_answering_another_form_is_refused(world):
    task = task_in(world)
    with pytest.raises(ReportFormMismatchError):
        submit(world, task, form_id="work_discipline_office")


@pytest.mark.parametrize("step", ["close_submission", "review"])
def test_a_report_after_submission_was_closed_or_reviewed_is_kept_flagged_late_and_reopens_nothing(world, step):
    second = AccountFactory(username="inspector_two", home_unit=world.unit("office_city").pk,
                            pool_offices=[world.unit("office_east").pk])
    task = task_in(world, accounts=[world.accounts["inspector_east"], second], in_progress=True)
    supervisor = actor(world, "supervisor_east")
    tasks.close_submission(supervisor, task.pk)
    if step == "review":
        tasks.review_task(supervisor, task.pk)
    status = Task.objects.get(pk=task.pk).status
    report = submit(world, task).report
    assert report.late is True and [str(r) for r in report.late_reasons] == ["after-submission"]
    assert Task.objects.get(pk=task.pk).status is status
    assert Task.objects.get(pk=task.pk).assignment_of(world.accounts["inspector_east"].pk).reported_at is not None


def test_a_report_after_the_window_is_kept_and_flagged_late(world):
    task = task_in(world, starts_at=clock.now() - timedelta(days=2), ends_at=clock.now() - timedelta(days=1))
    report = submit(world, task, visited_at=(clock.now() - timedelta(days=1, hours=3)).isoformat()).report
    assert report.late is True and [str(r) for r in report.late_reasons] == ["after-window"]


def test_an_inspector_not_assigned_to_the_task_is_refused(world):
    other = AccountFactory(username="inspector_other", home_unit=world.unit("office_city").pk,
                           pool_offices=[world.unit("office_east").pk])
    task = task_in(world)
    with pytest.raises(TaskNotFoundError):
        services.submit_report(actor_for(other), **as_kwargs(report_body(task, photos_for(task))))
    assert Report.objects.count() == 0


def test_a_task_cancelled_before_the_declared_visit_refuses_the_report(world):
    task = task_in(world)
    tasks.cancel_task(actor(world, "supervisor_east"), task.pk, "计划调整")
    with pytest.raises(ReportOutsideAssignmentError) as caught:
        submit(world, task, visited_at=clock.now().isoformat())
    assert caught.value.params["reason"] == "cancelled-before-visit"
    assert Report.objects.count() == 0


def test_a_task_cancelled_after_the_declared_visit_keeps_the_report_flagged(world):
    task = task_in(world)
    visited = clock.now() - timedelta(minutes=30)
    tasks.cancel_task(actor(world, "supervisor_east"), task.pk, "计划调整")
    report = submit(world, task, visited_at=visited.isoformat()).report
    assert [str(r) for r in report.late_reasons] == ["task-cancelled"]
    assert Task.objects.get(pk=task.pk).status is TaskStatus.CANCELLED


def test_positions_in_gcj02_are_stored_in_wgs84_beside_the_original(world):
    task = task_in(world)
    fix = {"lat": 22.5760, "lon": 113.0830, "accuracy_m": 5, "crs": "gcj02", "at": clock.now().isoformat()}
    report = submit(world, task, fixes=[fix]).report
    stored = Report.objects.get(pk=report.pk).fixes[0]
    assert stored.input == {"crs": "gcj02", "lon": 113.083, "lat": 22.576}
    assert 0.001 < abs(stored.lon - 113.083) < 0.01 and 0.001 < abs(stored.lat - 22.576) < 0.01
    assert stored.accuracy_m == 5


def test_the_report_is_received_exactly_when_its_last_declared_file_arrives(world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(world, task, photos).report
    ids = list(photos)
    for client_id in ids[:-1]:
        put = send(world, report, client_id, photos[client_id][1])
        assert put.created and put.report.status is ReportStatus.INCOMPLETE
        assert validations(report) == []
    last = send(world, report, ids[-1], photos[ids[-1]][1])
    assert last.report.status is ReportStatus.RECEIVED and last.report.completed_at is not None
    assert len(validations(report)) == 1
    assert Evidence.objects(report=report.pk).count() == 3
    assert AuditEvent.objects(action="report.receive", target_id=str(report.pk)).count() == 1


def test_sending_a_received_file_again_stores_nothing_new(world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(world, task, photos).report
    client_id, (_decl, data) = next(iter(photos.items()))
    first = send(world, report, client_id, data)
    again = send(world, report, client_id, data)
    assert again.created is False and again.evidence.pk == first.evidence.pk
    assert Evidence.objects(report=report.pk).count() == 1


def test_bytes_that_do_not_hash_to_the_declaration_leave_no_evidence_and_no_blob(world):
    task = task_in(world)
    photos = photos_for(task)
    report = submit(world, task, photos).report
    client_id, (declared, data) = next(iter(photos.items()))
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF  # one flipped byte, as a bad network would
    with pytest.raises(UploadHashMismatchError):
        send(world, report, client_id, bytes(damaged))
    assert Evidence.objects.count() == 0 and Upload.objects.count() == 0
    assert not blob_store().exists(declared["sha256"]) and not blob_store().exists(sha(bytes(damaged)))
    assert Report.objects.get(pk=report.pk).file(client_id).evidence is None


def test_only_declared_files_are_taken(world):
    task = task_in(world)
    report = submit(world, task).report
    with pytest.raises(EvidenceNotDeclaredError):
        send(world, report, "undeclared", photo(5))


def test_only_an_inspector_submits_reports(world):
    task = task_in(world)
    with pytest.raises(Forbidden):
        services.submit_report(actor(world, "supervisor_east"), **as_kwargs(report_body(task, photos_for(task))))


def test_a_number_the_database_cannot_store_is_an_item_error_not_a_crash(world):
    task = task_in(world)
    answers, _ = clean_answers(form_content(task))
    answers["windows_open"] = 10**30
    with pytest.raises(ReportInvalidError) as caught:
        submit(world, task, answers=answers)
    assert caught.value.params["_errors"] == {"windows_open": [{"code": "number-too-large"}]}
