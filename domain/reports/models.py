"""Reports (现场检查记录): an inspector's field record of one task, the files it declares, and the
evidence (照片佐证) records of the files that arrived."""
from __future__ import annotations

from enum import StrEnum

import mongoengine as me

from ..storage import Doc


class ReportStatus(StrEnum):
    INCOMPLETE = "incomplete"  # declared files still on their way
    RECEIVED = "received"  # every declared file arrived (or was withdrawn) and matched its SHA-256; validation is queued
    CLOSED_INCOMPLETE = "closed-incomplete"  # a supervisor closed it with files still missing; what arrived is judged


class LateReason(StrEnum):
    AFTER_WINDOW = "after-window"  # received after the task's window ended
    AFTER_SUBMISSION = "after-submission"  # the task was submitted (or reviewed, closed) already
    TASK_CANCELLED = "task-cancelled"  # cancelled after the visit the report declares


class Point(me.EmbeddedDocument):
    """A WGS-84 position and what the phone sent ({crs, lon, lat}), e.g. a finding's place."""

    lon = me.FloatField(required=True)
    lat = me.FloatField(required=True)
    accuracy_m = me.FloatField(min_value=0)
    input = me.DictField(required=True)


class Fix(me.EmbeddedDocument):
    """A GPS fix of the phone during the visit: WGS-84, and what the phone sent ({crs, lon, lat})."""

    lon = me.FloatField(required=True)
    lat = me.FloatField(required=True)
    accuracy_m = me.FloatField(min_value=0)
    input = me.DictField(required=True)
    at = me.DateTimeField(required=True)


class Device(me.EmbeddedDocument):
    model = me.StringField(required=True, max_length=100)
    os = me.StringField(required=True, max_length=100)
    app_version = me.StringField(required=True, max_length=50)


class Finding(me.EmbeddedDocument):
    """A problem the inspector recorded. ``id`` is the server's, random, given at intake and never changed:
    a notice, a reply and a ledger row name the finding by it (the phone's ``client_id`` is only unique
    within its report)."""

    id = me.ObjectIdField()
    client_id = me.StringField(max_length=39)  # the phone's id, so a declared file can name the finding it supports
    item = me.StringField(required=True, max_length=64)
    category = me.StringField(required=True, max_length=64)
    description = me.StringField(required=True, max_length=2000)
    severity = me.StringField(required=True, choices=("low", "medium", "high"))
    location = me.EmbeddedDocumentField(Point)


class DeclaredFile(me.EmbeddedDocument):
    """A file the report says the phone will send; ``evidence`` is set when it arrived and matched."""

    client_id = me.StringField(required=True, max_length=39)
    sha256 = me.StringField(required=True, regex=r"^[0-9a-f]{64}$")
    size = me.IntField(required=True, min_value=1)
    media_type = me.StringField(required=True)  # as declared; the evidence keeps the sniffed one
    item = me.StringField(max_length=64)
    finding = me.StringField(max_length=64)
    evidence = me.ObjectIdField()
    received_at = me.DateTimeField()
    # The inspector withdrew the file (it will not come): no longer awaited. Kept, with why, for the record.
    withdrawn_at = me.DateTimeField()
    withdrawn_reason = me.StringField(max_length=500)
    # Earlier declarations of this client id that the inspector replaced: [{sha256, size, media_type, reason, at}].
    replaced = me.ListField(me.DictField())
    # The last time bytes sent for it were refused (not a photo, wrong hash): {code, at}.
    refusal = me.DictField()

    @property
    def awaited(self) -> bool:
        return self.evidence is None and self.withdrawn_at is None


class Report(Doc):
    # Idempotency: the phone's submission id, and the canonical hash of the payload it sent with it.
    submission_id = me.StringField(required=True, max_length=64)
    payload_sha256 = me.StringField(required=True)
    inspector = me.ObjectIdField(required=True)
    inspector_name = me.StringField()
    # The task and what scoping needs of it, copied so reads never join.
    task = me.ObjectIdField(required=True)
    office = me.ObjectIdField(required=True)  # the planning office: its audit chain, its supervisors read
    target_unit = me.ObjectIdField(required=True)
    site = me.ObjectIdField(required=True)
    task_mode = me.StringField(required=True, choices=("open", "undercover"))
    scope_units = me.ListField(me.ObjectIdField())  # the task's, copied at intake (domain/scope.py)
    leader_visible = me.BooleanField(default=False)  # open, or the undercover task submitted: set in its transition
    form_id = me.StringField(required=True)
    form_version = me.IntField(required=True)  # the version the phone answered (pinned)
    form_hash = me.StringField(required=True)
    visited_at = me.DateTimeField(required=True)  # the visit the report declares
    device = me.EmbeddedDocumentField(Device, required=True)
    device_time = me.DateTimeField(required=True)  # the phone's clock when it submitted
    received_at = me.DateTimeField(required=True)  # the server's clock when it arrived
    fixes = me.EmbeddedDocumentListField(Fix)
    answers = me.DictField()  # item id -> answer, checked against the pinned version
    findings = me.EmbeddedDocumentListField(Finding)
    files = me.EmbeddedDocumentListField(DeclaredFile)
    status = me.EnumField(ReportStatus, required=True)
    completed_at = me.DateTimeField()  # when the last declared file arrived (or at receipt, with none)
    late = me.BooleanField(default=False)
    late_reasons = me.ListField(me.EnumField(LateReason))
    validation_started_at = me.DateTimeField()  # the validation job picked it up (workers.evidence)
    # A supervisor closed it as incomplete (status closed-incomplete): who, when and why.
    closed_at = me.DateTimeField()
    closed_by = me.ObjectIdField()
    close_reason = me.StringField(max_length=500)

    meta = {"collection": "reports", "indexes": [
        # The unique indexes are the guarantee, not a check before the insert: two racing retries of one
        # submission, or two submissions of one inspector for one task, leave exactly one report.
        {"fields": ["inspector", "submission_id"], "unique": True},
        {"fields": ["task", "inspector"], "unique": True},
        ("office", "_id"),
        ("target_unit", "_id"),
        ("status", "_id"),
        ("scope_units", "_id"),
    ]}

    def file(self, client_id: str) -> DeclaredFile | None:
        return next((f for f in self.files if f.client_id == client_id), None)


class Evidence(Doc):
    """One declared file that arrived, verified: its bytes are the blob named by ``sha256``.

    The same bytes declared twice (two client ids) are two records over one blob."""

    report = me.ObjectIdField(required=True)
    client_id = me.StringField(required=True, max_length=39)
    task = me.ObjectIdField(required=True)
    office = me.ObjectIdField(required=True)
    target_unit = me.ObjectIdField(required=True)
    inspector = me.ObjectIdField(required=True)
    scope_units = me.ListField(me.ObjectIdField())  # copied from the report when the file arrives (domain/scope.py)
    leader_visible = me.BooleanField(default=False)  # likewise; the task's submission sets it on every photo
    sha256 = me.StringField(required=True, regex=r"^[0-9a-f]{64}$")
    size = me.IntField(required=True, min_value=1)
    media_type = me.StringField(required=True)  # sniffed from the bytes
    declared_media_type = me.StringField()
    item = me.StringField()
    finding = me.StringField()
    upload = me.ObjectIdField(required=True)
    protocol = me.StringField(required=True, choices=("tus", "plain"))
    received_at = me.DateTimeField(required=True)
    # Validation (domain.evidence.validation): the facts read from the bytes, the verdict judged on them
    # by ``validator_version``, and the metadata-free working copies (blob SHA-256s).
    facts = me.DictField()
    facts_digest = me.StringField()
    verdict = me.DictField()  # {outcome, reasons: [{code, outcome, params}], validator_version, facts_digest}
    outcome = me.StringField(choices=("pass", "review", "fail"))  # the verdict's outcome, for counting
    validator_version = me.IntField()
    validated_at = me.DateTimeField()
    thumbnail_sha256 = me.StringField(regex=r"^[0-9a-f]{64}$")
    preview_sha256 = me.StringField(regex=r"^[0-9a-f]{64}$")
    # The pHash's band keys, saved with the verdict: the near-duplicate index (validation.near_duplicates).
    phash_keys = me.ListField(me.IntField())
    # Verdict jobs queued again by the stalled-verdict sweep (evidence.validation.requeue_stalled_verdicts).
    verdict_requeues = me.IntField(default=0)
    verdict_requeued_at = me.DateTimeField()
    # A supervisor's override: {outcome, reason, by, by_name, at}; the verdict above stays as judged.
    override = me.DictField()

    meta = {"collection": "evidence", "indexes": [
        {"fields": ["report", "client_id"], "unique": True},
        "sha256",
        "thumbnail_sha256",
        "preview_sha256",
        "phash_keys",
        ("validated_at", "received_at"),  # the stalled-verdict sweep: photos without a verdict, oldest first
        "task",  # the scope refresh and the leader release update a task's photos
        ("scope_units", "_id"),
    ]}
