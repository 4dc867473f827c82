"""The blob store port and its filesystem adapter: content-addressed, write-once evidence bytes.

A blob is named by the SHA-256 of its bytes, so storing the same photo twice keeps one
copy and a blob can never be changed without changing its name. Because one blob is shared
by every upload of the same bytes, the store never decides alone to delete one: ``discard``
hides it first and asks its caller who still needs it (``domain.uploads.completion``).
A later object-store backend implements the same port.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from ..errors import (UnsupportedMediaError, UploadHashMismatchError, UploadMetadataInvalidError,
                      UploadSizeMismatchError, UploadTooLargeError)
from . import sniff

CHUNK = 256 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    media_type: str
    created: bool = field(default=False, compare=False)  # this call stored new bytes (else they were there)


def valid_sha256(value: str) -> bool:
    return isinstance(value, str) and bool(_SHA256.match(value))


class BlobStore(ABC):
    """Port: where evidence bytes live once they are complete, verified and of an accepted type."""

    @abstractmethod
    def put_stream(self, readable: BinaryIO, *, max_bytes: int, expected_sha256: str | None = None,
                   expected_size: int | None = None, allowed_media_types: Iterable[str] | None = None,
                   on_verified: Callable[[str], None] | None = None) -> BlobInfo:
        """Store what ``readable`` yields, streamed and hashed in chunks. Stores nothing and raises
        ``UploadTooLargeError`` past ``max_bytes``, ``UploadHashMismatchError`` /
        ``UploadSizeMismatchError`` when the bytes differ from the declaration, and
        ``UnsupportedMediaError`` when the sniffed type is not in ``allowed_media_types``.
        ``on_verified(sha256)`` runs once the bytes passed every check and before the store looks
        for an existing copy (a caller claims the blob there); if it raises, nothing is stored."""

    @abstractmethod
    def adopt(self, temp_path: Path, sha256: str) -> BlobInfo:
        """Take a completed file (a tus partial) into the store after checking its SHA-256;
        on a mismatch raise ``UploadHashMismatchError`` and leave the file where it is."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO: ...

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def path(self, sha256: str) -> Path:
        """A local file with the blob's bytes (an object-store backend would give a cached copy)."""

    @abstractmethod
    def info(self, sha256: str) -> BlobInfo: ...

    @abstractmethod
    def discard(self, sha256: str, *, keep_if: Callable[[], bool]) -> bool:
        """Delete the blob unless ``keep_if()``, asked while the blob is hidden, says someone needs it.

        Hiding is atomic and comes first, so whoever looks for the blob during the question finds
        nothing and stores its own copy; a needed blob is put back, never over a newer copy. True
        when the bytes were deleted. ``keep_if`` raising puts the blob back and propagates."""

    @abstractmethod
    def recover_hidden(self, older_than: float) -> list[str]:
        """Put back blobs hidden more than ``older_than`` seconds ago by a discard that never
        finished (a crashed process); return their SHA-256s so the caller can discard them again."""


class FilesystemBlobStore(BlobStore):
    """Blobs at ``root/ab/cd/<sha256>``, read-only, written by temp file + fsync + link + dir fsync."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.tmp_dir = self.root / ".tmp"  # same filesystem as the blobs, so the final step is a link
        self.hidden_dir = self.root / ".hidden"  # blobs being discarded; a rename away, never another fs

    def path(self, sha256: str) -> Path:
        if not valid_sha256(sha256):
            raise ValueError("not a lowercase hex SHA-256")  # a name never comes from outside unchecked
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return valid_sha256(sha256) and self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def info(self, sha256: str) -> BlobInfo:
        path = self.path(sha256)
        with open(path, "rb") as fh:
            head = fh.read(sniff.HEAD_BYTES)
        return BlobInfo(sha256, path.stat().st_size, sniff.detect(head))

    def put_stream(self, readable, *, max_bytes, expected_sha256=None, expected_size=None,
                   allowed_media_types=None, on_verified=None) -> BlobInfo:
        if expected_sha256 is not None and not valid_sha256(expected_sha256):
            raise UploadMetadataInvalidError(field="sha256", reason="64 lowercase hex digits")
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp_dir, prefix="put-")
        tmp = Path(tmp_name)
        try:
            digest, size, head = hashlib.sha256(), 0, b""
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = readable.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadTooLargeError(limit=max_bytes)
                    if len(head) < sniff.HEAD_BYTES:
                        head += chunk[:sniff.HEAD_BYTES - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            actual = digest.hexdigest()
            if expected_sha256 is not None and actual != expected_sha256:
                raise UploadHashMismatchError(expected=expected_sha256, actual=actual)
            if expected_size is not None and size != expected_size:
                raise UploadSizeMismatchError(expected=expected_size, actual=size)
            media_type = sniff.detect(head)
            if allowed_media_types is not None and media_type not in set(allowed_media_types):
                raise UnsupportedMediaError(detected=media_type, allowed=", ".join(sorted(allowed_media_types)))
            if on_verified is not None:
                on_verified(actual)
            created = self._install(tmp, actual)
            return BlobInfo(actual, size, media_type, created)
        finally:
            tmp.unlink(missing_ok=True)

    def adopt(self, temp_path: Path, sha256: str) -> BlobInfo:
        temp_path = Path(temp_path)
        digest, size = hashlib.sha256(), 0
        with open(temp_path, "rb") as fh:
            head = fh.read(sniff.HEAD_BYTES)
            fh.seek(0)
            while chunk := fh.read(CHUNK * 4):
                digest.update(chunk)
                size += len(chunk)
            os.fsync(fh.fileno())
        actual = digest.hexdigest()
        if actual != sha256:
            raise UploadHashMismatchError(expected=sha256, actual=actual)
        try:
            created = self._install(temp_path, actual)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP):
                raise
            # Partials on another filesystem (or no hard links there): copy through a temp file here.
            with open(temp_path, "rb") as fh:
                info = self.put_stream(fh, max_bytes=size, expected_sha256=sha256)
            temp_path.unlink(missing_ok=True)
            return info
        temp_path.unlink(missing_ok=True)
        return BlobInfo(actual, size, sniff.detect(head), created)

    def discard(self, sha256: str, *, keep_if: Callable[[], bool]) -> bool:
        final = self.path(sha256)
        self.hidden_dir.mkdir(parents=True, exist_ok=True)
        hidden = self.hidden_path(sha256, time.time())
        try:
            os.rename(final, hidden)  # atomic: from here on, a completion looking for the blob stores its own
        except FileNotFoundError:
            return False
        try:
            keep = keep_if()
        except BaseException:
            self._put_back(sha256, hidden)
            raise
        if keep:
            self._put_back(sha256, hidden)
            return False
        try:
            hidden.unlink()
        except FileNotFoundError:
            return False  # we were so slow that recover_hidden put it back; its caller asks again
        return True

    def recover_hidden(self, older_than: float) -> list[str]:
        if not self.hidden_dir.is_dir():
            return []
        cutoff, recovered = time.time() - older_than, []
        for entry in os.scandir(self.hidden_dir):
            sha256, _, rest = entry.name.partition(".")
            stamp = rest.partition(".")[0]
            if valid_sha256(sha256) and stamp.isdigit() and int(stamp) < cutoff:
                self._put_back(sha256, Path(entry.path))
                recovered.append(sha256)
        return recovered

    def hidden_path(self, sha256: str, at: float) -> Path:
        """A private name for a blob being discarded: its hash, when it was hidden, and a nonce."""
        return self.hidden_dir / f"{self.path(sha256).name}.{int(at)}.{uuid.uuid4().hex}"

    def _put_back(self, sha256: str, hidden: Path) -> None:
        final = self.path(sha256)
        try:
            os.link(hidden, final)  # link, never rename: a copy stored meanwhile has the same bytes and stays
        except FileExistsError:
            pass
        except FileNotFoundError:
            return  # the hidden name is gone: recover_hidden put it back already
        else:
            _fsync_dir(final.parent)
        hidden.unlink(missing_ok=True)

    def _install(self, src: Path, sha256: str) -> bool:
        """Hard-link ``src`` to the blob's name; False when the same bytes were already stored."""
        final = self.path(sha256)
        if final.exists():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(src, 0o444)
        try:
            # link, not rename: it fails instead of replacing when a racing writer got there first.
            os.link(src, final)
        except FileExistsError:
            return False
        _fsync_dir(final.parent)
        _fsync_dir(final.parent.parent)
        return True

    def clear(self) -> None:
        """Remove every blob (tests and benchmarks only)."""
        shutil.rmtree(self.root, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
