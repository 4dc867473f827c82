"""Run a parser where it can be killed: a child process with a time and a memory limit.

Real files send EXIF parsers and decoders into endless loops and huge allocations, in C where
no Python timeout reaches. So the work runs in a persistent child process: the address space
is capped with RLIMIT_AS (a huge allocation fails there as MemoryError), and a call that
overruns its time is ended with SIGKILL. Any failure comes back as a GuardFailure, never as an
exception, and the next call gets a fresh child. One persistent child keeps the per-call
overhead to a pipe round trip (~0.1 ms; measured in bench/bench_validation.py).

A call can be started and collected later (``start_guarded``), so the caller does its own work
(database round trips) while the child parses, and a generator function streams what it knows
early (``GuardedCall.next_part``): the verdict job looks up reuse by the perceptual hashes while
the child is still making the thumbnail.

The default start method is ``fork``: an RQ work horse is itself forked, and a ``forkserver``
started by its parent cannot be used from it (``os.waitpid`` on a process that is not its
child), while a fork of the warm horse has every module imported already. The child runs only
the given function and never touches the parent's database or Redis connections.
"""
from __future__ import annotations

import ctypes
import faulthandler
import inspect
import multiprocessing as mp
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass

TIMEOUT, MEMORY, CRASH, ERROR = "timeout", "memory", "crash", "error"


@dataclass(frozen=True)
class GuardFailure:
    kind: str  # timeout | memory | crash | error
    detail: str = ""
    limit: float | None = None  # the limit that was hit: seconds (timeout) or MB (memory)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "detail": self.detail, "limit": self.limit}


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


PART, OK = "part", "ok"


def _serve(conn, parent_end, memory_mb: int) -> None:
    """The child's loop: receive (seq, fn, args, kwargs), answer (seq, status, payload); a generator
    function answers (seq, "part", item) for each item it yields before its (seq, "ok", result)."""
    parent_end.close()
    _die_with_parent()
    faulthandler.disable()  # a crash in a parser is reported by the parent, not as the parent's stack
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the RQ worker's warm-shutdown handler
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to decide
    # Relative to what the child already maps (a fork shares the parent's mappings), so the
    # budget means the same in a lean process and in a worker with everything imported.
    limit = _vm_size() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            seq, fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = fn(*args, **kwargs)
            if inspect.isgenerator(result):
                result = _stream(conn, seq, result)
        except MemoryError:
            conn.send((seq, MEMORY, ""))
            return  # a heap that hit the ceiling is not worth keeping
        except BaseException as exc:  # noqa: BLE001 - any exception is an answer, not a crash
            conn.send((seq, ERROR, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        try:
            conn.send((seq, OK, result))
        except Exception as exc:  # an answer that does not pickle
            conn.send((seq, ERROR, f"unpicklable result: {type(exc).__name__}"))


def _stream(conn, seq: int, generator):
    """Send each yielded item as a part; the generator's return value is the result."""
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return stop.value
        conn.send((seq, PART, item))


class Guard:
    """One persistent child with a memory limit; replaced whenever it dies or is killed."""

    def __init__(self, memory_mb: int, context: str = "fork"):
        self.memory_mb = memory_mb
        self.ctx = mp.get_context(context)
        self.proc = None
        self.conn = None
        self.seq = 0
        self.owner = os.getpid()
        self.starts = 0
        self.lock = threading.Lock()  # one call at a time on the one pipe

    def _start(self) -> None:
        parent_end, child_end = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_serve, args=(child_end, parent_end, self.memory_mb),
                                     name="validation-guard", daemon=True)
        self.proc.start()
        child_end.close()
        self.conn = parent_end
        self.starts += 1

    def stop(self) -> None:
        """End the child (SIGKILL: it may be stuck in C) and forget it."""
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.join(5)
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None

    def call(self, fn, args: tuple, kwargs: dict, timeout_s: float):
        with self.start(fn, args, kwargs, timeout_s) as call:
            return call.result()

    def start(self, fn, args: tuple, kwargs: dict, timeout_s: float) -> "GuardedCall":
        """Send the call and return at once; the guard is this call's until it is closed."""
        self.lock.acquire()
        try:
            if self.proc is None or not self.proc.is_alive():
                self.stop()
                self._start()
            self.seq += 1
            call = GuardedCall(self, self.seq, time.monotonic() + timeout_s, timeout_s)
            try:
                self.conn.send((self.seq, fn, args, kwargs))
            except (BrokenPipeError, OSError) as exc:
                self.stop()
                call._finish(GuardFailure(CRASH, f"child unreachable: {exc}"))
            return call
        except BaseException:
            self.lock.release()
            raise

    def _receive(self, seq: int, deadline: float, timeout_s: float):
        """The next answer to call ``seq``: (PART, item), (OK, result), or (None, GuardFailure)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.conn.poll(remaining):
                self.stop()
                return None, GuardFailure(TIMEOUT, f"no answer within {timeout_s} s", timeout_s)
            try:
                answer_seq, status, payload = self.conn.recv()
            except (EOFError, OSError):
                self.proc.join(5)
                code = self.proc.exitcode
                self.stop()
                return None, GuardFailure(CRASH, f"child exited with {code}")
            if answer_seq != seq:
                continue  # a late answer to a call that already timed out
            if status in (PART, OK):
                return status, payload
            if status == MEMORY:
                self.stop()
                return None, GuardFailure(MEMORY, f"over the {self.memory_mb} MB limit", self.memory_mb)
            return None, GuardFailure(ERROR, payload)


class GuardedCall:
    """A call running in the guarded child. ``next_part`` gives what a generator function yields,
    in order; ``result`` its return value (or any function's), or a GuardFailure. One deadline
    covers the whole call. Use it as a context manager: a call the caller leaves early is let
    finish within its deadline (the child is kept for the next call), unless the caller leaves on
    an interrupt or a shutdown, which kills the child."""

    def __init__(self, guard: Guard, seq: int, deadline: float, timeout_s: float):
        self.guard, self.seq, self.deadline, self.timeout_s = guard, seq, deadline, timeout_s
        self.done = False
        self._result = None

    def _finish(self, result) -> None:
        self.done, self._result = True, result
        self.guard.lock.release()

    def next_part(self):
        """The next item the function yields; None once it has returned (or failed)."""
        if self.done:
            return None
        try:
            status, payload = self.guard._receive(self.seq, self.deadline, self.timeout_s)
        except BaseException:  # an answer that does not unpickle, an interrupt: never leave the guard locked
            self.kill()
            raise
        if status == PART:
            return payload
        self._finish(payload)
        return None

    def result(self):
        """The function's result or a GuardFailure; parts not yet read are skipped."""
        while not self.done:
            self.next_part()
        return self._result

    def close(self) -> None:
        """Let a running call finish (its result is dropped); the deadline still kills a stuck one."""
        self.result()

    def kill(self) -> None:
        if not self.done:
            self.guard.stop()
            self._finish(GuardFailure(ERROR, "stopped by the caller"))

    def __enter__(self) -> "GuardedCall":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None or issubclass(exc_type, Exception):
            self.close()
        else:  # KeyboardInterrupt, SystemExit: do not wait for the child
            self.kill()


_guards: dict[tuple[int, str], Guard] = {}
_guards_pid = os.getpid()


def _guard(memory_mb: int, context: str) -> Guard:
    global _guards_pid
    if os.getpid() != _guards_pid:
        # A forked process (an RQ work horse) inherited its parent's children: they are not
        # ours to use or kill. Drop our copies of the pipes and start our own.
        for inherited in _guards.values():
            if inherited.conn is not None:
                inherited.conn.close()
        _guards.clear()
        _guards_pid = os.getpid()
    key = (memory_mb, context)
    if key not in _guards:
        _guards[key] = Guard(memory_mb, context)
    return _guards[key]


def run_guarded(fn, *args, timeout_s: float, memory_mb: int, context: str = "fork", **kwargs):
    """``fn(*args, **kwargs)`` in the guarded child: its result, or a GuardFailure.

    ``fn`` must be importable by name (a module-level function); its result must pickle.
    """
    return _guard(memory_mb, context).call(fn, args, kwargs, timeout_s)


def start_guarded(fn, *args, timeout_s: float, memory_mb: int, context: str = "fork", **kwargs) -> GuardedCall:
    """Start ``fn(*args, **kwargs)`` in the guarded child and return at once (see GuardedCall).
    The process's guard is busy until the call is closed: close it, or use ``with``."""
    return _guard(memory_mb, context).start(fn, args, kwargs, timeout_s)


def shutdown() -> None:
    """Stop every guarded child of this process (tests, benchmarks, worker shutdown)."""
    for guard in list(_guards.values()):
        if guard.owner == os.getpid():
            guard.stop()
    _guards.clear()
