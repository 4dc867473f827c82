"""Evidence validation as the jobs run it: one photo judged and kept with its custody event, idempotent,
re-judged only when the validator changed; the preview its own job on the low queue; overrides kept
beside the verdict. Follow-up jobs are asserted through the outbox entries the services wrote."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.clock import FixedClock
from domain import storage
from domain.access import SYSTEM
from domain.accounts.services import actor_for
from domain.audit import AuditEvent
from domain.errors import EvidenceNotFoundError, EvidenceOverrideInvalidError, Forbidden
from domain.evidence import blob_store, summary, validation
from domain.outbox import OutboxEntry
from domain.reports import Evidence, Report
from domain.validation import band_keys
from domain.validation import verdict as verdicts
from tests.factories.evidence import corpus_task, evidence_of, received_report
from domain import clock

FILES = {"gps": "jpg/gps/DSCN0010.jpg", "blue": "jpg/xmp/BlueSquare.jpg", "hdr": "jpg/hdr/iphone_hdr_NO.jpg"}


@pytest.fixture
def report(world):
    return received_report(world, corpus_task(world), FILES)


def _photo_jobs(evidence_id):
    return OutboxEntry.objects(job=validation.VALIDATE_PHOTO_JOB, args=[str(evidence_id)])


def test_the_report_job_queues_one_verdict_job_and_one_preview_job_per_photo_once(report):
    first = validation.validate_report(SYSTEM, report.pk)
    again = validation.validate_report(SYSTEM, report.pk)
    assert (first["queued"], again["queued"]) == (3, 0)
    photo_ids = sorted(str(e.pk) for e in evidence_of(report.pk).values())
    assert sorted(e.args[0] for e in OutboxEntry.objects(job=validation.VALIDATE_PHOTO_JOB, queue="default")) == photo_ids
    assert sorted(e.args[0] for e in OutboxEntry.objects(job=validation.PREVIEW_JOB, queue="low")) == photo_ids
    assert Report.objects.get(pk=report.pk).validation_started_at is not None


def test_a_photo_is_judged_against_its_task_and_kept_with_its_thumbnail_and_custody_event(report):
    photos = evidence_of(report.pk)
    result = validation.validate_evidence(SYSTEM, photos["gps"].pk)
    gps = evidence_of(report.pk)["gps"]
    codes = {r["code"]: r["outcome"] for r in gps.verdict["reasons"]}
    assert result["judged"] is True and gps.outcome == "review"  # Nikon Transfer: review by design
    assert codes["location.inside-geofence"] == "pass" and codes["edit.transfer-software"] == "review"
    assert gps.validator_version == verdicts.VALIDATOR_VERSION and gps.facts["sha256"] == gps.sha256
    assert blob_store().exists(gps.thumbnail_sha256)
    assert gps.phash_keys == band_keys(gps.facts["phash"]) and len(gps.phash_keys) == 3  # the reuse index
    event = AuditEvent.objects.get(action="evidence.validate", target_id=str(gps.pk))
    assert event.chain == str(gps.office) and event.after["facts_digest"] == gps.facts_digest
    assert event.after["validator_version"] == verdicts.VALIDATOR_VERSION
    assert OutboxEntry.objects(job=validation.PREVIEW_JOB).count() == 0  # queued by the report job, beside this one

    validation.validate_evidence(SYSTEM, photos["blue"].pk)
    blue = evidence_of(report.pk)["blue"]
    assert blue.outcome == "review" and "edit.editor-software" in {r["code"] for r in blue.verdict["reasons"]}


def test_validating_twice_gives_the_same_facts_and_verdict_without_duplicates(report):
    gps = evidence_of(report.pk)["gps"]
    first = validation.validate_evidence(SYSTEM, gps.pk)
    again = validation.validate_evidence(SYSTEM, gps.pk)
    forced = validation.validate_evidence(SYSTEM, gps.pk, force=True)
    assert again["judged"] is False and forced["judged"] is True
    assert first["facts_digest"] == again["facts_digest"] == forced["facts_digest"]
    assert first["outcome"] == forced["outcome"]
    assert AuditEvent.objects(action="evidence.validate", target_id=str(gps.pk)).count() == 2


def test_the_preview_job_keeps_one_metadata_free_preview(report):
    gps = evidence_of(report.pk)["gps"]
    validation.validate_evidence(SYSTEM, gps.pk)
    made = validation.make_evidence_preview(SYSTEM, gps.pk)
    again = validation.make_evidence_preview(SYSTEM, gps.pk)
    assert made["made"] is True and again["made"] is False and again["preview_sha256"] == made["preview_sha256"]
    from PIL import Image
    with Image.open(blob_store().path(made["preview_sha256"])) as image:
        assert max(image.size) == 1600 or max(image.size) <= 1600
        assert not image.getexif() and "icc_profile" not in image.info


def test_revalidation_after_a_validator_change_rejudges_only_stale_photos(world, report, monkeypatch):
    photos = evidence_of(report.pk)
    validation.validate_evidence(SYSTEM, photos["gps"].pk)
    monkeypatch.setattr(verdicts, "VALIDATOR_VERSION", verdicts.VALIDATOR_VERSION + 1)
    validation.validate_evidence(SYSTEM, photos["blue"].pk)  # judged by the new version already
    validation.validate_evidence(SYSTEM, photos["hdr"].pk)
    supervisor = actor_for(world.accounts["supervisor_east"])
    queued = validation.revalidate_report(supervisor, report.pk)
    assert queued["evidence_ids"] == [str(photos["gps"].pk)]
    [job] = OutboxEntry.objects(job=validation.VALIDATE_PHOTO_JOB, kwargs={"force": True})
    assert job.args == [str(photos["gps"].pk)]
    validation.validate_evidence(SYSTEM, photos["gps"].pk, force=True)
    assert evidence_of(report.pk)["gps"].validator_version == verdicts.VALIDATOR_VERSION
    assert validation.revalidate_report(supervisor, report.pk)["queued"] == 0
    assert validation.revalidate_report(supervisor, report.pk, everything=True)["queued"] == 3
    assert AuditEvent.objects(action="report.revalidate").count() == 2


def test_an_override_keeps_the_original_verdict_and_is_audited(world, report):
    gps = evidence_of(report.pk)["gps"]
    validation.validate_evidence(SYSTEM, gps.pk)
    supervisor = actor_for(world.accounts["supervisor_east"])
    with pytest.raises(EvidenceOverrideInvalidError):
        summary.override_verdict(supervisor, gps.pk, outcome="pass", reason="ok")
    with pytest.raises(EvidenceNotFoundError):
        summary.override_verdict(actor_for(world.accounts["supervisor_west"]), gps.pk, outcome="pass",
                                 reason="复核后认定照片有效")
    with pytest.raises(Forbidden):
        summary.override_verdict(actor_for(world.accounts["inspector_east"]), gps.pk, outcome="pass",
                                 reason="复核后认定照片有效")
    summary.override_verdict(supervisor, gps.pk, outcome="pass", reason="复核后认定照片有效")
    kept = evidence_of(report.pk)["gps"]
    assert kept.outcome == "review" and kept.verdict["outcome"] == "review"
    assert kept.override["outcome"] == "pass" and kept.override["by"] == supervisor.id
    event = AuditEvent.objects.get(action="evidence.override")
    assert event.before["outcome"] == "review" and event.after["reason"] == "复核后认定照片有效"
    assert event.chain == str(kept.office)
    counts = summary.report_summary(supervisor, report.pk)["counts"]
    assert counts == {"pass": 1, "review": 0, "fail": 0, "pending": 2}


def test_a_reuse_reason_naming_a_photo_out_of_scope_loses_the_names(world, report):
    from domain.tasks.models import SiteSnapshot
    from tests.factories.tasks import TaskFactory

    gps = evidence_of(report.pk)["gps"]
    validation.validate_evidence(SYSTEM, gps.pk)
    # The same bytes again, in a report of 新会区督查室's task: exact reuse naming the first photo.
    west_inspector = world.accounts["inspector_east"]
    west_task = TaskFactory(office_unit=world.unit("office_west"), target=world.unit("market_west"),
                            site_unit=world.unit("site_west"), inspector_accounts=[west_inspector],
                            site=SiteSnapshot(site=world.unit("site_west").pk, name="x", lon=11.885, lat=43.468,
                                              radius_m=100))
    other = received_report(world, west_task, {"copy": "jpg/gps/DSCN0010.jpg", "b": "jpg/xmp/BlueSquare.jpg",
                                                "c": "jpg/hdr/iphone_hdr_NO.jpg"})
    copy = evidence_of(other.pk)["copy"]
    validation.validate_evidence(SYSTEM, copy.pk)
    assert evidence_of(other.pk)["copy"].outcome == "fail"
    west = summary.report_summary(actor_for(world.accounts["supervisor_west"]), other.pk)
    [reuse] = [r for p in west["photos"] for r in p["reasons"] if r["code"] == "reuse.exact-copy"]
    assert reuse["hidden_match"] is True and reuse["params"]["other_evidence_id"] is None
    assert str(gps.pk) not in str(west)
    admin = summary.report_summary(actor_for(world.accounts["admin"]), other.pk)
    [seen] = [r for p in admin["photos"] for r in p["reasons"] if r["code"] == "reuse.exact-copy"]
    assert seen["params"]["other_evidence_id"] == str(gps.pk)


def test_an_office_s_thresholds_change_its_verdicts(world, report):
    from domain.units.services import update_unit

    # The east office decides that a desktop transfer tool is not worth a review.
    update_unit(SYSTEM, world.id("office_east"), validation_thresholds={"transfer_software": []})
    gps = evidence_of(report.pk)["gps"]
    validation.validate_evidence(SYSTEM, gps.pk)
    codes = {r["code"] for r in evidence_of(report.pk)["gps"].verdict["reasons"]}
    assert "edit.transfer-software" not in codes and "location.inside-geofence" in codes


@pytest.mark.parametrize("cap, decode", [(100_000, "too-many-pixels"), (150_000_000, "ok")])
def test_an_office_s_own_pixel_cap_is_the_one_the_photo_is_read_under(world, report, cap, decode):
    # The read starts under the default cap before the office is loaded; another cap reads again.
    from domain.units.services import update_unit

    update_unit(SYSTEM, world.id("office_east"), validation_thresholds={"max_pixels": cap})
    gps = evidence_of(report.pk)["gps"]  # 640x480 = 307,200 pixels
    validation.validate_evidence(SYSTEM, gps.pk)
    stored = evidence_of(report.pk)["gps"]
    assert stored.facts["decode"] == decode
    assert ("file.too-many-pixels" in {r["code"] for r in stored.verdict["reasons"]}) == (decode != "ok")


def _meanwhile(monkeypatch, change):
    """Run ``change`` after the verdict job read the photo and before its transaction (where another
    job's commit would land), by way of the one call between them."""
    peek = validation.peek_head

    def peek_then_change(chain):
        change()
        return peek(chain)
    monkeypatch.setattr(validation, "peek_head", peek_then_change)


def test_a_judgement_committed_by_another_run_meanwhile_wins_and_nothing_is_written_twice(report, monkeypatch):
    gps = evidence_of(report.pk)["gps"]
    other = evidence_of(report.pk)["blue"]
    validation.validate_evidence(SYSTEM, other.pk)  # a judged photo whose stored state we copy
    theirs = Evidence._get_collection().find_one({"_id": other.pk})

    def another_run_commits():
        Evidence._get_collection().update_one({"_id": gps.pk}, {"$inc": {"rev": 1}, "$set": {
            k: theirs[k] for k in ("facts", "facts_digest", "verdict", "outcome", "validator_version", "validated_at",
                                   "phash_keys")}})
    _meanwhile(monkeypatch, another_run_commits)

    result = validation.validate_evidence(SYSTEM, gps.pk)
    assert result["judged"] is False and result["facts_digest"] == theirs["facts_digest"]
    assert evidence_of(report.pk)["gps"].phash_keys == theirs["phash_keys"]
    assert AuditEvent.objects(action="evidence.validate", target_id=str(gps.pk)).count() == 0


def test_a_photo_changed_meanwhile_is_read_again_and_judged_without_losing_the_change(report, monkeypatch):
    gps = evidence_of(report.pk)["gps"]
    validation.validate_evidence(SYSTEM, gps.pk)
    preview = "ab" * 32

    def the_preview_job_finishes():
        Evidence._get_collection().update_one({"_id": gps.pk}, {"$inc": {"rev": 1}, "$set": {"preview_sha256": preview}})
    _meanwhile(monkeypatch, the_preview_job_finishes)

    result = validation.validate_evidence(SYSTEM, gps.pk, force=True)
    stored = evidence_of(report.pk)["gps"]
    assert result["judged"] is True and stored.preview_sha256 == preview
    assert stored.rev == gps.rev + 3  # judged, the preview, judged again
    assert AuditEvent.objects(action="evidence.validate", target_id=str(gps.pk)).count() == 2


def _validation_began_minutes_ago(report, minutes: int) -> None:
    past = clock.now() - timedelta(minutes=minutes)
    Report._get_collection().update_one({"_id": report.pk}, {"$set": {"validation_started_at": past}})
    Evidence._get_collection().update_many({"report": report.pk}, {"$set": {"received_at": past}})


def test_a_photo_whose_verdict_job_was_lost_gets_it_again_at_most_once_a_quarter_and_three_times(report):
    validation.validate_evidence(SYSTEM, evidence_of(report.pk)["blue"].pk)  # judged: left alone
    _validation_began_minutes_ago(report, 20)
    unjudged = sorted(str(e.pk) for e in evidence_of(report.pk).values() if e.validated_at is None)

    first = validation.requeue_stalled_verdicts(SYSTEM)
    assert len(unjudged) == 2 and sorted(first["evidence_ids"]) == unjudged
    assert validation.requeue_stalled_verdicts(SYSTEM)["queued"] == 0  # not again within the quarter
    assert sorted(j.args[0] for j in OutboxEntry.objects(job=validation.VALIDATE_PHOTO_JOB)) == unjudged
    event = AuditEvent.objects(action="evidence.verdict-requeued").first()
    assert AuditEvent.objects(action="evidence.verdict-requeued").count() == 2
    assert event.chain == str(evidence_of(report.pk)["gps"].office) and event.after["requeues"] == 1

    later = [clock.now() + timedelta(minutes=16 * k) for k in (1, 2, 3)]
    queued = []
    for t in later:
        with clock.using(FixedClock(t)):
            queued.append(validation.requeue_stalled_verdicts(SYSTEM)["queued"])
    assert queued == [2, 2, 0]
    assert {e.verdict_requeues for e in evidence_of(report.pk).values() if e.validated_at is None} == {3}

    validation.validate_evidence(SYSTEM, evidence_of(report.pk)["gps"].pk)  # the job ran in the end
    assert evidence_of(report.pk)["gps"].outcome is not None


def test_only_the_system_requeues_stalled_verdicts(world, report):
    _validation_began_minutes_ago(report, 20)
    for persona in ("admin", "supervisor_east", "inspector_east"):
        with pytest.raises(Forbidden):
            validation.requeue_stalled_verdicts(actor_for(world.accounts[persona]))
    assert OutboxEntry.objects(job=validation.VALIDATE_PHOTO_JOB).count() == 0


def test_photos_of_a_report_still_arriving_or_whose_validation_just_began_are_left_alone(report):
    _validation_began_minutes_ago(report, 20)
    Report._get_collection().update_one({"_id": report.pk}, {"$unset": {"validation_started_at": ""}})
    assert validation.requeue_stalled_verdicts(SYSTEM)["queued"] == 0  # the last file has not arrived
    Report._get_collection().update_one({"_id": report.pk}, {"$set": {"validation_started_at": clock.now()}})
    assert validation.requeue_stalled_verdicts(SYSTEM)["queued"] == 0  # its jobs were queued just now
    assert OutboxEntry.objects(job=validation.VALIDATE_PHOTO_JOB).count() == 0


def test_the_stalled_verdict_sweep_is_scheduled(redis_conn):
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis_conn)
    scheduler.load_config_from_file("workers.cron")
    assert "workers.evidence.requeue_stalled_verdicts" in {job.func_name for job in scheduler._cron_jobs}
