"""tus partial files: ``<data_dir>/uploads/<upload id>.part``, named by the id alone.

Bytes are appended at the recorded offset and fsynced before the offset is stored, so the
offset in the database never runs ahead of what is on disk; a write that died half-way is
cut back to the offset by the next PATCH.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import BinaryIO, Callable

from bson import ObjectId

from ..config import get_settings
from ..errors import UploadTooLargeError

CHUNK = 256 * 1024
RENEW_EVERY = 15.0  # seconds between lease renewals while a long body streams


class BodyInterrupted(IOError):
    """The client went away before sending the whole body (the API's stream adapter raises it)."""


def root() -> Path:
    return get_settings().data_dir / "uploads"


def path(upload_id) -> Path:
    return root() / f"{ObjectId(str(upload_id))}.part"  # ObjectId() refuses anything but 24 hex digits


def create(upload_id) -> Path:
    p = path(upload_id)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    return p


def remove(upload_id) -> None:
    try:
        path(upload_id).unlink(missing_ok=True)
    except PermissionError:  # already adopted (read-only) and about to be unlinked by the store
        pass


def head(upload_id, n: int) -> bytes:
    with open(path(upload_id), "rb") as fh:
        return fh.read(n)


class Written:
    def __init__(self):
        self.size = 0
        self.interrupted = False
        self.digest = None


def append(upload_id, offset: int, body: BinaryIO, *, limit: int, checksum_algorithm: str | None,
           renew: Callable[[], None]) -> Written:
    """Write ``body`` at ``offset``: at most ``limit`` bytes (more is ``UploadTooLargeError`` and
    nothing is kept), hashing with ``checksum_algorithm`` if given. An interrupted body keeps
    what arrived; every other failure cuts the file back to ``offset``."""
    out = Written()
    digest = hashlib.new(checksum_algorithm) if checksum_algorithm else None
    last_renew = time.monotonic()
    with open(path(upload_id), "r+b") as fh:
        try:
            fh.truncate(offset)
            fh.seek(offset)
            while True:
                try:
                    chunk = body.read(CHUNK)
                except BodyInterrupted:
                    out.interrupted = True
                    break
                if not chunk:
                    break
                if out.size + len(chunk) > limit:
                    raise UploadTooLargeError(limit=limit)
                fh.write(chunk)
                out.size += len(chunk)
                if digest is not None:
                    digest.update(chunk)
                if time.monotonic() - last_renew > RENEW_EVERY:
                    renew()
                    last_renew = time.monotonic()
            fh.flush()
            os.fsync(fh.fileno())
        except BaseException:
            fh.truncate(offset)
            raise
    out.digest = digest.digest() if digest is not None else None
    return out


def cut(upload_id, offset: int) -> None:
    """Discard what was written past ``offset`` (a chunk whose checksum failed)."""
    with open(path(upload_id), "r+b") as fh:
        fh.truncate(offset)
        os.fsync(fh.fileno())


def listed(older_than: float) -> list[str]:
    """Ids of partial files not modified for ``older_than`` seconds."""
    d = root()
    if not d.is_dir():
        return []
    cutoff = time.time() - older_than
    ids = []
    for entry in os.scandir(d):
        stem, _, ext = entry.name.partition(".")
        if ext == "part" and ObjectId.is_valid(stem) and entry.stat().st_mtime < cutoff:
            ids.append(stem)
    return ids
