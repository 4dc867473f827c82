"""Reads of uploads. An upload is visible only to the account that created it."""
from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from ..access import Actor, Permission
from ..errors import UploadNotFoundError
from .models import Upload, UploadStatus


def _oid(upload_id) -> ObjectId:
    if not ObjectId.is_valid(str(upload_id)):
        raise UploadNotFoundError()
    return ObjectId(str(upload_id))


def upload_for(actor: Actor, upload_id) -> Upload:
    """The actor's own upload; anyone else's, or none, is ``UploadNotFoundError`` alike."""
    upload = Upload.objects(pk=_oid(upload_id), owner=str(actor.id)).first() if actor.id else None
    if upload is None:
        raise UploadNotFoundError()
    return upload


def open_count(actor: Actor) -> int:
    return Upload.objects(owner=str(actor.id), status=UploadStatus.RECEIVING).count()


def expired_ids(actor: Actor, now: datetime, limit: int) -> list[ObjectId]:
    actor.require(Permission.JOB_RUN)
    found = Upload._get_collection().find({"status": UploadStatus.RECEIVING.value, "expires_at": {"$lt": now}},
                                          {"_id": 1}).sort("expires_at", 1).limit(limit)
    return [d["_id"] for d in found]


def existing_ids(actor: Actor, ids: list[str]) -> set[str]:
    actor.require(Permission.JOB_RUN)
    found = Upload._get_collection().find({"_id": {"$in": [ObjectId(i) for i in ids]}}, {"_id": 1})
    return {str(d["_id"]) for d in found}
