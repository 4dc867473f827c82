"""Findings get a random server id at intake, kept on replays and returned in every report body; the
``finding-ids`` migration gives old findings ids once, and a second run changes nothing."""
from __future__ import annotations

from bson import ObjectId
from click.testing import CliRunner

from domain.accounts.services import actor_for
from domain.audit import AuditEvent
from domain.forms import load_shipped_forms
from domain.migrations import MIGRATIONS, run_migrations
from domain.reports import Finding, Report, services
from ops.cli import main
from tests.factories.reports import as_kwargs, clean_answers, declare, form_content, photo, photos_for, report_body, report_in
from tests.factories.tasks import task_in

import pytest


@pytest.fixture(autouse=True)
def forms(settings):
    load_shipped_forms()


def _problem_body(task):
    answers, _ = clean_answers(form_content(task))
    answers["badge_worn"] = False
    photos = photos_for(task)
    body = report_body(task, photos, answers=answers, findings=[
        {"id": "f1", "item": "badge_worn", "category": "window_discipline.attire", "description": "未佩戴工牌",
         "severity": "medium"}])
    body["evidence"].append(declare("badge-1", photo(70), finding="f1"))
    return body


def test_a_finding_gets_a_server_id_at_intake_and_keeps_it_on_a_replay(world):
    task = task_in(world)
    body = _problem_body(task)
    inspector = actor_for(world.accounts["inspector_east"])
    first = services.submit_report(inspector, **as_kwargs(body))
    again = services.submit_report(inspector, **as_kwargs(body))
    assert again.replayed
    ids = [f.id for f in first.report.findings]
    assert len(ids) == 1 and isinstance(ids[0], ObjectId)
    assert [f.id for f in again.report.findings] == ids
    assert Report.objects.get(pk=first.report.pk).findings[0].id == ids[0]


def test_every_report_body_names_each_finding_by_its_server_id_beside_the_phones_id(client, world):
    task = task_in(world)
    body = _problem_body(task)
    headers = world.headers("inspector_east")
    created = client.post("/api/v1/reports", json=body, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    finding = created.get_json()["findings"][0]
    assert finding["client_id"] == "f1"
    assert ObjectId.is_valid(finding["id"])
    replay = client.post("/api/v1/reports", json=body, headers=headers).get_json()
    read = client.get(f"/api/v1/reports/{replay['id']}", headers=world.headers("supervisor_east")).get_json()
    assert replay["findings"][0]["id"] == read["findings"][0]["id"] == finding["id"]


def _legacy_report(world):
    """A report as stored before findings had ids."""
    task = task_in(world)
    return report_in(task, world, findings=[
        Finding(client_id="f1", item="badge_worn", category="window_discipline.attire", description="未佩戴工牌",
                severity="medium"),
        Finding(client_id=None, item="attire_proper", category="window_discipline.attire", description="着装不规范",
                severity="low")])


def test_the_finding_ids_migration_gives_old_findings_ids_once_and_a_second_run_changes_nothing(world):
    assert ("finding-ids", "domain.reports.migrations:add_finding_ids") in MIGRATIONS
    report = _legacy_report(world)
    assert all(f.id is None for f in Report.objects.get(pk=report.pk).findings)
    first = run_migrations(["finding-ids"])["finding-ids"]
    assert first == {"reports": 1, "findings": 2, "skipped": 0}
    stored = Report.objects.get(pk=report.pk)
    ids = [f.id for f in stored.findings]
    assert all(isinstance(i, ObjectId) for i in ids) and len(set(ids)) == 2
    assert [f.client_id for f in stored.findings] == ["f1", None]  # nothing else of a finding changes
    events = AuditEvent.objects(action="report.finding-ids-added").count()
    assert events == 1
    second = run_migrations(["finding-ids"])["finding-ids"]
    assert second == {"reports": 0, "findings": 0, "skipped": 0}
    again = Report.objects.get(pk=report.pk)
    assert [f.id for f in again.findings] == ids and again.rev == stored.rev
    assert AuditEvent.objects(action="report.finding-ids-added").count() == events


def test_inspectctl_migrate_runs_the_finding_ids_migration(world):
    report = _legacy_report(world)
    result = CliRunner().invoke(main, ["migrate", "finding-ids"])
    assert result.exit_code == 0, result.output
    # The command prepares the database first, which runs the migrations too: either run gave the ids.
    assert result.stdout.startswith("finding-ids: {")
    assert all(f.id for f in Report.objects.get(pk=report.pk).findings)
