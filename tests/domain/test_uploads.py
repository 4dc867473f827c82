"""Upload services on the real database: tus life cycle, the plain path, completion, expiry."""
import hashlib
import io
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from domain.access import SYSTEM
from domain.accounts.services import actor_for
from domain.audit import AuditEvent
from domain import clock
from domain.clock import FixedClock
from domain.errors import (Forbidden, RuleViolation, UnsupportedMediaError, UploadAlreadyCompleteError,
                           UploadChecksumMismatchError, UploadExpiredError, UploadHashMismatchError,
                           UploadMetadataInvalidError, UploadNotFoundError, UploadOffsetMismatchError,
                           UploadSizeMismatchError, UploadTargetUnknownError, UploadTooLargeError)
from domain.evidence import FilesystemBlobStore
from domain.outbox import OutboxEntry
from domain.uploads import Completion, Upload, UploadStatus, register_upload_target, unregister_upload_target
from domain.uploads import partials, services

CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or Path(__file__).resolve().parents[3] / "shared" / "evidence-corpus")
PHOTOS = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".jpg", ".heic"))
TIFF = CORPUS / "tiff" / "BSG1.tiff"
PHOTO = CORPUS / "jpg" / "gps" / "DSCN0010.jpg"
KIND, REFUSING = "test-evidence", "test-refusing"
calls: list = []


def record(actor, upload, info, tx):
    calls.append((actor.username, upload.target_id, info.sha256, info.media_type))
    tx.enqueue("workers.test.follow_up", str(upload.pk))  # staged in the completion transaction
    return Completion(result={"evidence": f"ev-{info.sha256[:8]}"})


def refuse(actor, upload, info, tx):
    raise RuleViolation(rule="test-target-refuses")  # a catalogued code: no test-only error classes


@pytest.fixture(autouse=True)
def targets(settings):
    calls.clear()
    register_upload_target(KIND, record)
    register_upload_target(REFUSING, refuse)
    shutil.rmtree(settings.data_dir / "uploads", ignore_errors=True)
    yield
    unregister_upload_target(KIND)
    unregister_upload_target(REFUSING)


@pytest.fixture
def store(tmp_path):
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def inspector(world):
    return actor_for(world.accounts["inspector_east"])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def meta(data: bytes, kind=KIND, **extra) -> dict:
    return {"target": kind, "sha256": sha(data), "target_id": "report-1", "filename": "IMG_0001.jpg", **extra}


def blob_files(store) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


def partial_files(settings) -> list[Path]:
    root = settings.data_dir / "uploads"
    return sorted(root.iterdir()) if root.exists() else []


def completions() -> list:
    return list(AuditEvent.objects(action="upload.complete"))


def assert_nothing_kept(settings, store):
    assert blob_files(store) == []
    assert Upload.objects.count() == 0
    assert partial_files(settings) == []
    assert completions() == [] and calls == []


def test_a_tus_upload_sent_in_chunks_completes_into_the_store_with_one_audit_event(settings, store, inspector):
    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data), store=store)
    assert upload.status == UploadStatus.RECEIVING and upload.offset == 0
    assert partials.path(upload.pk).exists()
    step = 50_000
    for offset in range(0, len(data), step):
        upload = services.append_chunk(inspector, upload.pk, offset=offset, body=io.BytesIO(data[offset:offset + step]),
                                       content_length=len(data[offset:offset + step]), store=store)
    assert upload.complete and upload.offset == len(data) and upload.result == {"evidence": f"ev-{sha(data)[:8]}"}
    stored = Upload.objects.get(pk=upload.pk)
    assert (stored.status, stored.blob_sha256, stored.media_type) == (UploadStatus.COMPLETE, sha(data), "image/jpeg")
    assert stored.lock_token is None and stored.expires_at is None
    assert store.path(sha(data)).read_bytes() == data and not partials.path(upload.pk).exists()
    assert calls == [("inspector_east", "report-1", sha(data), "image/jpeg")]
    [event] = completions()
    assert event.target_id == str(upload.pk) and event.actor_name == "inspector_east"
    assert event.after["sha256"] == sha(data) and event.after["size"] == len(data)
    assert OutboxEntry.objects(job="workers.test.follow_up").count() == 1


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_every_allowed_corpus_file_is_stored_through_the_plain_path(path, store, inspector):
    data = path.read_bytes()
    upload = services.store_plain_upload(inspector, target_kind=KIND, stream=io.BytesIO(data),
                                         declared_sha256=sha(data), declared_size=len(data), filename=path.name,
                                         store=store)
    assert upload.complete and upload.protocol == "plain" and upload.label == path.name
    assert upload.media_type == ("image/heic" if path.suffix == ".HEIC" else "image/jpeg")
    assert store.path(sha(data)).read_bytes() == data
    assert len(completions()) == 1


def test_the_corpus_tiff_is_refused_on_the_plain_path_with_nothing_stored(settings, store, inspector):
    data = TIFF.read_bytes()
    with pytest.raises(UnsupportedMediaError) as err:
        services.store_plain_upload(inspector, target_kind=KIND, stream=io.BytesIO(data), declared_sha256=sha(data),
                                    declared_size=len(data), store=store)
    assert err.value.params["detected"] == "image/tiff"
    assert_nothing_kept(settings, store)


@pytest.mark.parametrize("broken", [b"", b"\xff\xd8", PHOTO.read_bytes()[2:], b"\0" * 4096],
                         ids=["empty", "soi-only", "header-cut-off", "zeros"])
def test_broken_files_that_fail_sniffing_are_refused_on_both_paths_with_nothing_stored(broken, settings, store,
                                                                                       inspector):
    with pytest.raises(UnsupportedMediaError):
        services.store_plain_upload(inspector, target_kind=KIND, stream=io.BytesIO(broken), declared_sha256=sha(broken),
                                    declared_size=len(broken), store=store)
    with pytest.raises(UnsupportedMediaError):
        upload = services.create_upload(inspector, length=len(broken), metadata=meta(broken), store=store)
        services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(broken), store=store)
    assert_nothing_kept(settings, store)


def test_a_tus_upload_whose_whole_file_hash_differs_keeps_nothing(settings, store, inspector):
    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data[:-1] + b"x"), store=store)
    with pytest.raises(UploadHashMismatchError) as err:
        services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data), store=store)
    assert err.value.params == {"expected": sha(data[:-1] + b"x"), "actual": sha(data)}
    assert_nothing_kept(settings, store)


def test_plain_uploads_with_a_wrong_hash_size_or_an_oversize_declaration_keep_nothing(settings, store, inspector):
    data = PHOTO.read_bytes()
    with pytest.raises(UploadHashMismatchError):
        services.store_plain_upload(inspector, target_kind=KIND, stream=io.BytesIO(data), declared_sha256=sha(b"x"),
                                    declared_size=len(data), store=store)
    with pytest.raises(UploadSizeMismatchError):
        services.store_plain_upload(inspector, target_kind=KIND, stream=io.BytesIO(data[:100]),
                                    declared_sha256=sha(data[:100]), declared_size=len(data), store=store)
    with pytest.raises(UploadTooLargeError):  # the body runs past its declared size
        services.store_plain_upload(inspector, target_kind=KIND, stream=io.BytesIO(data), declared_sha256=sha(data),
                                    declared_size=len(data) - 1, store=store)

    class Unread(io.BytesIO):
        def read(self, *a):
            raise AssertionError("read before the declared size was checked")
    with pytest.raises(UploadTooLargeError) as err:
        services.store_plain_upload(inspector, target_kind=KIND, stream=Unread(), declared_sha256=sha(data),
                                    declared_size=settings.max_upload_bytes + 1, store=store)
    assert err.value.params == {"limit": settings.max_upload_bytes}
    assert_nothing_kept(settings, store)


def test_a_target_that_refuses_the_file_leaves_no_blob_and_no_record(settings, store, inspector):
    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data, kind=REFUSING), store=store)
    with pytest.raises(RuleViolation):
        services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data), store=store)
    with pytest.raises(RuleViolation):
        services.store_plain_upload(inspector, target_kind=REFUSING, stream=io.BytesIO(data), declared_sha256=sha(data),
                                    declared_size=len(data), store=store)
    assert_nothing_kept(settings, store)
    assert OutboxEntry.objects.count() == 0


def test_an_unknown_target_kind_or_a_bad_declared_hash_is_refused_at_creation(settings, store, inspector):
    data = PHOTO.read_bytes()
    with pytest.raises(UploadTargetUnknownError) as err:
        services.create_upload(inspector, length=len(data), metadata=meta(data, kind="nonsense"))
    assert KIND in err.value.params["known"]
    with pytest.raises(UploadTargetUnknownError):
        services.create_upload(inspector, length=len(data), metadata={"sha256": sha(data)})
    with pytest.raises(UploadMetadataInvalidError):
        services.create_upload(inspector, length=len(data), metadata=meta(data, sha256="abc"))
    with pytest.raises(UploadTooLargeError):
        services.create_upload(inspector, length=settings.max_upload_bytes + 1, metadata=meta(data))
    assert_nothing_kept(settings, store)


def test_a_filename_with_path_tricks_is_only_a_sanitised_label(settings, store, inspector):
    data = PHOTO.read_bytes()
    before = {p for p in settings.data_dir.parent.rglob("passwd")}
    labels = {}
    for name in ("../../etc/passwd", "/etc/passwd", "..\\..\\windows\\system.ini", "a\0b/../../c.jpg", "...",
                 "\u202e.jpg"):
        upload = services.create_upload(inspector, length=len(data), metadata=meta(data, filename=name), store=store)
        assert partials.path(upload.pk).name == f"{upload.pk}.part"
        labels[name] = upload.label
        services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data), store=store)
    assert labels == {"../../etc/passwd": "passwd", "/etc/passwd": "passwd",
                      "..\\..\\windows\\system.ini": "system.ini", "a\0b/../../c.jpg": "c.jpg", "...": None,
                      "\u202e.jpg": "jpg"}
    assert {p for p in settings.data_dir.parent.rglob("passwd")} == before
    assert [p.name for p in blob_files(store)] == [sha(data)], "the one blob is named by its hash alone"
    assert partial_files(settings) == []


def test_someone_else_s_upload_does_not_exist_for_them(world, store, inspector):
    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data))
    other = actor_for(world.accounts["supervisor_east"])
    for call in (lambda: services.upload_status(other, upload.pk),
                 lambda: services.append_chunk(other, upload.pk, offset=0, body=io.BytesIO(data)),
                 lambda: services.terminate_upload(other, upload.pk)):
        with pytest.raises(UploadNotFoundError):
            call()
    with pytest.raises(Forbidden):
        services.upload_status(actor_for(world.accounts["leader_city"]), upload.pk)
    assert services.upload_status(inspector, upload.pk).offset == 0


def test_a_chunk_whose_checksum_fails_is_discarded_and_a_wrong_offset_is_a_conflict(settings, store, inspector):
    import base64
    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data))
    good = "sha256 " + base64.b64encode(hashlib.sha256(data[:1000]).digest()).decode()
    services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data[:1000]), checksum=good)
    with pytest.raises(UploadChecksumMismatchError):
        services.append_chunk(inspector, upload.pk, offset=1000, body=io.BytesIO(data[1000:5000]), checksum=good)
    assert services.upload_status(inspector, upload.pk).offset == 1000
    assert partials.path(upload.pk).stat().st_size == 1000
    with pytest.raises(UploadOffsetMismatchError) as err:
        services.append_chunk(inspector, upload.pk, offset=500, body=io.BytesIO(data[500:]))
    assert err.value.params == {"expected": 1000, "given": 500}
    with pytest.raises(UploadTooLargeError):  # more than the rest of the upload, refused before reading
        services.append_chunk(inspector, upload.pk, offset=1000, body=io.BytesIO(data[1000:] + b"x"),
                              content_length=len(data) - 999)
    done = services.append_chunk(inspector, upload.pk, offset=1000, body=io.BytesIO(data[1000:]), store=store)
    assert done.complete and store.path(sha(data)).read_bytes() == data
    with pytest.raises(UploadAlreadyCompleteError):
        services.terminate_upload(inspector, upload.pk)


def test_a_truncated_upload_stays_partial_then_expires_and_is_swept(settings, store, inspector):
    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data))
    services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data[: len(data) // 2]))
    kept = services.create_upload(inspector, length=len(data), metadata=meta(data))
    assert services.upload_status(inspector, upload.pk).status == UploadStatus.RECEIVING
    assert blob_files(store) == [] and calls == []
    later = FixedClock(services.upload_status(inspector, upload.pk).expires_at + timedelta(seconds=1))
    with clock.using(later), pytest.raises(UploadExpiredError):
        services.upload_status(inspector, upload.pk)
    with clock.using(later), pytest.raises(UploadExpiredError):
        services.append_chunk(inspector, upload.pk, offset=len(data) // 2, body=io.BytesIO(data))
    with clock.using(FixedClock(later.now() - timedelta(hours=1))):  # each PATCH extends the expiry
        services.append_chunk(inspector, kept.pk, offset=0, body=io.BytesIO(data[:10]))
    with clock.using(later):
        assert services.expire_uploads(SYSTEM) == {"expired": 1, "orphans": 0, "hidden_blobs": 0}
    assert [u.pk for u in Upload.objects] == [kept.pk], "an upload that moved recently is kept"
    assert partial_files(settings) == [partials.path(kept.pk)]
    with pytest.raises(UploadNotFoundError):
        services.upload_status(inspector, upload.pk)
    with clock.using(later):
        assert services.expire_uploads(SYSTEM) == {"expired": 0, "orphans": 0, "hidden_blobs": 0}
    with clock.using(later), pytest.raises(Forbidden):
        services.expire_uploads(inspector)


def test_the_sweep_removes_old_partial_files_that_no_upload_owns(settings, inspector):
    from bson import ObjectId
    orphan = partials.create(ObjectId())
    young = partials.create(ObjectId())
    old = os.path.getmtime(orphan) - services.ORPHAN_GRACE - 10
    os.utime(orphan, (old, old))
    assert services.expire_uploads(SYSTEM) == {"expired": 0, "orphans": 1, "hidden_blobs": 0}
    assert not orphan.exists() and young.exists()


def test_termination_removes_an_unfinished_upload_and_its_bytes(settings, inspector):
    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data))
    services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data[:100]))
    services.terminate_upload(inspector, upload.pk)
    assert Upload.objects.count() == 0 and partial_files(settings) == []
    with pytest.raises(UploadNotFoundError):
        services.upload_status(inspector, upload.pk)


def test_a_completion_that_failed_unexpectedly_finishes_when_the_last_patch_is_repeated(settings, store, inspector):
    data = PHOTO.read_bytes()
    failures = []

    def flaky(actor, upload, info, tx):
        if not failures:
            failures.append(1)
            raise RuntimeError("database went away")
        return {"ok": True}

    register_upload_target("test-flaky", flaky)
    try:
        upload = services.create_upload(inspector, length=len(data), metadata=meta(data, kind="test-flaky"),
                                        store=store)
        with pytest.raises(RuntimeError):
            services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data), store=store)
        assert services.upload_status(inspector, upload.pk).offset == len(data) and completions() == []
        done = services.append_chunk(inspector, upload.pk, offset=len(data), body=io.BytesIO(b""), store=store)
        assert done.complete and done.result == {"ok": True} and len(completions()) == 1
        again = services.append_chunk(inspector, upload.pk, offset=len(data), body=io.BytesIO(b""), content_length=0)
        assert again.complete and len(completions()) == 1, "repeating the last PATCH is harmless"
    finally:
        unregister_upload_target("test-flaky")


def test_one_patch_at_a_time_and_a_cap_on_unfinished_uploads(store, inspector, monkeypatch):
    from domain.errors import UploadLockedError, UploadTooManyOpenError

    data = PHOTO.read_bytes()
    upload = services.create_upload(inspector, length=len(data), metadata=meta(data))
    with partials.held(upload.pk):  # another request is streaming into it
        with pytest.raises(UploadLockedError):
            services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data))
        with pytest.raises(UploadLockedError):
            services.terminate_upload(inspector, upload.pk)
        later = FixedClock(Upload.objects.get(pk=upload.pk).expires_at + timedelta(seconds=1))
        with clock.using(later):
            assert services.expire_uploads()["expired"] == 0, "the sweep leaves an upload that is being written"
    # A lease left in the record by the old lock is ignored: the lock died with its request.
    Upload.objects(pk=upload.pk).update(set__lock_token="someone", set__lock_until=clock.now() + timedelta(minutes=5))
    assert services.append_chunk(inspector, upload.pk, offset=0, body=io.BytesIO(data), store=store).complete
    monkeypatch.setattr(services, "MAX_OPEN_PER_ACCOUNT", 2)
    for _ in range(2):
        services.create_upload(inspector, length=len(data), metadata=meta(data))
    with pytest.raises(UploadTooManyOpenError):
        services.create_upload(inspector, length=len(data), metadata=meta(data))
