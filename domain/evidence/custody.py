"""Chain of custody of reads: serving a photo's working copies and its original, each read audited.

Custody of reads (docs/validation.md, "Jobs, working copies and custody"): opening an original or a preview is a custody event naming the
reader; a list of thumbnails is ONE event naming the photos shown. The events go to the chain of the
photo's task's office. The working copies (EXIF-rotated, no metadata) are the only copies anyone
but a supervisor of the office or an admin ever gets; the original is theirs alone.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from .. import storage
from ..access import Actor, Permission
from ..errors import EvidenceCopyNotReadyError
from ..pagination import Page
from ..reports import services as report_services
from . import blob_store, queries

THUMBNAIL, PREVIEW = "thumbnail", "preview"


@dataclass(frozen=True)
class ServedBlob:
    path: Path
    sha256: str
    media_type: str
    size: int


def _reader(actor: Actor) -> dict:
    return {"reader_id": actor.id, "reader_name": actor.username, "reader_role": str(actor.role)}


def _served(sha256: str, media_type: str) -> ServedBlob:
    store = blob_store()
    path = store.path(sha256)
    return ServedBlob(path, sha256, media_type, path.stat().st_size)


def read_working_copy(actor: Actor, evidence_id, copy: str) -> ServedBlob:
    """The photo's thumbnail or preview, with its custody event (``evidence.read-thumbnail`` /
    ``evidence.read-preview``). Who: EVIDENCE_READ, scoped like the photo's report (a liaison sees
    none yet). Raises Forbidden, EvidenceNotFoundError, EvidenceCopyNotReadyError."""
    actor.require(Permission.EVIDENCE_READ)
    record, _report = queries.get_evidence(actor, evidence_id)
    sha256 = record.thumbnail_sha256 if copy == THUMBNAIL else record.preview_sha256
    if not sha256 or not blob_store().exists(sha256):
        raise EvidenceCopyNotReadyError(id=str(record.pk), copy=copy)
    storage.atomic(lambda tx: tx.audit(
        actor, f"evidence.read-{copy}", target_type="evidence", target_id=record.pk, chain=str(record.office),
        target_unit=record.target_unit, after={**_reader(actor), "copy": copy, "sha256": sha256}))
    return _served(sha256, "image/jpeg")


def read_original(actor: Actor, evidence_id) -> ServedBlob:
    """The bytes the phone sent, with its custody event ``evidence.read-original``. Scope first, then
    authorise: out of scope is 404, in scope without EVIDENCE_READ_ORIGINAL (an inspector, a leader)
    is 403. Who: a supervisor of the photo's office, an admin. Raises Forbidden, EvidenceNotFoundError."""
    actor.require(Permission.EVIDENCE_READ)
    record, _report = queries.get_evidence(actor, evidence_id)
    actor.require(Permission.EVIDENCE_READ_ORIGINAL)
    storage.atomic(lambda tx: tx.audit(
        actor, "evidence.read-original", target_type="evidence", target_id=record.pk, chain=str(record.office),
        target_unit=record.target_unit, after={**_reader(actor), "sha256": record.sha256}))
    return _served(record.sha256, record.media_type)


def list_report_evidence(actor: Actor, report_id, *, cursor=None, limit: int = 50, thumbnails: bool = False) -> Page:
    """One page of a report's photos (metadata and verdicts). With ``thumbnails`` each photo that has
    one carries it inline (``thumbnail_base64``), and the page is ONE custody event
    ``evidence.list-thumbnails`` naming the photos shown. Who: REPORT_EVIDENCE_READ, scoped like the
    report. Raises Forbidden, ReportNotFoundError, InvalidCursorError."""
    result = report_services.list_evidence(actor, report_id, cursor=cursor, limit=limit)
    if not thumbnails:
        return result
    store, shown = blob_store(), []
    for record in result.items:
        if record.thumbnail_sha256 and store.exists(record.thumbnail_sha256):
            record.thumbnail_base64 = base64.b64encode(store.path(record.thumbnail_sha256).read_bytes()).decode()
            shown.append(record)
    if shown:
        first = shown[0]
        storage.atomic(lambda tx: tx.audit(
            actor, "evidence.list-thumbnails", target_type="report", target_id=first.report,
            chain=str(first.office), target_unit=first.target_unit,
            after={**_reader(actor), "evidence": [str(r.pk) for r in shown]}))
    return result
