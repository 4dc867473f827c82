"""The blob store keeps verified bytes once, read-only, under their SHA-256, and nothing else."""
import hashlib
import io
import os
import stat
import threading
from pathlib import Path

import pytest

from domain.errors import (UnsupportedMediaError, UploadHashMismatchError, UploadMetadataInvalidError,
                           UploadSizeMismatchError, UploadTooLargeError)
from domain.evidence import ALLOWED, FilesystemBlobStore, Purpose
from domain.evidence import blobstore

CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or Path(__file__).resolve().parents[3] / "shared" / "evidence-corpus")
PHOTO = CORPUS / "jpg" / "gps" / "DSCN0010.jpg"
PHOTO_TYPES = ALLOWED[Purpose.INSPECTION_EVIDENCE]


@pytest.fixture
def store(tmp_path):
    return FilesystemBlobStore(tmp_path / "blobs")


def blobs(store) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file())


class CountingReader(io.RawIOBase):
    """A stream that records the largest read asked of it, to show the store never asks for it all."""

    def __init__(self, data: bytes):
        self.inner = io.BytesIO(data)
        self.largest = 0

    def read(self, n=-1):
        self.largest = max(self.largest, n if n >= 0 else 1 << 62)
        return self.inner.read(n)


def test_a_stream_is_stored_under_its_sha256_in_sharded_read_only_form(store):
    data = PHOTO.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    reader = CountingReader(data)
    info = store.put_stream(reader, max_bytes=len(data), expected_sha256=sha, allowed_media_types=PHOTO_TYPES)
    assert (info.sha256, info.size, info.media_type, info.created) == (sha, len(data), "image/jpeg", True)
    path = store.path(sha)
    assert path == store.root / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data and store.exists(sha)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert blobs(store) == [path], "no temp file is left behind"
    assert 0 < reader.largest <= 1024 * 1024, "read in chunks, never whole"
    with store.open(sha) as fh:
        assert fh.read(3) == b"\xff\xd8\xff"


def test_the_same_bytes_stored_twice_are_kept_once(store):
    data = PHOTO.read_bytes()
    first = store.put_stream(io.BytesIO(data), max_bytes=len(data))
    second = store.put_stream(io.BytesIO(data), max_bytes=len(data))
    assert first == second and first.created and not second.created
    assert len(blobs(store)) == 1


def test_racing_writers_of_the_same_bytes_leave_one_blob(store):
    data = PHOTO.read_bytes()
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.put_stream(io.BytesIO(data), max_bytes=len(data))))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and sum(r.created for r in results) == 1
    assert len(blobs(store)) == 1


def test_a_hash_mismatch_stores_nothing_and_names_both_hashes(store):
    data = PHOTO.read_bytes()
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(UploadHashMismatchError) as err:
        store.put_stream(io.BytesIO(data), max_bytes=len(data), expected_sha256=wrong)
    assert err.value.params == {"expected": wrong, "actual": hashlib.sha256(data).hexdigest()}
    assert blobs(store) == []


def test_a_stream_past_max_bytes_stops_there_and_stores_nothing(store):
    reader = CountingReader(b"\xff\xd8\xff\xe0" + b"\0" * (3 * blobstore.CHUNK))
    with pytest.raises(UploadTooLargeError) as err:
        store.put_stream(reader, max_bytes=blobstore.CHUNK)
    assert err.value.params == {"limit": blobstore.CHUNK}
    assert reader.inner.tell() <= 2 * blobstore.CHUNK, "stopped reading at the limit"
    assert blobs(store) == []


def test_a_declared_size_that_differs_stores_nothing(store):
    data = PHOTO.read_bytes()
    with pytest.raises(UploadSizeMismatchError):
        store.put_stream(io.BytesIO(data), max_bytes=len(data) + 10, expected_size=len(data) + 10)
    assert blobs(store) == []


def test_a_refused_media_type_stores_nothing(store):
    data = (CORPUS / "tiff" / "BSG1.tiff").read_bytes()
    with pytest.raises(UnsupportedMediaError) as err:
        store.put_stream(io.BytesIO(data), max_bytes=len(data), allowed_media_types=PHOTO_TYPES)
    assert err.value.params["detected"] == "image/tiff"
    assert blobs(store) == []


def test_an_expected_hash_that_is_not_hex_is_refused_before_reading(store):
    reader = CountingReader(PHOTO.read_bytes())
    with pytest.raises(UploadMetadataInvalidError):
        store.put_stream(reader, max_bytes=10 ** 7, expected_sha256="../../etc/passwd")
    assert reader.largest == 0


def test_adopt_takes_a_completed_file_in_after_checking_its_hash(store, tmp_path):
    data = PHOTO.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    partial = tmp_path / "x.part"
    partial.write_bytes(data)
    wrong = tmp_path / "y.part"
    wrong.write_bytes(data[:-1])
    with pytest.raises(UploadHashMismatchError):
        store.adopt(wrong, sha)
    assert wrong.exists() and blobs(store) == []
    info = store.adopt(partial, sha)
    assert (info.sha256, info.size, info.media_type, info.created) == (sha, len(data), "image/jpeg", True)
    assert not partial.exists() and store.path(sha).read_bytes() == data
    again = tmp_path / "z.part"
    again.write_bytes(data)
    assert store.adopt(again, sha).created is False and len(blobs(store)) == 1


def test_blob_names_are_checked_so_a_path_can_never_be_smuggled_in(store):
    for name in ("../../etc/passwd", "A" * 64, "/etc/passwd", "ab" * 31 + "\0z"):
        with pytest.raises(ValueError):
            store.path(name)
        assert store.exists(name) is False


def stored(store, data: bytes) -> str:
    return store.put_stream(io.BytesIO(data), max_bytes=len(data)).sha256


def test_on_verified_runs_after_every_check_and_before_the_store_looks_for_the_blob(store):
    data = PHOTO.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    seen = []
    store.put_stream(io.BytesIO(data), max_bytes=len(data), expected_sha256=sha,
                     on_verified=lambda s: seen.append((s, store.exists(s))))
    assert seen == [(sha, False)]
    with pytest.raises(UploadHashMismatchError):
        store.put_stream(io.BytesIO(data[:-1]), max_bytes=len(data), expected_sha256=sha, on_verified=seen.append)
    assert len(seen) == 1, "not called for bytes that failed a check"

    def refuse(_sha):
        raise RuntimeError("no claim")
    store.discard(sha, keep_if=lambda: False)
    with pytest.raises(RuntimeError):
        store.put_stream(io.BytesIO(data), max_bytes=len(data), on_verified=refuse)
    assert blobs(store) == [], "a failing on_verified stores nothing"


def test_discard_asks_while_the_blob_is_hidden_and_deletes_or_puts_it_back(store):
    data = PHOTO.read_bytes()
    sha = stored(store, data)
    asked = []
    assert store.discard(sha, keep_if=lambda: asked.append(store.exists(sha)) or True) is False
    assert asked == [False], "hidden while asked"
    assert store.path(sha).read_bytes() == data and stat.S_IMODE(store.path(sha).stat().st_mode) == 0o444
    assert blobs(store) == [store.path(sha)], "nothing left hidden"
    assert store.discard(sha, keep_if=lambda: False) is True
    assert blobs(store) == [] and store.discard(sha, keep_if=lambda: False) is False


def test_a_failing_question_puts_the_blob_back(store):
    sha = stored(store, PHOTO.read_bytes())

    def broken():
        raise ConnectionError("database down")
    with pytest.raises(ConnectionError):
        store.discard(sha, keep_if=broken)
    assert blobs(store) == [store.path(sha)]


@pytest.mark.parametrize("keep", [True, False])
def test_a_copy_stored_while_the_blob_is_hidden_stays(store, keep):
    data = PHOTO.read_bytes()
    sha = stored(store, data)

    def someone_stores_the_same_bytes():
        assert store.put_stream(io.BytesIO(data), max_bytes=len(data)).created, "found nothing, stored its own"
        return keep
    store.discard(sha, keep_if=someone_stores_the_same_bytes)
    assert blobs(store) == [store.path(sha)] and store.path(sha).read_bytes() == data


def test_recover_hidden_puts_back_only_what_was_hidden_long_ago_and_never_over_a_blob(store):
    import time
    old, young, twice = (stored(store, PHOTO.read_bytes()[:n]) for n in (1000, 2000, 3000))
    store.hidden_dir.mkdir()
    for sha, when in ((old, time.time() - 700), (young, time.time()), (twice, time.time() - 700)):
        os.link(store.path(sha), store.hidden_path(sha, when))
    for sha in (old, young):
        store.path(sha).unlink()
    assert sorted(store.recover_hidden(600)) == sorted([old, twice])
    assert store.recover_hidden(600) == [], "done once"
    assert store.exists(old) and store.exists(twice) and not store.exists(young)
    assert [p.name.split(".")[0] for p in store.hidden_dir.iterdir()] == [young]
