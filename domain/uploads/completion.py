"""Finishing an upload: verify the declared SHA-256, sniff the type, keep the blob, hand it to its target.

Both paths (the last byte of a tus upload, a plain upload) end here, and both keep nothing
when a check fails: no blob, no partial, no upload record. The target's handler, the
upload's new state and the one ``upload.complete`` audit event share one transaction.

One blob (one file per SHA-256) serves every upload of the same bytes, so a refused upload
drops its blob only if nobody needs it (``drop_blob``). Blob S is needed by:
- an upload record holding all its bytes (declared S, offset = length): every complete upload
  (the reference behind each Evidence), and a tus upload whose last PATCH wrote that offset
  before its completion began (a failed attempt may already have moved its partial into the store);
- a plain upload's completion, which has no record yet: it commits a ``BlobClaim`` (S, upload)
  before the store looks for S, and the transaction inserting its record deletes the claim,
  failing with ``UploadClaimExpiredError`` if the claim is gone.
So every user of S is on record before it looks at the store, until its reference commits.
``drop_blob`` first hides the file (an atomic rename), then in one transaction removes expired
claims and looks for users; it deletes the hidden file only if there are none, else puts it back.
Under any interleaving: a user that looked before the hiding is seen by that check (or, if its
expired claim was removed, its own commit fails); one that looks after finds no blob and stores
its own copy. The upload sweep puts back what a crashed ``drop_blob`` left hidden.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import BinaryIO

from bson import ObjectId
from pymongo.write_concern import WriteConcern

from .. import jurisdiction
from ..access import Actor
from ..errors import DomainError, UploadClaimExpiredError, UploadLockedError
from ..evidence import ALLOWED, BlobInfo, BlobStore
from ..evidence import sniff
from .. import clock
from ..ids import new_id
from ..storage import Tx, atomic
from . import partials
from .models import BlobClaim, Upload, UploadStatus
from .targets import as_completion, upload_target

AUDIT_ACTION = "upload.complete"
CLAIM_TTL = timedelta(minutes=10)  # a claim spans verification to commit (seconds); then anyone may remove it
HIDDEN_GRACE = 600  # seconds: a blob hidden longer was left by a crashed drop_blob, not a running one
log = logging.getLogger(__name__)


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
        _drop_quietly(store, upload.declared_sha256)  # a retry's refusal: an earlier attempt adopted the bytes
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
        discard(upload.pk)  # the record first: while it holds all its bytes it counts as needing the blob
        _drop_quietly(store, info.sha256)
        raise


def complete_plain(actor: Actor, upload: Upload, stream: BinaryIO, *, store: BlobStore, now: datetime) -> Upload:
    """Stream a plain upload's bytes into the store (claiming the blob once they are verified), then
    record the upload and hand it over. Raises what ``put_stream`` raises, the target's refusal, or
    ``UploadClaimExpiredError``; in every case the upload is not recorded and its blob is dropped
    unless someone else needs it."""
    sha256, claimed = upload.declared_sha256, []

    def claim(_verified_sha256: str) -> None:
        # majority: acknowledged means visible to any later snapshot transaction (drop_blob's check).
        BlobClaim._get_collection().with_options(write_concern=WriteConcern("majority", j=True)).insert_one(
            {"_id": new_id(), "sha256": sha256, "upload": upload.pk, "expires_at": clock.now() + CLAIM_TTL})
        claimed.append(True)

    try:
        info = store.put_stream(stream, max_bytes=upload.length, expected_sha256=sha256, expected_size=upload.length,
                                allowed_media_types=ALLOWED[upload.purpose], on_verified=claim)
    except BaseException:
        if claimed:
            _release(sha256, upload.pk)
        raise

    def work(tx: Tx) -> Upload:
        _hand_over(tx, actor, upload, info, now)
        tx.insert(upload)
        released = tx.collection(BlobClaim).delete_one({"sha256": sha256, "upload": upload.pk}, session=tx.session)
        if released.deleted_count != 1:
            raise UploadClaimExpiredError()  # removed as expired: the blob may be gone, so record nothing
        return upload

    try:
        return atomic(work)
    except BaseException:
        _release(sha256, upload.pk)
        _drop_quietly(store, sha256)
        raise


_blob_users: list = []


def register_blob_user(needs) -> None:
    """A feature that keeps blobs without an upload record (evidence working copies) adds
    ``needs(tx, sha256) -> bool`` here; ``blob_needed`` asks it inside its transaction."""
    if needs not in _blob_users:
        _blob_users.append(needs)


def blob_needed(sha256: str) -> bool:
    """Whether an upload record holding all its bytes, a live claim, or a registered blob user needs blob
    ``sha256``. Expired claims are removed here, not just ignored: that is what makes their holders' commits fail."""

    def work(tx: Tx) -> bool:
        if any(needs(tx, sha256) for needs in _blob_users):
            return True
        claims = tx.collection(BlobClaim)
        claims.delete_many({"sha256": sha256, "expires_at": {"$lte": clock.now()}}, session=tx.session)
        if claims.find_one({"sha256": sha256}, {"_id": 1}, session=tx.session) is not None:
            return True
        found = tx.collection(Upload).find({"declared_sha256": sha256}, {"offset": 1, "length": 1},
                                           session=tx.session)
        return any(u.get("offset") == u.get("length") for u in found)

    return atomic(work)


def drop_blob(store: BlobStore, sha256: str) -> bool:
    """Delete blob ``sha256`` unless it is needed (see the module docstring); True when deleted."""
    if not store.exists(sha256) or blob_needed(sha256):
        return False  # the usual answer for a shared blob, found without hiding it from its readers
    return store.discard(sha256, keep_if=lambda: blob_needed(sha256))


def recover_hidden_blobs(store: BlobStore) -> int:
    """The upload sweep: put back blobs a crashed ``drop_blob`` left hidden, then drop those nobody needs."""
    recovered = store.recover_hidden(HIDDEN_GRACE)
    for sha256 in recovered:
        drop_blob(store, sha256)
    return len(recovered)


def _release(sha256: str, upload_id) -> None:
    try:
        BlobClaim._get_collection().delete_one({"sha256": sha256, "upload": upload_id})
    except Exception:  # cleanup must not hide the error being raised; the claim expires on its own
        log.warning("could not release the claim on blob %s of upload %s", sha256, upload_id, exc_info=True)


def _drop_quietly(store: BlobStore, sha256: str) -> None:
    try:
        drop_blob(store, sha256)
    except Exception:  # cleanup must not hide the refusal being raised; a blob left behind is only space
        log.warning("could not drop blob %s", sha256, exc_info=True)
