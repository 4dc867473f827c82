"""A small process supervisor: starts the service's processes and restarts any that exits,
with backoff (``rq cron`` exits when it loses Redis; compose does the same with a restart policy).
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .embedded import die_with_parent, terminate

log = logging.getLogger("supervisor")


@dataclass
class Program:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    ready: Callable[[], bool] | None = None  # True once the program serves
    prepare: Callable[[], None] | None = None  # run before each start (e.g. create its data directory)
    repeat_term: float | None = None  # re-send SIGTERM this often (a server that may miss one)
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    backoff: float = 1.0
    next_start: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None


class Supervisor:
    """Restart delays double from ``min_backoff`` up to ``max_backoff``; a program that stayed up
    ``reset_after`` seconds starts again from ``min_backoff``."""

    def __init__(self, programs: list[Program], *, min_backoff: float = 1.0, max_backoff: float = 30.0,
                 reset_after: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.programs = programs
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.reset_after = reset_after
        self.clock = clock
        self.stopping = threading.Event()
        self._stray_groups: dict[int, float] = {}  # process group -> when to SIGKILL what is left
        for p in programs:
            p.backoff = min_backoff

    def _start(self, p: Program) -> None:
        if p.prepare:
            p.prepare()
        env = {**os.environ, **p.env}
        out = None
        if p.log_path:
            p.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = open(p.log_path, "ab")
        try:
            # Own session: the runner alone receives Ctrl-C and stops programs in order; the
            # program's whole group (an RQ work horse, the worker's scheduler) can be cleaned up.
            p.proc = subprocess.Popen(p.argv, env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
                                      stdin=subprocess.DEVNULL, preexec_fn=die_with_parent(),
                                      start_new_session=True)
        finally:
            if out:
                out.close()
        p.started_at = self.clock()
        log.info("started %s (pid %s)", p.name, p.proc.pid)

    def start_all(self, wait_ready: float = 60.0) -> None:
        for p in self.programs:
            if self.stopping.is_set():
                return
            self._start(p)
            if p.ready:
                deadline = time.monotonic() + wait_ready
                while not p.ready():
                    if p.proc.poll() is not None:
                        raise RuntimeError(f"{p.name} exited with {p.proc.returncode} while starting; see {p.log_path}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{p.name} not ready after {wait_ready}s; see {p.log_path}")
                    if self.stopping.wait(0.05):
                        return

    def _sweep_group(self, pgid: int) -> None:
        """What a dead program left in its process group (a work horse, rq's scheduler child) goes too."""
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        self._stray_groups[pgid] = self.clock() + 5.0

    def _kill_strays(self, force: bool = False) -> None:
        now = self.clock()
        for pgid, deadline in list(self._stray_groups.items()):
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                del self._stray_groups[pgid]
                continue
            if force or now >= deadline:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                del self._stray_groups[pgid]

    def poll_once(self) -> None:
        now = self.clock()
        self._kill_strays()
        for p in self.programs:
            if self.stopping.is_set():
                return
            if p.proc is None:
                if now >= p.next_start:
                    self._start(p)
                continue
            code = p.proc.poll()
            if code is None:
                if now - p.started_at > self.reset_after:
                    p.backoff = self.min_backoff  # it stayed up: forget earlier failures
                continue
            self._sweep_group(p.proc.pid)
            p.restarts += 1
            p.proc = None
            p.next_start = now + p.backoff
            log.warning("%s exited with %s; restarting in %.1fs", p.name, code, p.backoff)
            p.backoff = min(p.backoff * 2, self.max_backoff)

    def run_forever(self, interval: float = 0.5) -> None:
        while not self.stopping.is_set():
            self.poll_once()
            self.stopping.wait(interval)

    def pids(self) -> dict[str, int | None]:
        return {p.name: p.pid for p in self.programs}

    def stop_all(self, timeout: float = 20.0) -> None:
        """Stop every program (SIGTERM to all at once: a worker finishes its running job first),
        killing what is still up after ``timeout``. The runner stops the servers' supervisor
        after the application's, so the servers outlive the programs that use them."""
        self.stopping.set()
        running = [p for p in self.programs if p.proc is not None and p.proc.poll() is None]
        began = time.monotonic()
        for p in running:
            p.proc.send_signal(signal.SIGTERM)
        for p in running:
            terminate(p.proc, max(timeout - (time.monotonic() - began), 0.1), repeat=p.repeat_term, signalled=True)
            log.info("stopped %s after %.1fs (exit %s)", p.name, time.monotonic() - began, p.proc.returncode)
        for p in self.programs:
            if p.proc is not None:
                self._sweep_group(p.proc.pid)
        grace = time.monotonic() + 2.0
        while self._stray_groups and time.monotonic() < grace:
            self._kill_strays()  # forgets the groups that are gone
            time.sleep(0.05)
        self._kill_strays(force=True)
