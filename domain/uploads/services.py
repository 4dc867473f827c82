"""Upload use cases: the tus 1.0 life cycle (create, append, offset, terminate, expire) and the plain path.

Bytes stream to disk in chunks and are never held whole in memory. Per-PATCH progress is
not audited; a completed upload is one ``upload.complete`` event (see ``completion``).
"""
from __future__ import annotations

import base64
import binascii
import uuid
from datetime import timedelta
from typing import BinaryIO

from ..access import SYSTEM, Actor, Permission
from .. import clock
from ..ids import new_id
from ..config import get_settings
from ..errors import (UploadAlreadyCompleteError, UploadChecksumMismatchError, UploadChecksumUnsupportedError,
                      UploadExpiredError, UploadInterruptedError, UploadLockedError, UploadOffsetMismatchError,
                      UploadTooLargeError, UploadTooManyOpenError)
from ..evidence import BlobStore, blob_store
from ..storage import atomic
from . import completion, partials, queries, rules
from .models import Upload, UploadStatus
from .targets import upload_target

TTL = timedelta(hours=24)  # an unfinished upload lives this long after its last byte (tus expiration)
MAX_OPEN_PER_ACCOUNT = 20  # unfinished uploads per account, so nobody can fill the disk with partials
ORPHAN_GRACE = 3600  # seconds before a partial file without a record is removed
TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = ("creation", "creation-with-upload", "checksum", "termination", "expiration")
# tus requires sha1 (stock clients such as tuspy default to it); sha256 is what we ask of our own app.
CHECKSUM_ALGORITHMS = ("sha1", "sha256")


def tus_capabilities() -> dict:
    """Anyone may call: what this tus server supports (the OPTIONS answer)."""
    return {"version": TUS_VERSION, "extensions": TUS_EXTENSIONS, "max_size": get_settings().max_upload_bytes,
            "checksum_algorithms": CHECKSUM_ALGORITHMS}


def _parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        raise UploadChecksumUnsupportedError(algorithm=algorithm[:20], supported=", ".join(CHECKSUM_ALGORITHMS))
    try:
        return algorithm.lower(), base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UploadChecksumUnsupportedError(algorithm=algorithm[:20], supported=", ".join(CHECKSUM_ALGORITHMS))


def create_upload(actor: Actor, *, length: int, metadata: dict, body: BinaryIO | None = None,
                  content_length: int | None = None, checksum: str | None = None,
                  store: BlobStore | None = None) -> Upload:
    """Anyone with ``upload:create``. Metadata: ``target`` (a registered kind), ``sha256`` (hex of the
    whole file), optional ``target_id`` and ``filename`` (kept as a display label only). With a body,
    the first bytes are appended at once (creation-with-upload).

    Raises UploadTooLargeError (before any byte is read), UploadTargetUnknownError,
    UploadMetadataInvalidError, UploadTooManyOpenError, the target's own check, then as ``append_chunk``.
    """
    actor.require(Permission.UPLOAD_CREATE)
    limit = get_settings().max_upload_bytes
    if length > limit:
        raise UploadTooLargeError(limit=limit)
    if content_length is not None and content_length > length:
        raise UploadTooLargeError(limit=length)
    target = upload_target(metadata.get("target"))
    sha256 = rules.declared_sha256(metadata.get("sha256"))
    target_id = rules.target_id(metadata.get("target_id"))
    if target.check:
        target.check(actor, target_id, sha256=sha256, length=length)  # refuse a mismatch before any byte
    if queries.open_count(actor) >= MAX_OPEN_PER_ACCOUNT:
        raise UploadTooManyOpenError(limit=MAX_OPEN_PER_ACCOUNT)
    now = clock.now()
    upload = Upload(id=new_id(), owner=str(actor.id), owner_unit=actor.home_unit, protocol="tus",
                    target_kind=target.kind, target_id=target_id, purpose=target.purpose, length=length,
                    declared_sha256=sha256, label=rules.display_label(metadata.get("filename") or metadata.get("name")),
                    expires_at=now + TTL)
    partials.create(upload.pk)  # the file first: a record never points at nothing (the sweep removes orphans)
    try:
        atomic(lambda tx: tx.insert(upload))
    except BaseException:
        partials.remove(upload.pk)
        raise
    if length == 0 or (body is not None and content_length != 0):
        return append_chunk(actor, upload.pk, offset=0, body=body, content_length=content_length,
                            checksum=checksum, store=store)
    return upload


def _mark(upload_id, new_offset: int, token: str) -> None:
    """Record the offset a PATCH reached (other features read it: expiry, who needs a blob) and mark the
    record with this PATCH's token, which the completion's conditional update checks."""
    now = clock.now()

    def work(tx):
        return tx.collection(Upload).update_one(
            {"_id": upload_id, "status": UploadStatus.RECEIVING.value},
            {"$set": {"offset": new_offset, "expires_at": now + TTL, "updated_at": now, "lock_token": token},
             "$unset": {"lock_until": ""}, "$inc": {"rev": 1}}, session=tx.session).matched_count

    if atomic(work) != 1:
        raise UploadLockedError()  # completed by someone else meanwhile (a retry racing the partial-less path)


def append_chunk(actor: Actor, upload_id, *, offset: int, body: BinaryIO | None, content_length: int | None = None,
                 checksum: str | None = None, store: BlobStore | None = None) -> Upload:
    """The upload's owner (``upload:create``): append ``body`` at ``offset`` (tus PATCH). A PATCH may
    carry the whole rest of the upload; the last byte completes it (``completion.complete_tus``).
    One PATCH at a time: the partial's lock (``partials.held``), which dies with its request.

    Raises UploadNotFoundError (also for another account's upload), UploadExpiredError,
    UploadOffsetMismatchError, UploadLockedError, UploadAlreadyCompleteError, UploadTooLargeError
    (past ``Upload-Length``, before reading when ``Content-Length`` says so),
    UploadChecksumUnsupportedError, UploadChecksumMismatchError (the chunk is discarded),
    UploadInterruptedError (what arrived is kept), and the completion's errors.
    """
    actor.require(Permission.UPLOAD_CREATE)
    parsed = _parse_checksum(checksum)
    upload = queries.upload_for(actor, upload_id)
    if upload.complete and offset == upload.length and not content_length:
        return upload  # a client repeating its last PATCH after losing the answer: nothing to do
    if upload.complete:
        raise UploadAlreadyCompleteError()
    if upload.expires_at and upload.expires_at <= clock.now():
        raise UploadExpiredError()
    token = uuid.uuid4().hex
    with partials.held(upload.pk) as partial:
        if partial is None:  # adopted by a completion whose transaction then failed: only finishing is left
            current = queries.upload_for(actor, upload_id)
            if current.complete:
                raise UploadAlreadyCompleteError()
            if current.offset != upload.length or offset != upload.length:
                raise UploadOffsetMismatchError(expected=current.offset, given=offset)
            _mark(upload.pk, upload.length, token)
            upload.offset = upload.length
            return completion.complete_tus(actor, upload, token, store=store or blob_store(), now=clock.now())
        current = partial.size
        if offset != current:
            raise UploadOffsetMismatchError(expected=current, given=offset)
        remaining = upload.length - offset
        if content_length is not None and content_length > remaining:
            raise UploadTooLargeError(limit=remaining)
        if remaining == 0:  # repeating a completion that failed half-way
            written = partials.Written()
        else:
            written = partial.append(offset, body if body is not None else _Empty(), limit=remaining,
                                     checksum_algorithm=parsed[0] if parsed else None)
        if content_length is not None and written.size < content_length:
            written.interrupted = True  # whatever the stream said, the body fell short of its length
        if parsed and remaining and (written.interrupted or written.digest != parsed[1]):
            partial.cut(offset)  # a chunk that cannot be verified is not kept
            if written.interrupted:
                raise UploadInterruptedError(offset=offset)
            raise UploadChecksumMismatchError(algorithm=parsed[0])
        new_offset = offset + written.size
        _mark(upload.pk, new_offset, token)
        upload.offset, upload.expires_at = new_offset, clock.now() + TTL
        if written.interrupted:
            raise UploadInterruptedError(offset=new_offset)
        if new_offset == upload.length:
            return completion.complete_tus(actor, upload, token, store=store or blob_store(), now=clock.now())
    return upload


class _Empty:
    def read(self, _n: int = -1) -> bytes:
        return b""


def upload_status(actor: Actor, upload_id) -> Upload:
    """The upload's owner: where it stands (tus HEAD). Raises UploadNotFoundError, UploadExpiredError."""
    actor.require(Permission.UPLOAD_CREATE)
    upload = queries.upload_for(actor, upload_id)
    if upload.status == UploadStatus.RECEIVING and upload.expires_at and upload.expires_at <= clock.now():
        raise UploadExpiredError()
    if upload.status == UploadStatus.RECEIVING:
        on_disk = partials.size(upload.pk)
        if on_disk is not None:  # the durable size: the record lags behind it after a crash mid-PATCH
            upload.offset = on_disk
    return upload


def terminate_upload(actor: Actor, upload_id) -> None:
    """The upload's owner: abandon an unfinished upload and free its space (tus termination).

    A completed upload is evidence handed to its target and is not deleted here.
    Raises UploadNotFoundError, UploadAlreadyCompleteError, UploadLockedError (a PATCH is running).
    """
    actor.require(Permission.UPLOAD_CREATE)
    upload = queries.upload_for(actor, upload_id)
    if upload.complete:
        raise UploadAlreadyCompleteError()
    with partials.held(upload.pk):  # UploadLockedError while a PATCH is running
        atomic(lambda tx: tx.collection(Upload).delete_one(
            {"_id": upload.pk, "status": UploadStatus.RECEIVING.value}, session=tx.session))
        partials.remove(upload.pk)


def expire_uploads(actor: Actor = SYSTEM, *, limit: int = 1000,
                   store: BlobStore | None = None) -> dict:
    """The system (``job:run``), from the scheduler: remove unfinished uploads past their expiry, with
    their partial files, then partial files that no record owns, and put back blobs that a crashed
    completion left hidden (``completion.recover_hidden_blobs``). Idempotent."""
    actor.require(Permission.JOB_RUN)
    now = clock.now()
    expired = 0
    for oid in queries.expired_ids(actor, now, limit):
        def work(tx, oid=oid):
            return tx.collection(Upload).delete_one(
                {"_id": oid, "status": UploadStatus.RECEIVING.value, "expires_at": {"$lt": now}},
                session=tx.session).deleted_count
        try:
            with partials.held(oid):  # a PATCH still streaming keeps its upload
                if atomic(work):
                    partials.remove(oid)
                    expired += 1
        except UploadLockedError:
            continue
    candidates = partials.listed(older_than=ORPHAN_GRACE)
    known = queries.existing_ids(actor, candidates) if candidates else set()
    orphans = [c for c in candidates if c not in known]
    for oid in orphans:
        partials.remove(oid)
    hidden = completion.recover_hidden_blobs(store or blob_store())
    return {"expired": expired, "orphans": len(orphans), "hidden_blobs": hidden}


def store_plain_upload(actor: Actor, *, target_kind: str, stream: BinaryIO, declared_sha256: str, declared_size: int,
                       target_id: str | None = None, filename: str | None = None, store: BlobStore | None = None) -> Upload:
    """Anyone with ``upload:create``: a whole file in one request body (the non-tus path intake exposes).

    Raises UploadTooLargeError (before reading, from ``declared_size``; or when the body runs past
    it), UploadTargetUnknownError, UploadMetadataInvalidError, UploadHashMismatchError,
    UploadSizeMismatchError, UnsupportedMediaError, the target's own refusals, UploadClaimExpiredError; in every
    case nothing is kept.
    """
    actor.require(Permission.UPLOAD_CREATE)
    limit = get_settings().max_upload_bytes
    if declared_size > limit:
        raise UploadTooLargeError(limit=limit)
    target = upload_target(target_kind)
    sha256 = rules.declared_sha256(declared_sha256)
    target_id = rules.target_id(target_id)
    if target.check:
        target.check(actor, target_id, sha256=sha256, length=declared_size)  # refuse a mismatch before any byte
    upload = Upload(id=new_id(), owner=str(actor.id), owner_unit=actor.home_unit, protocol="plain",
                    target_kind=target.kind, target_id=target_id, purpose=target.purpose, length=declared_size,
                    offset=declared_size, declared_sha256=sha256, label=rules.display_label(filename))
    return completion.complete_plain(actor, upload, stream, store=store or blob_store(), now=clock.now())
