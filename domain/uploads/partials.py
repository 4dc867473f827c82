"""tus partial files: ``<data_dir>/uploads/<upload id>.part``, named by the id alone.

Partial storage is a port that owns the lock and the offset (docs/uploads.md, "One PATCH at a
time"). The lock is an ``flock`` on the partial file, opened per request: it excludes other
threads and processes, and dies with its holder, so a killed worker never leaves an upload
locked. The offset is the file's size. Data is fsynced every ``SYNC_EVERY`` bytes while a body
arrives and at the end of each PATCH, so after a crash the size names bytes the file holds.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from bson import ObjectId

from ..config import get_settings
from ..errors import UploadLockedError, UploadTooLargeError

CHUNK = 256 * 1024
SYNC_EVERY = 4 * 1024 * 1024  # bytes between fsyncs while a long body streams: what a crash may cost the phone


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


def size(upload_id) -> int | None:
    """The offset a partial stands at (its file size), or None when there is no partial file."""
    try:
        return path(upload_id).stat().st_size
    except FileNotFoundError:
        return None


class Written:
    def __init__(self):
        self.size = 0
        self.interrupted = False
        self.digest = None


class Partial:
    """One upload's partial file, opened and locked by this request (see ``held``)."""

    def __init__(self, upload_id, fh):
        self.upload_id = upload_id
        self.fh = fh

    @property
    def size(self) -> int:
        return os.fstat(self.fh.fileno()).st_size

    def append(self, offset: int, body: BinaryIO, *, limit: int, checksum_algorithm: str | None) -> Written:
        """Write ``body`` at ``offset``: at most ``limit`` bytes (more is ``UploadTooLargeError`` and
        nothing is kept), hashing with ``checksum_algorithm`` if given. An interrupted body keeps
        what arrived (fsynced); every other failure cuts the file back to ``offset``."""
        out = Written()
        digest = hashlib.new(checksum_algorithm) if checksum_algorithm else None
        fh, unsynced = self.fh, 0
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
                unsynced += len(chunk)
                if digest is not None:
                    digest.update(chunk)
                if unsynced >= SYNC_EVERY:
                    self.sync()
                    unsynced = 0
            self.sync()
        except BaseException:
            fh.truncate(offset)
            raise
        out.digest = digest.digest() if digest is not None else None
        return out

    def cut(self, offset: int) -> None:
        """Discard what was written past ``offset`` (a chunk whose checksum failed)."""
        self.fh.truncate(offset)
        self.sync()

    def sync(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())


@contextmanager
def held(upload_id) -> Iterator[Partial | None]:
    """The upload's partial, locked for this block: ``UploadLockedError`` at once if another request
    holds it. Yields None when there is no partial file (none yet, or already adopted by the store)."""
    p = path(upload_id)
    try:
        fh = open(p, "r+b")
    except FileNotFoundError:
        yield None
        return
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UploadLockedError() from None
            raise
        # Removed (terminated, swept, adopted) between our open and our lock: the file we hold is gone.
        try:
            same = os.stat(p).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        yield Partial(upload_id, fh) if same else None
        # Closing the file releases the lock, also when the process dies.


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
