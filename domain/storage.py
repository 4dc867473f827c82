"""Database connection and the one way to write: a transaction that carries the change,
its audit events and its outbox entries together.

mongoengine has no session API, so writes go through pymongo with a session
(``Document._get_collection()`` and ``to_mongo()``); reads stay with mongoengine.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import mongoengine as me
from bson import ObjectId
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from . import clock
from .ids import new_id
from .audit.chain import append_event
from .base import Doc, ensure_document, retry_transaction  # noqa: F401  (re-exported: models import Doc from here)
from .errors import ConcurrentModificationError
from .outbox import OutboxEntry
from .ports import QueueName

T = TypeVar("T")
ALIAS = "default"


def connect(uri: str, db: str | None = None) -> None:
    """Lazily connect (``connect=False``) so forked gunicorn and RQ processes open their own clients."""
    me.disconnect(ALIAS)
    kwargs: dict[str, Any] = dict(host=uri, alias=ALIAS, uuidRepresentation="standard", tz_aware=True,
                                  connect=False, serverSelectionTimeoutMS=5000)
    if db:
        kwargs["db"] = db
    me.connect(**kwargs)


def client():
    return me.get_connection(ALIAS)


def database():
    return me.get_db(ALIAS)


class Tx:
    """One attempt of a transaction. Callbacks may run more than once (transient-error retries),
    so they only stage writes through this object and never touch anything else."""

    def __init__(self, session):
        self.session = session
        self._after_commit: list[Callable[[], None]] = []
        self.outbox_ids: list[ObjectId] = []

    def insert(self, doc: me.Document) -> me.Document:
        if doc.pk is None:
            doc.pk = new_id()
        doc.validate()
        doc._get_collection().insert_one(doc.to_mongo(), session=self.session)
        return doc

    def save(self, doc: Doc) -> Doc:
        """Replace ``doc`` if nobody changed it since it was read; bump its revision."""
        doc.validate()
        son = doc.to_mongo()
        son["rev"] = doc.rev + 1
        son["updated_at"] = clock.now()
        result = doc._get_collection().replace_one({"_id": doc.pk, "rev": doc.rev}, son, session=self.session)
        if result.matched_count != 1:
            raise ConcurrentModificationError(kind=doc._class_name, id=str(doc.pk))
        new_rev, new_updated = son["rev"], son["updated_at"]

        def apply():
            doc.rev, doc.updated_at = new_rev, new_updated
        self._after_commit.append(apply)
        return doc

    def delete(self, doc: Doc) -> None:
        result = doc._get_collection().delete_one({"_id": doc.pk, "rev": doc.rev}, session=self.session)
        if result.deleted_count != 1:
            raise ConcurrentModificationError(kind=doc._class_name, id=str(doc.pk))

    def collection(self, doc_cls: type[me.Document]):
        return doc_cls._get_collection()

    def enqueue(self, job: str, *args, queue: str = QueueName.DEFAULT, **kwargs):
        """Stage a background job in the outbox; the dispatcher hands it to RQ after commit."""
        entry = OutboxEntry(job=job, args=list(args), kwargs=kwargs, queue=queue)
        self.insert(entry)
        self.outbox_ids.append(entry.pk)
        return entry

    def audit(self, actor, action: str, *, target_type: str, target_id: Any, chain: str,
              target_unit: Any = None, before: dict | None = None, after: dict | None = None,
              expected_head=None):
        """Append an audit event to ``chain`` inside this transaction.

        Call it last: the chain head stays locked from here to the commit, and concurrent
        writers to the same office chain conflict (and retry) on it. ``expected_head``: the head
        as audit.chain.peek_head read it before the transaction, which saves a round trip while
        no other event came in between."""
        return append_event(self, actor, action, target_type=target_type, target_id=target_id,
                            chain=chain, target_unit=target_unit, before=before, after=after,
                            expected=expected_head)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)


_post_commit_hooks: list[Callable[[list[ObjectId]], None]] = []


def on_commit_with_outbox(hook: Callable[[list[ObjectId]], None]) -> None:
    """Register (once) a hook run after a commit that wrote outbox entries: API and worker processes
    hand those entries to the queue at once instead of waiting for the sweep."""
    if hook not in _post_commit_hooks:
        _post_commit_hooks.append(hook)


def atomic(fn: Callable[[Tx], T]) -> T:
    """Run ``fn`` in a multi-document transaction, retried on transient errors."""
    box: dict[str, Tx] = {}

    def callback(session):
        tx = Tx(session)
        box["tx"] = tx
        return fn(tx)

    with client().start_session() as session:
        result = session.with_transaction(
            callback,
            read_concern=ReadConcern("snapshot"),
            write_concern=WriteConcern("majority", j=True),
        )
    tx = box["tx"]
    for apply in tx._after_commit:
        apply()
    if tx.outbox_ids:
        for hook in _post_commit_hooks:
            try:
                hook(list(tx.outbox_ids))
            except Exception:  # the sweep will dispatch what the kick could not
                pass
    return result


def ensure_indexes() -> None:
    """Create every declared index (idempotent; run at start by each process)."""
    from mongoengine.base import _document_registry

    seen = set()
    for cls in list(_document_registry.values()):
        if cls._meta.get("abstract"):
            continue
        name = cls._get_collection_name()
        if not name or name in seen:
            continue
        seen.add(name)
        cls.ensure_indexes()
