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

from .embedded import _die_with_parent

log = logging.getLogger("supervisor")


@dataclass
class Program:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    ready: object = None  # optional callable: True once the program serves
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    backoff: float = 1.0
    next_start: float = 0.0


class Supervisor:
    def __init__(self, programs: list[Program], *, max_backoff: float = 30.0):
        self.programs = programs
        self.max_backoff = max_backoff
        self.stopping = threading.Event()

    def _start(self, p: Program) -> None:
        env = {**os.environ, **p.env}
        out = open(p.log_path, "ab") if p.log_path else None
        try:
            p.proc = subprocess.Popen(p.argv, env=env, stdout=out or None, stderr=subprocess.STDOUT if out else None,
                                      stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        finally:
            if out:
                out.close()
        p.started_at = time.monotonic()
        log.info("started %s (pid %s)", p.name, p.proc.pid)

    def start_all(self, wait_ready: float = 60.0) -> None:
        for p in self.programs:
            if p.log_path:
                p.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._start(p)
            if p.ready:
                deadline = time.monotonic() + wait_ready
                while not p.ready():
                    if p.proc.poll() is not None:
                        raise RuntimeError(f"{p.name} exited with {p.proc.returncode} while starting; see {p.log_path}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{p.name} not ready after {wait_ready}s; see {p.log_path}")
                    time.sleep(0.1)

    def poll_once(self) -> None:
        now = time.monotonic()
        for p in self.programs:
            if p.proc is None:
                if now >= p.next_start:
                    self._start(p)
                continue
            code = p.proc.poll()
            if code is None:
                if now - p.started_at > 60:
                    p.backoff = 1.0  # it stayed up: forget earlier failures
                continue
            p.restarts += 1
            p.proc = None
            p.next_start = now + p.backoff
            log.warning("%s exited with %s; restarting in %.0fs", p.name, code, p.backoff)
            p.backoff = min(p.backoff * 2, self.max_backoff)

    def run_forever(self, interval: float = 0.5) -> None:
        while not self.stopping.is_set():
            self.poll_once()
            self.stopping.wait(interval)

    def stop_all(self, timeout: float = 20.0) -> None:
        """Stop in reverse start order, one at a time: workers finish their job before the servers go."""
        self.stopping.set()
        for p in reversed(self.programs):
            if p.proc is None or p.proc.poll() is not None:
                continue
            p.proc.send_signal(signal.SIGTERM)
            try:
                p.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %ss; killing", p.name, timeout)
                p.proc.kill()
                p.proc.wait(5)
