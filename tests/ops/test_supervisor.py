"""The runner's supervisor on real (tiny) processes, with a clock the test turns by hand."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ops.supervisor import Program, Supervisor


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "Z"
    except (OSError, IndexError):
        return True


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_program_that_keeps_exiting_is_restarted_with_doubling_delays_up_to_the_cap():
    clock, prepared = Clock(), []
    flaky = Program("flaky", ["true"], prepare=lambda: prepared.append(clock.now))
    sup = Supervisor([flaky], min_backoff=1, max_backoff=4, clock=clock)
    sup.start_all()
    delays = []
    for _ in range(5):
        flaky.proc.wait(5)
        sup.poll_once()  # notices the exit
        assert flaky.proc is None
        delays.append(flaky.next_start - clock.now)
        clock.now = flaky.next_start - 0.01
        sup.poll_once()
        assert flaky.proc is None, "restarted before its delay ran out"
        clock.now = flaky.next_start
        sup.poll_once()
        assert flaky.proc is not None
    flaky.proc.wait(5)
    assert delays == [1, 2, 4, 4, 4]
    assert flaky.restarts == 5
    assert len(prepared) == 6, "prepare (e.g. creating the data directory) runs before every start"


def test_a_program_that_stayed_up_long_enough_starts_over_from_the_shortest_delay():
    clock = Clock()
    prog = Program("steady", ["sleep", "30"])
    sup = Supervisor([prog], min_backoff=1, max_backoff=30, reset_after=60, clock=clock)
    sup.start_all()
    prog.backoff = 16  # as after several quick failures
    clock.now += 61
    sup.poll_once()
    prog.proc.kill()
    prog.proc.wait(5)
    sup.poll_once()
    assert prog.next_start - clock.now == 1
    sup.stop_all()


def test_what_a_dead_program_left_in_its_process_group_is_cleaned_up(tmp_path):
    pidfile = tmp_path / "child.pid"
    # The leader leaves a child behind, as a SIGKILLed rq worker leaves its scheduler process.
    prog = Program("leader", ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; exec sleep 0.2"])
    sup = Supervisor([prog], min_backoff=30)
    sup.start_all()
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
    child = int(pidfile.read_text())
    prog.proc.wait(5)
    assert not gone(child)
    sup.poll_once()
    wait_until(lambda: gone(child))


def test_stop_all_terminates_every_program_and_kills_one_that_ignores_sigterm():
    polite = Program("polite", ["sleep", "60"])
    stubborn = Program("stubborn", ["sh", "-c", "trap '' TERM; exec sleep 60"])
    sup = Supervisor([polite, stubborn])
    sup.start_all()
    time.sleep(0.1)  # let the shell install its trap before the exec
    began = time.monotonic()
    sup.stop_all(timeout=0.5)
    assert polite.proc.returncode == -signal.SIGTERM
    assert stubborn.proc.returncode == -signal.SIGKILL
    assert time.monotonic() - began < 5
    assert sup.stopping.is_set()


def test_start_all_says_which_program_failed_while_starting(tmp_path):
    broken = Program("secantusdb", ["sh", "-c", "echo busy >&2; exit 3"], log_path=tmp_path / "db.log",
                     ready=lambda: False)
    with pytest.raises(RuntimeError, match=r"secantusdb exited with 3 while starting; see .*db\.log"):
        Supervisor([broken]).start_all()
    assert "busy" in (tmp_path / "db.log").read_text()


def test_programs_run_in_their_own_session_so_a_terminal_ctrl_c_reaches_only_the_runner():
    prog = Program("api", ["sleep", "60"])
    sup = Supervisor([prog])
    sup.start_all()
    try:
        assert os.getsid(prog.proc.pid) == prog.proc.pid != os.getsid(0)
    finally:
        sup.stop_all()
