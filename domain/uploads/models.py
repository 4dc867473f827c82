"""An upload: bytes on their way to the blob store (tus, resumable) or already there (plain)."""
from __future__ import annotations

from enum import StrEnum

import mongoengine as me

from ..evidence.sniff import Purpose
from ..storage import Doc


class UploadStatus(StrEnum):
    RECEIVING = "receiving"  # a tus partial under data_dir/uploads, kept until it expires
    COMPLETE = "complete"  # verified, sniffed, in the blob store, handed to its target


class Upload(Doc):
    owner = me.StringField(required=True)  # the account that created it; nobody else ever sees it
    owner_unit = me.StringField()
    protocol = me.StringField(required=True, choices=("tus", "plain"))
    target_kind = me.StringField(required=True, max_length=64)
    target_id = me.StringField(max_length=64)
    purpose = me.EnumField(Purpose, required=True)
    length = me.IntField(required=True, min_value=0)
    offset = me.IntField(default=0, min_value=0)
    declared_sha256 = me.StringField(required=True, regex=r"^[0-9a-f]{64}$")
    label = me.StringField(max_length=200)  # the client's file name, sanitised: display only, never a path
    status = me.EnumField(UploadStatus, default=UploadStatus.RECEIVING)
    expires_at = me.DateTimeField()
    # One PATCH at a time is the partial file's flock (partials.held), not a field. lock_token marks
    # the PATCH that last recorded an offset, which the completion's conditional update checks.
    lock_token = me.StringField()
    lock_until = me.DateTimeField()  # the old 10-minute lease: no longer set, unset by the next PATCH
    completed_at = me.DateTimeField()
    blob_sha256 = me.StringField()
    media_type = me.StringField()
    result = me.DictField()  # what the target's completion handler returned, for the client

    # declared_sha256: who still needs a blob (completion.blob_needed) looks uploads up by it.
    meta = {"collection": "uploads", "indexes": [("owner", "status"), ("status", "expires_at"), "declared_sha256"]}

    @property
    def complete(self) -> bool:
        return self.status == UploadStatus.COMPLETE


class BlobClaim(me.Document):
    """A plain upload's completion announcing that it needs the blob ``sha256`` (see ``completion``).

    Written outside any transaction before the completion looks at the store; removed by the
    transaction that records the upload, which fails if the claim is gone. Past ``expires_at``
    anyone may remove it (a crashed process's claim must not pin a blob forever)."""

    sha256 = me.StringField(required=True, regex=r"^[0-9a-f]{64}$")
    upload = me.ObjectIdField(required=True)
    expires_at = me.DateTimeField(required=True)

    meta = {"collection": "blob_claims", "indexes": [
        {"fields": ["sha256", "upload"], "unique": True},
        {"fields": ["expires_at"], "expireAfterSeconds": 0},
    ]}
