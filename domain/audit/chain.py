"""Appending to and verifying HMAC-linked audit chains.

Each event's ``hash`` is HMAC-SHA256(key, prev_hash + canonical JSON of the event), with
the key kept outside the database, so someone who can write to the database cannot
rewrite history unseen. The chain head is bumped inside the same transaction as the
event: two concurrent appends conflict on the head and one retries, and the unique
(chain, seq) index makes a fork impossible even if that were bypassed.

What the chain alone cannot show is its own end: deleting the last events and moving
the head back needs no key. The heads exported on a schedule (``heads.py``) cover that.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from typing import Mapping

import mongoengine as me
from pymongo import ReturnDocument

from ..config import get_settings
from ..context import request_id
from .. import clock
from ..ids import new_id
from ..base import ensure_document, retry_transaction

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64


class AppendOnlyQuerySet(me.QuerySet):
    """The app never deletes or edits audit history (网络安全法 第二十一条: keep at least six months)."""

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are never deleted")

    def update(self, *args, **kwargs):
        raise TypeError("audit events are never modified")


class AuditHead(me.Document):
    id = me.StringField(primary_key=True)  # the chain: an office id or "system"
    seq = me.IntField(default=0)
    hash = me.StringField(default=GENESIS)
    meta = {"collection": "audit_heads", "queryset_class": AppendOnlyQuerySet}


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

    # Listing is newest first with (at, _id) as the keyset; every filter has an index ending in it.
    meta = {"collection": "audit_events", "queryset_class": AppendOnlyQuerySet, "indexes": [
        {"fields": ["chain", "seq"], "unique": True},
        ("-at", "-_id"),
        ("target_unit", "-at", "-_id"),
        ("target_type", "target_id", "-at", "-_id"),
        ("actor_id", "-at", "-_id"),
        ("action", "-at", "-_id"),
    ]}

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are never deleted")


HASHED_FIELDS = ("chain", "seq", "prev_hash", "at", "actor_id", "actor_role", "actor_name", "action",
                 "target_type", "target_id", "target_unit", "request_id", "before", "after")
# Anything else on a stored event was not written by append_event.
STORED_FIELDS = frozenset(HASHED_FIELDS) | {"_id", "hash"}


def _plain(value):
    """JSON default for summaries: UTC ISO times, enum values, sorted sets, anything else as a string."""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)  # ObjectId, Decimal, …


def _jsonable(value) -> dict:
    """Normalise a summary so that what we hash is exactly what reads back from Mongo."""
    if value is None:
        return {}
    return json.loads(json.dumps(value, default=_plain, ensure_ascii=False))


def _at_iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def link_hash(key: bytes, fields: Mapping) -> str:
    body = {k: fields.get(k) for k in HASHED_FIELDS}
    body["at"] = _at_iso(body["at"])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(key, (str(fields["prev_hash"]) + canonical).encode(), hashlib.sha256).hexdigest()


def ensure_chain(chain: str) -> None:
    ensure_document(AuditHead._get_collection(), chain, {"seq": 0, "hash": GENESIS})


@dataclass(frozen=True)
class ChainHead:
    """A chain's head as some committed state had it (``peek_head``)."""

    chain: str
    seq: int
    hash: str


def peek_head(chain: str) -> ChainHead | None:
    """The chain's head as last committed, read outside any transaction and without its lock. An
    append that expects it (``append_event(..., expected=...)``) spends one round trip instead of
    two on the head inside its transaction; one that finds it moved on takes the lock as usual."""
    doc = AuditHead._get_collection().find_one({"_id": chain})
    return ChainHead(chain, doc["seq"], doc["hash"]) if doc else None


def append_event(tx, actor, action: str, *, target_type: str, target_id, chain: str,
                 target_unit=None, before: dict | None = None, after: dict | None = None,
                 expected: ChainHead | None = None) -> dict:
    """Link the event to the chain's head inside ``tx``. The head's update holds its lock to the
    commit, so concurrent appenders to one chain conflict and retry, never fork it."""
    heads = AuditHead._get_collection()
    if expected is not None and expected.chain == chain:
        fields = _link(actor, action, chain, expected.seq, expected.hash, target_type, target_id, target_unit,
                       before, after)
        moved = heads.update_one({"_id": chain, "seq": expected.seq, "hash": expected.hash},
                                 {"$set": {"seq": fields["seq"], "hash": fields["hash"]}}, session=tx.session)
        if moved.matched_count == 1:
            AuditEvent._get_collection().insert_one({"_id": new_id(), **fields}, session=tx.session)
            return fields
        # Another event was committed since the peek (this snapshot sees it): take the lock as usual.
    head = heads.find_one_and_update({"_id": chain}, {"$inc": {"seq": 1}}, session=tx.session,
                                     return_document=ReturnDocument.BEFORE)
    if head is None:
        # The head document must exist before the transaction: creating it inside would make
        # two first writers fail on a duplicate key instead of retrying.
        # Create it outside, then retry the whole transaction on a fresh snapshot that sees it.
        ensure_chain(chain)
        raise retry_transaction(f"audit chain head {chain} created; retrying")
    fields = _link(actor, action, chain, head["seq"], head["hash"], target_type, target_id, target_unit, before,
                   after)
    AuditEvent._get_collection().insert_one({"_id": new_id(), **fields}, session=tx.session)
    heads.update_one({"_id": chain}, {"$set": {"hash": fields["hash"]}}, session=tx.session)
    return fields


def _link(actor, action: str, chain: str, head_seq: int, head_hash: str, target_type: str, target_id,
          target_unit, before: dict | None, after: dict | None) -> dict:
    """The stored event that follows the head (seq, hash), with its HMAC link."""
    rid = request_id.get()
    fields = {
        "chain": chain,
        "seq": head_seq + 1,
        "prev_hash": head_hash,
        "at": clock.now(),
        "actor_id": str(actor.id) if actor.id else None,
        "actor_role": str(actor.role),
        "actor_name": actor.username or None,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else None,
        "target_unit": str(target_unit) if target_unit is not None else None,
        "request_id": rid if rid and rid != "-" else None,
        "before": _jsonable(before),
        "after": _jsonable(after),
    }
    fields["hash"] = link_hash(get_settings().audit_key(), fields)
    return fields


@dataclass
class ChainReport:
    """The outcome of verifying one chain. ``reason`` is a stable code, ``detail`` says it for people."""

    chain: str
    checked: int
    ok: bool
    first_broken_seq: int | None = None
    reason: str | None = None
    detail: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"chain {self.chain}: ok ({self.checked} events)"
        return (f"chain {self.chain}: BROKEN at seq {self.first_broken_seq}: {self.reason}"
                f" ({self.detail}; {self.checked} events sound before it)")


def _broken(chain, checked, seq, reason, detail) -> ChainReport:
    return ChainReport(chain, checked, False, seq, reason, detail)


def verify_chain(chain: str, key: bytes | None = None, exported: Mapping[int, str] | None = None) -> ChainReport:
    """Walk a chain in order; name the first link whose sequence, predecessor, content or HMAC is wrong,
    then check the stored head and the exported heads (``{seq: hash}``) against the last link.

    Safe while appends go on: the head is read first and only links up to it are walked (an event
    and its head commit together, so every link up to the head is visible by then).
    """
    key = key or get_settings().audit_key()
    heads, events = AuditHead._get_collection(), AuditEvent._get_collection()
    head = heads.find_one({"_id": chain})
    query: dict = {"chain": chain}
    if head is not None:
        query["seq"] = {"$lte": head.get("seq")}
    exported = dict(exported or {})
    prev, expected, checked = GENESIS, 1, 0
    for raw in events.find(query).sort("seq", 1):
        seq = raw.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return _broken(chain, checked, expected, "malformed", f"seq {seq!r} is not an integer")
        if seq < expected:
            return _broken(chain, checked, seq, "duplicate", f"a second event with seq {seq}")
        if seq > expected:
            return _broken(chain, checked, expected, "gap", f"expected seq {expected}, found {seq}")
        extra = sorted(set(raw) - STORED_FIELDS)
        if extra:
            return _broken(chain, checked, seq, "unexpected-field", f"fields not written by the app: {extra}")
        if raw.get("prev_hash") != prev:
            return _broken(chain, checked, seq, "prev-hash", "prev_hash does not match the previous link")
        try:
            sound = hmac.compare_digest(link_hash(key, raw), str(raw.get("hash")))
        except (KeyError, TypeError, AttributeError, ValueError):
            sound = False
        if not sound:
            return _broken(chain, checked, seq, "hmac", "HMAC does not match the event's content")
        if seq in exported and exported[seq] != raw["hash"]:
            return _broken(chain, checked, seq, "exported-head-differs",
                           "the link differs from its exported head (history rewritten)")
        prev, expected, checked = raw["hash"], expected + 1, checked + 1
    if head is None and checked:
        return _broken(chain, checked, checked + 1, "head-missing", "events exist but the chain head is gone")
    if head is not None and head.get("seq") != checked:
        return _broken(chain, checked, checked + 1, "truncated",
                       f"the head says {head.get('seq')} events, the chain has {checked}")
    if head is not None and head.get("hash") != prev:
        return _broken(chain, checked, checked, "head-hash", "the head's hash is not the last link's")
    longest = max(exported, default=0)
    if longest > checked:
        return _broken(chain, checked, checked + 1, "shorter-than-exported-head",
                       f"an exported head has seq {longest}, the chain ends at {checked} (events removed)")
    if head is not None:
        # Read the newest event before re-reading the head: a committed event implies a head at
        # least as far, so an event beyond the head was written around the application.
        newest = events.find_one({"chain": chain}, {"seq": 1}, sort=[("seq", -1)])
        again = heads.find_one({"_id": chain}) or {}
        if newest and isinstance(newest.get("seq"), int) and newest["seq"] > (again.get("seq") or 0):
            return _broken(chain, checked, (again.get("seq") or 0) + 1, "beyond-head",
                           f"an event with seq {newest['seq']} lies beyond the head")
    return ChainReport(chain, checked, True)
