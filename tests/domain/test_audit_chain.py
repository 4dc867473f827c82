"""The audit chain: appends link up, concurrent processes neither gap nor fork, and every kind of
tampering (changed content, a removed middle or end, a rewritten tail, a deleted chain) is found."""
from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from bson import ObjectId
from click.testing import CliRunner

from domain import clock
from domain.clock import FixedClock
from domain import storage
from domain.access import SYSTEM, Actor, Role
from domain.audit import (SYSTEM_CHAIN, AuditEvent, AuditHead, export_heads, read_exported_heads, verify_all,
                          verify_chain)
from domain.audit.chain import GENESIS, peek_head
from domain.config import set_settings
from domain.errors import AuditChainBrokenError

CHAIN = "office-test"
ALICE = Actor(id=str(ObjectId()), role=Role.SUPERVISOR, username="alice")


def _append(n: int, chain: str = CHAIN, actor: Actor = ALICE, **extra) -> list[dict]:
    out = []
    for i in range(n):
        out.append(storage.atomic(lambda tx: tx.audit(actor, "unit.updated", target_type="unit",
                                                      target_id=f"u{i}", chain=chain, **extra)))
    return out


def _events():
    return AuditEvent._get_collection()


def _cut_off_end(chain: str = CHAIN) -> None:
    """What someone with write access to the database, but not the key, can do unseen by the chain alone."""
    head = AuditHead._get_collection().find_one({"_id": chain})
    _events().delete_one({"chain": chain, "seq": head["seq"]})
    prev = _events().find_one({"chain": chain, "seq": head["seq"] - 1})
    AuditHead._get_collection().update_one({"_id": chain}, {"$set": {"seq": prev["seq"], "hash": prev["hash"]}})


@pytest.fixture
def heads_dir(settings, tmp_path):
    """Exported heads in this test's own directory (the session's data dir outlives a test)."""
    set_settings(dataclasses.replace(settings, audit_heads_dir=tmp_path / "audit-heads"))
    yield tmp_path / "audit-heads"
    set_settings(settings)
    storage.connect(settings.mongodb_uri, settings.mongodb_db)


def test_appended_events_link_into_a_chain_that_verifies():
    when = datetime(2026, 11, 3, 8, 30, tzinfo=timezone.utc)
    _append(3, after={"at": when, "unit": ObjectId("64b000000000000000000001"), "role": Role.LIAISON,
                      "tags": {"b", "a"}, "name": "蓬江区水务局"})
    rows = list(_events().find({"chain": CHAIN}).sort("seq", 1))
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    assert rows[0]["after"] == {"at": "2026-11-03T08:30:00Z", "unit": "64b000000000000000000001",
                                "role": "liaison", "tags": ["a", "b"], "name": "蓬江区水务局"}
    assert rows[0]["actor_name"] == "alice" and rows[0]["request_id"] is None
    report = verify_chain(CHAIN)
    assert (report.ok, report.checked) == (True, 3)


def test_an_append_expecting_the_head_it_peeked_links_like_any_other():
    _append(2)
    head = peek_head(CHAIN)
    assert (head.seq, head.hash) == (2, _events().find_one({"chain": CHAIN, "seq": 2})["hash"])
    [third] = _append(1, expected_head=head)
    rows = list(_events().find({"chain": CHAIN}).sort("seq", 1))
    assert [r["seq"] for r in rows] == [1, 2, 3] and rows[2]["prev_hash"] == head.hash
    assert AuditHead._get_collection().find_one({"_id": CHAIN})["hash"] == third["hash"] == rows[2]["hash"]
    assert verify_chain(CHAIN).ok


def test_an_append_whose_peeked_head_moved_on_takes_the_lock_and_never_forks_the_chain():
    _append(1)
    stale = peek_head(CHAIN)
    _append(1)  # another event since the peek
    [third] = _append(1, expected_head=stale)
    rows = list(_events().find({"chain": CHAIN}).sort("seq", 1))
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert [r["prev_hash"] for r in rows] == [GENESIS, rows[0]["hash"], rows[1]["hash"]]
    assert third["prev_hash"] != stale.hash and verify_chain(CHAIN).ok


def _child_appends(uri, db, data_dir, key_file, chain, n, go, results, peek=False):
    """One writer process: its own client, the same chain as its siblings. ``peek``: each append
    expects the head it read before its transaction (the verdict job's way), often stale here."""
    from domain import storage as st
    from domain.access import SYSTEM as system
    from domain.config import Settings as S, set_settings as set_s

    set_s(S.from_env(app_env="test", data_dir=Path(data_dir), mongodb_uri=uri, mongodb_db=db,
                     audit_key_file=Path(key_file)))
    st.connect(uri, db)
    import domain.audit  # noqa: F401

    attempts = 0

    from domain.audit.chain import peek_head

    def write(tx, i, head):
        nonlocal attempts
        attempts += 1
        tx.audit(system, "test.append", target_type="probe", target_id=f"{mp.current_process().name}-{i}",
                 chain=chain, after={"i": i}, expected_head=head)

    go.wait(30)
    started = time.perf_counter()
    for i in range(n):
        head = peek_head(chain) if peek else None
        st.atomic(lambda tx: write(tx, i, head))
    results.put({"attempts": attempts, "seconds": time.perf_counter() - started})


@pytest.mark.parametrize("peek", [False, True], ids=["locking", "expecting-a-peeked-head"])
def test_concurrent_appends_from_several_processes_leave_no_gap_and_no_fork(settings, peek):
    # No head yet: the writers also race to create the chain.
    procs, per_proc = 4, 25
    ctx = mp.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_child_appends, name=f"w{k}",
                           args=(settings.mongodb_uri, settings.mongodb_db, str(settings.data_dir),
                                 str(settings.resolved_audit_key_file), CHAIN, per_proc, go, results, peek))
               for k in range(procs)]
    for w in workers:
        w.start()
    time.sleep(0.5)
    go.set()
    # Verification while the writers append must not report a break that is only a race.
    verified_meanwhile = 0
    while any(w.is_alive() for w in workers) and verified_meanwhile < 50:
        report = verify_chain(CHAIN)
        assert report.ok, report
        verified_meanwhile += 1
    outcomes = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    total = procs * per_proc
    rows = list(_events().find({"chain": CHAIN}).sort("seq", 1))
    assert [r["seq"] for r in rows] == list(range(1, total + 1))
    assert [r["prev_hash"] for r in rows] == [GENESIS] + [r["hash"] for r in rows[:-1]]
    assert len({r["target_id"] for r in rows}) == total
    head = AuditHead._get_collection().find_one({"_id": CHAIN})
    assert (head["seq"], head["hash"]) == (total, rows[-1]["hash"])
    assert verify_chain(CHAIN).ok and verify_chain(CHAIN).checked == total
    retries = sum(o["attempts"] for o in outcomes) - total
    rate = total / max(o["seconds"] for o in outcomes)
    print(f"\n{procs} writers x {per_proc}: {rate:.0f} events/s, {retries} transaction retries")


@pytest.mark.parametrize("field, value", [("after", {"i": "forged"}), ("actor_name", "mallory")])
def test_a_changed_event_is_found_at_its_seq(field, value):
    _append(4, after={"i": 1})
    _events().update_one({"chain": CHAIN, "seq": 3}, {"$set": {field: value}})
    report = verify_chain(CHAIN)
    assert (report.ok, report.first_broken_seq, report.reason, report.checked) == (False, 3, "hmac", 2)


def test_a_field_added_to_a_stored_event_is_found():
    _append(2)
    _events().update_one({"chain": CHAIN, "seq": 1}, {"$set": {"approved_by": "mallory"}})
    report = verify_chain(CHAIN)
    assert (report.first_broken_seq, report.reason) == (1, "unexpected-field")


def test_a_deleted_middle_event_is_a_gap():
    _append(5)
    _events().delete_one({"chain": CHAIN, "seq": 3})
    report = verify_chain(CHAIN)
    assert (report.ok, report.first_broken_seq, report.reason) == (False, 3, "gap")


def test_a_deleted_last_event_is_caught_by_the_head():
    _append(3)
    _events().delete_one({"chain": CHAIN, "seq": 3})
    report = verify_chain(CHAIN)
    assert (report.ok, report.first_broken_seq, report.reason) == (False, 3, "truncated")


def test_an_end_cut_off_with_the_head_moved_back_is_caught_only_by_the_exported_head(heads_dir):
    _append(3)
    export_heads()
    _cut_off_end()
    assert verify_chain(CHAIN).ok  # the chain alone cannot tell
    [report] = verify_all(CHAIN, heads_dir / "heads.jsonl")
    assert (report.ok, report.first_broken_seq, report.reason) == (False, 3, "shorter-than-exported-head")


def test_a_tail_rewritten_after_a_cut_is_caught_by_the_earlier_exported_head(heads_dir):
    _append(3)
    export_heads()
    _cut_off_end()
    _append(2)  # the app goes on appending: seq 3 and 4 now exist again, with other content
    [report] = verify_all(CHAIN, heads_dir / "heads.jsonl")
    assert (report.ok, report.first_broken_seq, report.reason) == (False, 3, "exported-head-differs")
    with pytest.raises(AuditChainBrokenError) as caught:
        export_heads()  # exporting the new head would bury the evidence
    assert caught.value.params["chain"] == CHAIN and caught.value.params["seq"] == 3
    assert [json.loads(x)["seq"] for x in (heads_dir / "heads.jsonl").read_text().splitlines()] == [3]


def test_an_event_slipped_in_beyond_the_head_is_found():
    rows = _append(2)
    forged = dict(rows[-1], seq=3, prev_hash=rows[-1]["hash"])
    _events().insert_one(forged)
    report = verify_chain(CHAIN)
    assert (report.ok, report.reason, report.first_broken_seq) == (False, "beyond-head", 3)


def test_events_whose_head_was_deleted_are_found():
    _append(2)
    AuditHead._get_collection().delete_one({"_id": CHAIN})
    assert verify_chain(CHAIN).reason == "head-missing"


def test_a_whole_chain_deleted_is_found_through_the_exported_heads(heads_dir):
    _append(2)
    _append(1, chain=SYSTEM_CHAIN, actor=SYSTEM)
    export_heads()
    _events().delete_many({"chain": CHAIN})
    AuditHead._get_collection().delete_one({"_id": CHAIN})
    reports = {r.chain: r for r in verify_all(heads_path=heads_dir / "heads.jsonl")}
    assert reports[SYSTEM_CHAIN].ok
    assert (reports[CHAIN].ok, reports[CHAIN].reason) == (False, "shorter-than-exported-head")


def test_the_app_refuses_to_delete_or_edit_audit_events():
    _append(1)
    with pytest.raises(TypeError):
        AuditEvent.objects(chain=CHAIN).delete()
    with pytest.raises(TypeError):
        AuditEvent.objects(chain=CHAIN).update(set__action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.get(chain=CHAIN).delete()
    assert AuditEvent.objects(chain=CHAIN).count() == 1


def test_export_appends_a_line_only_for_heads_that_moved(heads_dir):
    _append(2)
    with clock.using(FixedClock(datetime(2026, 11, 3, 8, 0, tzinfo=timezone.utc))):
        first = export_heads()
    assert (first["written"], Path(first["file"])) == (1, heads_dir / "heads.jsonl")
    assert export_heads()["written"] == 0
    _append(1)
    _append(1, chain=SYSTEM_CHAIN, actor=SYSTEM)
    assert export_heads()["written"] == 2
    lines = [json.loads(x) for x in (heads_dir / "heads.jsonl").read_text().splitlines()]
    assert lines[0] == {"chain": CHAIN, "seq": 2, "hash": _events().find_one({"seq": 2})["hash"],
                        "exported_at": "2026-11-03T08:00:00.000Z"}
    assert [(x["chain"], x["seq"]) for x in lines[1:]] == [(CHAIN, 3), (SYSTEM_CHAIN, 1)]
    assert read_exported_heads(heads_dir / "heads.jsonl").by_chain[CHAIN].keys() == {2, 3}


def test_two_hashes_exported_for_one_seq_are_reported(heads_dir):
    _append(1)
    export_heads()
    path = heads_dir / "heads.jsonl"
    with open(path, "a") as fh:
        fh.write(json.dumps({"chain": CHAIN, "seq": 1, "hash": "f" * 64, "exported_at": "x"}) + "\n")
    [report] = verify_all(heads_path=path)
    assert (report.ok, report.reason, report.first_broken_seq) == (False, "exported-heads-conflict", 1)


def _cli(*args):
    from ops.cli import main

    return CliRunner().invoke(main, ["audit", *args], catch_exceptions=False)


def test_cli_verify_names_the_changed_seq_and_exits_1(heads_dir):
    _append(3)
    assert _cli("export-heads").exit_code == 0
    ok = _cli("verify")
    assert ok.exit_code == 0, ok.output
    assert f"chain {CHAIN}: ok (3 events)" in ok.output
    _events().update_one({"chain": CHAIN, "seq": 2}, {"$set": {"after": {"forged": True}}})
    broken = _cli("verify", "--chain", CHAIN)
    assert broken.exit_code == 1
    assert f"chain {CHAIN}: BROKEN at seq 2: hmac" in broken.output


def test_cli_verify_uses_the_exported_heads_to_find_a_cut_off_end(heads_dir, tmp_path):
    _append(3)
    _cli("export-heads")
    copy = tmp_path / "elsewhere.jsonl"
    copy.write_bytes((heads_dir / "heads.jsonl").read_bytes())
    _cut_off_end()
    result = _cli("verify", "--heads", str(copy))
    assert result.exit_code == 1
    assert f"chain {CHAIN}: BROKEN at seq 3: shorter-than-exported-head" in result.output


def test_cli_verify_refuses_an_unknown_chain(heads_dir):
    result = _cli("verify", "--chain", "nope")
    assert result.exit_code == 2 and "no chain 'nope'" in result.output
