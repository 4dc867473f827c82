"""Finishing an upload: verify the declared SHA-256, sniff the type, keep the blob, hand it to its target.

Both paths (the last byte of a tus upload, a plain upload) end here, and both keep nothing
when a check fails: no blob, no partial, no upload record. The target's handler, the
upload's new state and the one ``upload.complete`` audit event share one transaction.
"""
from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from .. import jurisdiction
from ..access import Actor
from ..errors import DomainError, UploadLockedError
from ..evidence import BlobInfo, BlobStore
from ..evidence import sniff
from ..storage import Tx, atomic
from . import partials
from .models import Upload, UploadStatus
from .targets import as_completion, upload_target

AUDIT_ACTION = "upload.complete"


def _summary(upload: Upload, info: BlobInfo) -> dict:
    return {"sha256": info.sha256, "size": info.size, "media_type": info.media_type, "protocol": upload.protocol,
            "target_kind": upload.target_kind, "target_id": upload.target_id, "label": upload.label}


def _hand_over(tx: Tx, actor: Actor, upload: Upload, info: BlobInfo, now: datetime) -> None:
    """Inside the transaction: the target's handler, the upload's result, the audit event."""
    target = upload_target(upload.target_kind)
    upload.status, upload.completed_at = UploadStatus.COMPLETE, now
    upload.blob_sha256, upload.media_type, upload.offset = info.sha256, info.media_type, upload.length
    outcome = as_completion(target.handler(actor, upload, info, tx))
    upload.result = dict(outcome.result)
    unit = outcome.target_unit or upload.owner_unit
    tx.audit(actor, AUDIT_ACTION, target_type="upload", target_id=upload.pk,
             chain=outcome.chain or jurisdiction.chain_for_unit(unit), target_unit=unit, after=_summary(upload, info))


def discard(upload_id) -> None:
    """Forget an upload entirely: its record, then its partial file."""
    oid = ObjectId(str(upload_id))
    atomic(lambda tx: tx.collection(Upload).delete_one({"_id": oid}, session=tx.session))
    partials.remove(oid)


def complete_tus(actor: Actor, upload: Upload, token: str, *, store: BlobStore, now: datetime) -> Upload:
    """The last byte of ``upload`` is on disk and this request holds its lease (``token``).

    Raises ``UnsupportedMediaError``, ``UploadHashMismatchError`` or the target's own refusal,
    each after removing everything; an unexpected failure keeps the partial (or the adopted
    blob) so that repeating the final PATCH finishes the job.
    """
    try:
        if partials.path(upload.pk).exists():
            sniff.check(partials.head(upload.pk, sniff.HEAD_BYTES), upload.purpose)
            info = store.adopt(partials.path(upload.pk), upload.declared_sha256)
        else:  # adopted by an attempt whose transaction then failed
            info = store.info(upload.declared_sha256)
            with store.open(upload.declared_sha256) as fh:
                sniff.check(fh.read(sniff.HEAD_BYTES), upload.purpose)
    except DomainError:
        discard(upload.pk)
        raise

    def work(tx: Tx) -> Upload:
        _hand_over(tx, actor, upload, info, now)
        done = tx.collection(Upload).update_one(
            {"_id": upload.pk, "status": UploadStatus.RECEIVING.value, "lock_token": token},
            {"$set": {"status": upload.status.value, "completed_at": now, "offset": upload.length,
                      "blob_sha256": info.sha256, "media_type": info.media_type, "result": upload.result,
                      "updated_at": now},
             "$unset": {"lock_token": "", "lock_until": "", "expires_at": ""}, "$inc": {"rev": 1}},
            session=tx.session)
        if done.matched_count != 1:
            raise UploadLockedError()
        return upload

    try:
        return atomic(work)
    except UploadLockedError:
        raise  # our lease ran out and another request owns the upload now: touch nothing of its
    except DomainError:
        if info.created:
            store.discard(info.sha256)
        discard(upload.pk)
        raise


def complete_plain(actor: Actor, upload: Upload, info: BlobInfo, *, store: BlobStore, now: datetime) -> Upload:
    """A plain upload's bytes are in the store already: record it and hand it over, or take the blob back."""

    def work(tx: Tx) -> Upload:
        _hand_over(tx, actor, upload, info, now)
        tx.insert(upload)
        return upload

    try:
        return atomic(work)
    except Exception:
        if info.created:
            store.discard(info.sha256)
        raise
