"""The base of every stored document and the small MongoDB helpers beneath transactions.

It sits below ``storage`` (transactions), ``outbox`` and ``audit``, which all build on it, so
none of those three imports another in a loop.
"""
from __future__ import annotations

import mongoengine as me
from pymongo.errors import DuplicateKeyError, PyMongoError

from . import clock
from .ids import new_id


class Doc(me.Document):
    """Base of every stored document: a revision for optimistic concurrency and timestamps."""

    meta = {"abstract": True}
    id = me.ObjectIdField(primary_key=True, default=new_id)  # random: an id reveals nothing (domain/ids.py)
    rev = me.IntField(default=0)
    created_at = me.DateTimeField(default=clock.now)
    updated_at = me.DateTimeField(default=clock.now)


def retry_transaction(reason: str) -> PyMongoError:
    """An error to raise inside a transaction so that ``atomic`` runs it again on a fresh snapshot
    (labelled as MongoDB labels a write conflict)."""
    error = PyMongoError(reason)
    error._add_error_label("TransientTransactionError")
    return error


def ensure_document(coll, doc_id, defaults: dict) -> None:
    """Create a document if missing, outside any transaction (a duplicate means someone else did)."""
    try:
        coll.insert_one({"_id": doc_id, **defaults})
    except DuplicateKeyError:
        pass
