"""One blob serves every upload of the same bytes: a refused upload never takes bytes another upload keeps.

Each race is forced into one exact order with events inside the target handlers (which run inside
the completion transaction) or by wrapping ``completion.blob_needed``, on the real database.
"""
import hashlib
import io
import os
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from domain.access import SYSTEM
from domain.accounts.services import actor_for
from domain.errors import RuleViolation, UploadClaimExpiredError
from domain.evidence import FilesystemBlobStore
from domain.uploads import Completion, Upload, UploadStatus, register_upload_target, unregister_upload_target
from domain.uploads import completion, partials, services
from domain.uploads.models import BlobClaim

CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or Path(__file__).resolve().parents[3] / "shared" / "evidence-corpus")
DATA = (CORPUS / "jpg" / "gps" / "DSCN0010.jpg").read_bytes()
SHA = hashlib.sha256(DATA).hexdigest()
WAIT = 10  # seconds; only reached when the code under test deadlocks


class Gate:
    """A target handler that stops inside the completion transaction until released."""

    def __init__(self, refuse: bool):
        self.refuse, self.inside, self.release = refuse, threading.Event(), threading.Event()

    def __call__(self, actor, upload, info, tx):
        self.inside.set()
        assert self.release.wait(WAIT), "never released"
        if self.refuse:
            raise RuleViolation(rule="test-target-refuses")
        return Completion(result={"kept": True})


def accept(actor, upload, info, tx):
    return {"kept": True}


def refuse(actor, upload, info, tx):
    raise RuleViolation(rule="test-target-refuses")


class Run(threading.Thread):
    """Run a call on its own thread and keep what it returned or raised."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None
        self.start()

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def outcome(self):
        self.join(WAIT)
        assert not self.is_alive(), "still running"
        return self.error or self.result


@pytest.fixture(autouse=True)
def targets(settings):
    register_upload_target("test-accept", accept)
    register_upload_target("test-refuse", refuse)
    shutil.rmtree(settings.data_dir / "uploads", ignore_errors=True)
    yield
    for kind in ("test-accept", "test-refuse", "test-gate-a", "test-gate-b", "test-flaky"):
        unregister_upload_target(kind)


@pytest.fixture
def store(tmp_path):
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def inspector(world):
    return actor_for(world.accounts["inspector_east"])


def tus(actor, kind, store, data=DATA):
    upload = services.create_upload(actor, length=len(data), metadata={"target": kind, "sha256": SHA}, store=store)
    return services.append_chunk(actor, upload.pk, offset=0, body=io.BytesIO(data), store=store)


def plain(actor, kind, store, data=DATA):
    return services.store_plain_upload(actor, target_kind=kind, stream=io.BytesIO(data), declared_sha256=SHA,
                                       declared_size=len(data), store=store)


def files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def assert_every_complete_upload_has_its_bytes(store):
    for upload in Upload.objects(status=UploadStatus.COMPLETE):
        assert store.path(upload.blob_sha256).read_bytes() == DATA, f"{upload.pk} points at lost bytes"
    assert files(store.hidden_dir) == [], "nothing left hidden"


def test_a_refusal_after_another_upload_committed_the_same_bytes_keeps_them(store, inspector):
    # The reported race: A stored the blob (created), B found it and committed, then A was refused.
    gate = Gate(refuse=True)
    register_upload_target("test-gate-a", gate)
    a = Run(lambda: tus(inspector, "test-gate-a", store))
    assert gate.inside.wait(WAIT)
    assert store.exists(SHA), "A adopted its partial: the blob is A's creation"
    b = plain(inspector, "test-accept", store)
    gate.release.set()
    assert isinstance(a.outcome(), RuleViolation)
    assert b.complete and Upload.objects.count() == 1
    assert_every_complete_upload_has_its_bytes(store)


@pytest.mark.parametrize("b_path", [tus, plain], ids=["tus", "plain"])
def test_a_refusal_while_another_completion_has_found_the_blob_but_not_committed_keeps_it(b_path, store, inspector):
    # A created the blob; B found it (created=False) and is inside its transaction when A drops.
    gate_a, gate_b = Gate(refuse=True), Gate(refuse=False)
    register_upload_target("test-gate-a", gate_a)
    register_upload_target("test-gate-b", gate_b)
    a = Run(lambda: tus(inspector, "test-gate-a", store))
    assert gate_a.inside.wait(WAIT)
    b = Run(lambda: b_path(inspector, "test-gate-b", store))
    assert gate_b.inside.wait(WAIT)
    gate_a.release.set()
    assert isinstance(a.outcome(), RuleViolation)
    assert store.path(SHA).read_bytes() == DATA, "B's claim kept the blob"
    gate_b.release.set()
    assert b.outcome().complete
    assert_every_complete_upload_has_its_bytes(store)
    assert BlobClaim.objects.count() == 0


def test_a_plain_upload_claims_the_blob_before_its_store_looks_for_it(store, inspector):
    tus(inspector, "test-accept", store)
    Upload.objects.delete()  # the blob is there, and nobody needs it any more

    class RefusalRightAfterTheLook(FilesystemBlobStore):
        def put_stream(self, *args, **kwargs):
            info = super().put_stream(*args, **kwargs)
            assert not info.created, "B found the blob already stored"
            with pytest.raises(RuleViolation):  # A is refused before B's transaction begins
                plain(inspector, "test-refuse", store)
            return info

    b = plain(inspector, "test-accept", RefusalRightAfterTheLook(store.root))
    assert b.complete
    assert_every_complete_upload_has_its_bytes(store)


@pytest.mark.parametrize("b_commits", ["before-the-check", "after-the-check"])
def test_a_completion_that_looks_while_the_blob_is_hidden_stores_its_own_copy(b_commits, store, inspector,
                                                                              monkeypatch):
    real, checks = completion.blob_needed, []

    def check_with_b_in_the_window(sha256):
        checks.append(sha256)
        if len(checks) == 1:
            return real(sha256)  # the look before hiding: nobody needs it, so it is hidden
        assert not store.exists(SHA), "hidden while the question is asked"
        if b_commits == "before-the-check":
            checks.append(plain(inspector, "test-accept", store))
            return real(sha256)
        answer = real(sha256)
        checks.append(plain(inspector, "test-accept", store))
        return answer

    monkeypatch.setattr(completion, "blob_needed", check_with_b_in_the_window)
    with pytest.raises(RuleViolation):
        plain(inspector, "test-refuse", store)
    assert checks[2].complete and Upload.objects.count() == 1
    assert_every_complete_upload_has_its_bytes(store)


def test_a_completion_whose_claim_expired_and_was_removed_records_nothing(store, inspector, monkeypatch):
    monkeypatch.setattr(completion, "CLAIM_TTL", timedelta(seconds=-1))  # B's claim is born expired
    gate_b = Gate(refuse=False)
    register_upload_target("test-gate-b", gate_b)
    b = Run(lambda: plain(inspector, "test-gate-b", store))
    assert gate_b.inside.wait(WAIT)
    with pytest.raises(RuleViolation):  # A finds no live claim and no record: the blob goes
        tus(inspector, "test-refuse", store)
    assert not store.exists(SHA) and BlobClaim.objects.count() == 0
    gate_b.release.set()
    assert isinstance(b.outcome(), UploadClaimExpiredError)
    assert Upload.objects.count() == 0 and files(store.root) == []


def test_a_lone_refusal_of_bytes_another_upload_holds_keeps_them_and_the_other_then_completes(store, inspector):
    attempts = []

    def flaky(actor, upload, info, tx):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database went away")
        return {"ok": True}

    register_upload_target("test-flaky", flaky)
    with pytest.raises(RuntimeError):
        tus(inspector, "test-flaky", store)
    held = Upload.objects.get()
    assert not partials.path(held.pk).exists(), "its partial was adopted: the blob holds its only bytes"
    with pytest.raises(RuleViolation):
        plain(inspector, "test-refuse", store)
    assert store.path(SHA).read_bytes() == DATA, "the receiving upload with all its bytes needs the blob"
    done = services.append_chunk(inspector, held.pk, offset=len(DATA), body=io.BytesIO(b""), store=store)
    assert done.complete
    assert_every_complete_upload_has_its_bytes(store)


def test_a_refusal_on_the_retry_of_a_failed_completion_keeps_nothing(settings, store, inspector):
    attempts = []

    def flaky_then_refusing(actor, upload, info, tx):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database went away")
        raise RuleViolation(rule="test-target-refuses")

    register_upload_target("test-flaky", flaky_then_refusing)
    with pytest.raises(RuntimeError):
        tus(inspector, "test-flaky", store)
    held = Upload.objects.get()
    with pytest.raises(RuleViolation):
        services.append_chunk(inspector, held.pk, offset=len(DATA), body=io.BytesIO(b""), store=store)
    assert files(store.root) == [] and Upload.objects.count() == 0 and BlobClaim.objects.count() == 0
    assert files(settings.data_dir / "uploads") == []


def test_the_sweep_puts_back_what_a_crashed_discard_left_hidden_and_drops_what_nobody_needs(store, inspector):
    kept = plain(inspector, "test-accept", store)
    other = b"\xff\xd8\xff" + os.urandom(2048)  # a blob nobody refers to
    other_sha = store.put_stream(io.BytesIO(other), max_bytes=len(other)).sha256
    long_ago = time.time() - completion.HIDDEN_GRACE - 5
    for sha256 in (SHA, other_sha):  # a process died between hiding and deciding
        os.makedirs(store.hidden_dir, exist_ok=True)
        os.rename(store.path(sha256), store.hidden_path(sha256, long_ago))
    running = store.hidden_path(other_sha, time.time())  # a discard still deciding: left alone
    running.write_bytes(other)
    result = services.expire_uploads(SYSTEM, store=store)
    assert result == {"expired": 0, "orphans": 0, "hidden_blobs": 2}
    assert store.path(kept.blob_sha256).read_bytes() == DATA
    assert not store.exists(other_sha) and files(store.hidden_dir) == [running]


def test_many_concurrent_completions_of_the_same_bytes_never_leave_a_reference_without_bytes(store, inspector):
    calls = [lambda i=i: (tus if i % 2 else plain)(inspector, "test-refuse" if i % 3 == 0 else "test-accept", store)
             for i in range(8)]
    runs = [Run(call) for call in calls]
    outcomes = [r.outcome() for r in runs]
    assert sum(isinstance(o, RuleViolation) for o in outcomes) == 3
    assert sum(isinstance(o, Upload) and o.complete for o in outcomes) == 5
    assert_every_complete_upload_has_its_bytes(store)
    assert BlobClaim.objects.count() == 0
