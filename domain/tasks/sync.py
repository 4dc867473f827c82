"""The phone's task sync: the change counter, the opaque sync token, the baseline and the delta.

Every task write takes the next value of one counter inside its own transaction and stores it on
the task. Two writers both ``$inc`` the one counter document, so the second conflicts and retries
after the first commits: sequence order is commit order. A sync reads the counter BEFORE it reads
the tasks and hands that value back as the token, so a write committing meanwhile has a higher
number and comes with the next sync, never skipped (at worst sent twice).
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pymongo import ReturnDocument

from .. import storage
from ..access import Actor, Permission
from ..config import get_settings
from ..errors import SyncTokenInvalidError
from . import queries, rules
from .models import Task, TaskStatus
from .. import clock

COUNTER_ID = "task_sync"
CLOCK_SKEW = timedelta(minutes=5)


def _counters():
    return storage.database()["counters"]


def ensure_sync_counter() -> None:
    """Create the counter document outside any transaction (SecantusDB: an upserting ``$inc`` on a
    missing document may answer None to a racing first caller; an insert that ignores the duplicate
    key never does). Run at start; ``next_seq`` also does it when a fresh database lacks it."""
    storage.ensure_document(_counters(), COUNTER_ID, {"seq": 0})


def next_seq(tx: storage.Tx) -> int:
    """The next change number, taken inside the task write's transaction."""
    doc = _counters().find_one_and_update({"_id": COUNTER_ID}, {"$inc": {"seq": 1}}, session=tx.session,
                                          return_document=ReturnDocument.AFTER)
    if doc is None:
        # Never upsert here (see ensure_sync_counter): create it outside, then retry the whole
        # transaction on a fresh snapshot that sees it.
        ensure_sync_counter()
        raise storage.retry_transaction("task sync counter created; retrying")
    return int(doc["seq"])


def current_seq() -> int:
    """The last committed change number."""
    doc = _counters().find_one({"_id": COUNTER_ID})
    return int(doc["seq"]) if doc else 0


def encode_token(seq: int, at: datetime) -> str:
    """Opaque to the phone: base64url of the change number and the server time of the sync."""
    ms = int(at.timestamp() * 1000)
    return base64.urlsafe_b64encode(json.dumps({"s": seq, "t": ms}, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str, *, current: int, now: datetime) -> tuple[int, datetime]:
    """The (seq, at) of a token this server issued; anything else is SyncTokenInvalidError (422):
    the phone then drops its token and syncs in full."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        seq, ms = raw["s"], raw["t"]
        if type(seq) is not int or type(ms) is not int or seq < 0:
            raise ValueError("not integers")
        at = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (ValueError, KeyError, TypeError, OverflowError, OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise SyncTokenInvalidError(reason="malformed") from None
    if seq > current or at > now + CLOCK_SKEW:
        # from the future, or from another database (restored, or reset): never trust it
        raise SyncTokenInvalidError(reason="unknown")
    return seq, at


def baseline_etag(inspector_id, tasks: list[Task], days: int) -> str:
    """Weak: it names the set (ids and their change numbers), not the bytes, which also carry a new token."""
    h = hashlib.sha256(f"{inspector_id}|{days}".encode())
    for t in tasks:
        h.update(f"|{t.pk}:{t.sync_seq}".encode())
    return f'W/"{h.hexdigest()[:32]}"'


@dataclass
class SyncResult:
    full: bool
    sync_token: str
    tasks: list[Task] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    etag: str | None = None  # full syncs only


def _removal(task: Task, inspector_id, now: datetime, days: int) -> str | None:
    """Why a task changed since the token is no longer on the phone, or None if it is (send it whole)."""
    if task.assignment_of(inspector_id) is None:
        return "unassigned"
    if task.status is TaskStatus.CANCELLED:
        return "cancelled"
    if not rules.is_active(task.status, task.submitted_at, now, days):
        return "expired"
    return None


def sync_tasks(actor: Actor, updated_since: str | None = None) -> SyncResult:
    """The inspector's active tasks in full (with an ETag), or with ``updated_since`` only what changed
    since that token plus removal markers {id, removed, reason} for tasks that left the active set.

    Who: an inspector (Permission.TASK_SYNC), for its own assignments only.
    Raises Forbidden, SyncTokenInvalidError.
    """
    actor.require(Permission.TASK_SYNC)
    now = clock.now()
    days = get_settings().sync_submitted_days
    seq = current_seq()  # BEFORE the reads below: see the module docstring
    token = encode_token(seq, now)
    if updated_since is None:
        tasks = queries.sync_active(actor.id, now, days)
        return SyncResult(True, token, tasks, [], baseline_etag(actor.id, tasks, days))
    since_seq, since_at = decode_token(updated_since, current=seq, now=now)
    window = timedelta(days=days)
    result = SyncResult(False, token)
    for task in queries.sync_changed(actor.id, since_seq, since_at - window, now - window):
        reason = _removal(task, actor.id, now, days)
        if reason is None:
            result.tasks.append(task)
        else:
            result.removed.append({"id": str(task.pk), "removed": True, "reason": reason})
    return result
