"""Test-only jobs the real workers import from the project directory (rq's --path defaults to '.')."""
from __future__ import annotations

import os
import time


def slow_marker(name: str, seconds: float) -> dict:
    """Sleep, then record one attempt in the database: a job long enough to be killed mid-way."""
    from domain import storage
    from workers import bootstrap

    bootstrap.setup()
    markers = storage.database()["e2e_markers"]
    markers.update_one({"_id": name}, {"$push": {"pids": os.getpid()}}, upsert=True)  # the work horse's pid
    time.sleep(seconds)
    markers.update_one({"_id": name}, {"$inc": {"finished": 1}})
    return {"name": name}
