"""A hostile file cannot stop a worker: the parse runs in a child with a time and memory limit,
and the photo still gets a verdict. The hostile work is real (a C-level regex loop, allocations),
never time.sleep."""
from __future__ import annotations

import hashlib
import os
import time

import pytest

from domain.validation import GuardFailure, ValidationContext, judge, run_guarded, start_guarded
from domain.validation.facts import extract_facts_guarded

from . import hostile
from .photos import CORPUS

PHOTO = CORPUS / "jpg" / "mobile" / "jolla.jpg"


def test_a_c_level_loop_is_killed_at_the_time_limit():
    started = time.monotonic()
    result = run_guarded(hostile.backtrack, "x", timeout_s=1.0, memory_mb=256)
    elapsed = time.monotonic() - started
    assert isinstance(result, GuardFailure) and result.kind == "timeout"
    assert 1.0 <= elapsed < 5.0


def test_an_impossible_allocation_is_a_memory_failure():
    result = run_guarded(hostile.allocate_impossible, "x", timeout_s=10, memory_mb=256)
    assert isinstance(result, GuardFailure) and (result.kind, result.limit) == ("memory", 256)


def test_an_allocation_the_machine_could_give_is_refused_over_the_budget():
    result = run_guarded(hostile.allocate_over_budget, "x", timeout_s=10, memory_mb=256)
    assert isinstance(result, GuardFailure) and result.kind == "memory"


def test_a_crash_and_an_exception_come_back_as_failures_not_raises():
    crash = run_guarded(hostile.segfault, "x", timeout_s=10, memory_mb=256)
    error = run_guarded(hostile.raises, "x", timeout_s=10, memory_mb=256)
    assert (crash.kind, error.kind) == ("crash", "error")
    assert "-11" in crash.detail and error.detail == "ValueError: bad IFD offset"


def test_the_child_is_kept_between_calls_and_replaced_after_it_dies():
    first = run_guarded(hostile.pid, timeout_s=5, memory_mb=256)
    again = run_guarded(hostile.pid, timeout_s=5, memory_mb=256)
    run_guarded(hostile.backtrack, "x", timeout_s=0.5, memory_mb=256)
    replaced = run_guarded(hostile.pid, timeout_s=5, memory_mb=256)
    assert first == again != replaced != os.getpid()


def test_a_photo_whose_parser_loops_still_gets_a_review_verdict():
    facts = extract_facts_guarded(PHOTO, reader=hostile.backtrack, timeout_s=1.0, memory_mb=256)
    verdict = judge(facts, ValidationContext())
    assert facts.sha256 == hashlib.sha256(PHOTO.read_bytes()).hexdigest()  # exact reuse still works
    assert (facts.format, facts.guard["kind"]) == ("JPEG", "timeout")
    assert (str(verdict.outcome), verdict.codes) == ("review", ["metadata.parser-timeout"])
    assert verdict.reasons[0].params == {"timeout_s": 1.0}


def test_a_photo_whose_parser_explodes_in_memory_still_gets_a_review_verdict():
    facts = extract_facts_guarded(PHOTO, reader=hostile.allocate_impossible, memory_mb=256)
    verdict = judge(facts, ValidationContext())
    assert (str(verdict.outcome), verdict.codes) == ("review", ["metadata.parser-memory"])


def test_a_photo_whose_parser_crashes_still_gets_a_review_verdict():
    verdict = judge(extract_facts_guarded(PHOTO, reader=hostile.segfault), ValidationContext())
    assert (str(verdict.outcome), verdict.codes) == ("review", ["metadata.parser-crash"])


def test_the_historically_hostile_corpus_files_are_read_without_a_guard_failure(corpus_facts):
    for relative in ("jpg/corrupted.jpg", "jpg/tests/36-memory_error.jpg", "jpg/invalid/image01137.jpg",
                     "jpg/tests/35-empty.jpg"):
        facts = corpus_facts(relative)
        assert (facts.guard, facts.decode) == (None, "ok"), relative


def test_a_started_call_streams_its_parts_in_order_then_its_result():
    with start_guarded(hostile.parts_then_result, 3, timeout_s=5, memory_mb=256) as call:
        parts = [call.next_part() for _ in range(3)]
        assert call.next_part() is None  # the function returned
        child = call.result()
    assert parts == [0, 1, 2] and child != os.getpid()
    assert run_guarded(hostile.parts_then_result, 2, timeout_s=5, memory_mb=256) == child  # parts skipped, same child


def test_a_part_sent_before_a_hang_arrives_and_the_hang_is_still_cut_off():
    started = time.monotonic()
    with start_guarded(hostile.one_part_then_loop, "x", timeout_s=1.0, memory_mb=256) as call:
        assert call.next_part() == "early"
        failure = call.result()
    assert isinstance(failure, GuardFailure) and failure.kind == "timeout"
    assert 1.0 <= time.monotonic() - started < 5.0  # one deadline for the whole call


def test_a_call_left_early_is_let_finish_and_its_child_kept_for_the_next_call():
    with start_guarded(hostile.parts_then_result, 3, timeout_s=5, memory_mb=256) as call:
        assert call.next_part() == 0  # the caller leaves here (an error of its own, say)
    child = run_guarded(hostile.pid, timeout_s=5, memory_mb=256)
    assert run_guarded(hostile.parts_then_result, 1, timeout_s=5, memory_mb=256) == child  # no stale answer


def test_a_call_left_early_that_hangs_is_still_cut_off_at_its_deadline():
    first = run_guarded(hostile.pid, timeout_s=5, memory_mb=256)
    started = time.monotonic()
    with start_guarded(hostile.one_part_then_loop, "x", timeout_s=1.0, memory_mb=256) as call:
        assert call.next_part() == "early"
    assert 1.0 <= time.monotonic() - started < 5.0
    assert run_guarded(hostile.pid, timeout_s=5, memory_mb=256) != first


def test_a_call_left_on_an_interrupt_kills_the_child_at_once():
    first = run_guarded(hostile.pid, timeout_s=5, memory_mb=256)
    started = time.monotonic()
    try:
        with start_guarded(hostile.one_part_then_loop, "x", timeout_s=30, memory_mb=256) as call:
            assert call.next_part() == "early"
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert time.monotonic() - started < 5.0
    assert run_guarded(hostile.pid, timeout_s=5, memory_mb=256) != first


def test_an_answer_that_cannot_be_read_raises_at_once_and_leaves_the_guard_usable():
    started = time.monotonic()
    with pytest.raises(ValueError):
        run_guarded(hostile.answer_that_does_not_unpickle, timeout_s=30, memory_mb=256)
    assert time.monotonic() - started < 15  # the caller is not kept waiting out the call's deadline
    assert run_guarded(hostile.parts_then_result, 1, timeout_s=5, memory_mb=256) != os.getpid()
