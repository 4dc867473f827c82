"""Appending to and verifying HMAC-linked audit chains.

Each event's ``hash`` is HMAC-SHA256(key, prev_hash + canonical JSON of the event), with
the key kept outside the database, so someone who can write to the database cannot
rewrite history unseen. The chain head is bumped inside the same transaction as the
event: two concurrent appends conflict on the head and one retries, and the unique
(chain, seq) index makes a fork impossible even if that were bypassed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

import mongoengine as me
from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from ..config import get_settings
from ..context import request_id
from ..storage import ensure_document, utcnow

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64


class AuditHead(me.Document):
    id = me.StringField(primary_key=True)  # the chain: an office id or "system"
    seq = me.IntField(default=0)
    hash = me.StringField(default=GENESIS)
    meta = {"collection": "audit_heads"}


class AuditEvent(me.Document):
    chain = me.StringField(required=True)
    seq = me.IntField(required=True)
    prev_hash = me.StringField(required=True)
    hash = me.StringField(required=True)
    at = me.DateTimeField(required=True)
    actor_id = me.StringField()
    actor_role = me.StringField(required=True)
    actor_name = me.StringField()
    action = me.StringField(required=True)
    target_type = me.StringField(required=True)
    target_id = me.StringField()
    target_unit = me.StringField()  # for jurisdiction-scoped listing, whatever the chain
    request_id = me.StringField()
    before = me.DictField()
    after = me.DictField()

    meta = {"collection": "audit_events", "indexes": [
        {"fields": ["chain", "seq"], "unique": True},
        ("target_unit", "-at"),
        ("target_type", "target_id", "seq"),
        ("-at",),
    ]}


HASHED_FIELDS = ("chain", "seq", "prev_hash", "at", "actor_id", "actor_role", "actor_name", "action",
                 "target_type", "target_id", "target_unit", "request_id", "before", "after")


def _jsonable(value):
    """Normalise a summary so that what we hash is exactly what reads back from Mongo."""
    if value is None:
        return {}
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _at_iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def link_hash(key: bytes, fields: dict) -> str:
    body = {k: fields.get(k) for k in HASHED_FIELDS}
    body["at"] = _at_iso(body["at"])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(key, (fields["prev_hash"] + canonical).encode(), hashlib.sha256).hexdigest()


def ensure_chain(chain: str) -> None:
    ensure_document(AuditHead._get_collection(), chain, {"seq": 0, "hash": GENESIS})


def append_event(tx, actor, action: str, *, target_type: str, target_id, chain: str,
                 target_unit=None, before: dict | None = None, after: dict | None = None) -> dict:
    heads = AuditHead._get_collection()
    head = heads.find_one_and_update({"_id": chain}, {"$inc": {"seq": 1}}, session=tx.session,
                                     return_document=ReturnDocument.BEFORE)
    if head is None:
        # The head document must exist before the transaction: creating it inside would make
        # two first writers fail on a duplicate key instead of retrying.
        # Create it outside, then retry the whole transaction on a fresh snapshot that sees it.
        ensure_chain(chain)
        retry = PyMongoError(f"audit chain head {chain} created; retrying")
        retry._add_error_label("TransientTransactionError")
        raise retry
    fields = {
        "chain": chain,
        "seq": head["seq"] + 1,
        "prev_hash": head["hash"],
        "at": utcnow(),
        "actor_id": str(actor.id) if actor.id else None,
        "actor_role": str(actor.role),
        "actor_name": actor.username or None,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else None,
        "target_unit": str(target_unit) if target_unit is not None else None,
        "request_id": request_id.get(),
        "before": _jsonable(before),
        "after": _jsonable(after),
    }
    fields["hash"] = link_hash(get_settings().audit_key(), fields)
    AuditEvent._get_collection().insert_one(dict(fields), session=tx.session)
    heads.update_one({"_id": chain}, {"$set": {"hash": fields["hash"]}}, session=tx.session)
    return fields


@dataclass
class ChainReport:
    chain: str
    checked: int
    ok: bool
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(chain: str, key: bytes | None = None, exported_head: dict | None = None) -> ChainReport:
    """Walk a chain in order; name the first link whose sequence, predecessor or HMAC is wrong."""
    key = key or get_settings().audit_key()
    prev, expected_seq, checked = GENESIS, 1, 0
    cursor = AuditEvent._get_collection().find({"chain": chain}).sort("seq", 1)
    for raw in cursor:
        if raw["seq"] != expected_seq:
            return ChainReport(chain, checked, False, expected_seq, f"gap: expected seq {expected_seq}, found {raw['seq']}")
        if raw["prev_hash"] != prev:
            return ChainReport(chain, checked, False, raw["seq"], "prev_hash does not match the previous link")
        if not hmac.compare_digest(link_hash(key, raw), raw["hash"]):
            return ChainReport(chain, checked, False, raw["seq"], "HMAC does not match the event's content")
        prev, expected_seq, checked = raw["hash"], expected_seq + 1, checked + 1
    head = AuditHead._get_collection().find_one({"_id": chain})
    if head and (head["seq"] != checked or head["hash"] != prev):
        return ChainReport(chain, checked, False, checked + 1, "chain head does not match the last link (events removed?)")
    if exported_head and exported_head.get("seq", 0) > checked:
        return ChainReport(chain, checked, False, checked + 1, "chain is shorter than its exported head (events removed)")
    if exported_head and exported_head.get("seq") and exported_head["seq"] <= checked:
        ev = AuditEvent._get_collection().find_one({"chain": chain, "seq": exported_head["seq"]})
        if ev is None or ev["hash"] != exported_head["hash"]:
            return ChainReport(chain, checked, False, exported_head["seq"], "link differs from its exported head (history rewritten)")
    return ChainReport(chain, checked, True)
