"""The one factory of new document ids: random, so an id tells nobody what else was made.

A standard ObjectId carries its creation second, a per-process random part and a counter that
grows by one per id: two open tasks a department can see would be 2 apart, or 4 when an undercover
task was planned in between. Ours are 12 random bytes from the OS (96 bits: collisions are out of
reach), still an ObjectId on the wire and in the database, so URL converters, cursors and file
names built from ids keep working. Ids made before this change stay as they are. Nothing may read
time or order from an id: sort on ``created_at`` with the id only as a tie-break.
"""
from __future__ import annotations

import os

from bson import ObjectId


def new_id() -> ObjectId:
    """A fresh id with no counter, no process part and no timestamp in it."""
    return ObjectId(os.urandom(12))
