"""The whole service as `make run` starts it (``python -m ops.run``), for end-to-end tests.

One service per test module (``service`` fixture, module scope): its own empty data
directory, a free API port, one worker, a short heartbeat age so a dead worker shows quickly.
It finds its processes in DATA_DIR/run/servers.json, which the runner rewrites whenever a
program's PID changes. ``paused()`` stops the runner itself (SIGSTOP) so a test can kill a
program and observe the service without it before the supervisor restarts it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from ops.embedded import die_with_parent, free_port

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_MAX_AGE = 3  # seconds; InspectionWorker then heartbeats every second
# Variables of the test process that must not leak into the service it starts.
_FOREIGN = ("MONGODB_URI", "MONGODB_DB", "REDIS_URL", "TEST_MONGODB_URI", "AUDIT_KEY_FILE", "SECRET_KEY", "APP_ENV",
            "RQ_REDIS_URL")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy and return it; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (requests.RequestException, OSError, ValueError, KeyError) as exc:
            last_error = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error!r})" if last_error else ""))


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child the runner has not reaped yet (it may be paused) is a zombie: not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


@dataclass
class Service:
    proc: subprocess.Popen
    data_dir: Path
    base_url: str
    env: dict

    # --- what the runner published ---------------------------------------------------------
    def state(self) -> dict:
        return json.loads((self.data_dir / "run" / "servers.json").read_text())

    def pid(self, program: str) -> int | None:
        return self.state().get("programs", {}).get(program)

    @property
    def mongodb_uri(self) -> str:
        return self.state()["mongodb_uri"]

    @property
    def redis_url(self) -> str:
        return self.state()["redis_url"]

    def log(self, name: str) -> str:
        path = self.data_dir / "log" / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # --- HTTP --------------------------------------------------------------------------------
    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.base_url + path, timeout=10, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.base_url + path, timeout=10, **kw)

    def readyz(self) -> tuple[int, dict]:
        r = self.get("/readyz")
        return r.status_code, r.json()

    def wait_ready(self, timeout: float = 30) -> dict:
        def ok():
            code, body = self.readyz()
            return body if code == 200 and body["status"] == "ok" else None
        return wait_for(ok, timeout, f"/readyz to say ok (last: {self._last_readyz()})")

    def wait_readyz(self, predicate: Callable[[int, dict], bool], timeout: float, what: str) -> dict:
        def check():
            code, body = self.readyz()
            return {"code": code, **body} if predicate(code, body) else None
        return wait_for(check, timeout, what)

    def _last_readyz(self):
        try:
            return self.readyz()
        except requests.RequestException as exc:
            return repr(exc)

    def login(self, username: str, password: str) -> dict:
        r = self.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    # --- processes ---------------------------------------------------------------------------
    @contextmanager
    def paused(self):
        """The runner stopped (SIGSTOP): programs killed meanwhile stay down until the block ends."""
        self.proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGCONT)

    def kill(self, program: str, sig: int = signal.SIGKILL) -> int:
        pid = self.pid(program)
        assert alive(pid), f"{program} is not running: {self.state()}"
        os.kill(pid, sig)
        wait_for(lambda: not alive(pid), 10, f"{program} (pid {pid}) to die")
        return pid

    def wait_restarted(self, program: str, old_pid: int, timeout: float = 20) -> int:
        return wait_for(lambda: (p := self.pid(program)) not in (None, old_pid) and alive(p) and p,
                        timeout, f"the runner to restart {program}")

    def stop(self, timeout: float = 40) -> int:
        """Ctrl-C the runner; every program it started must be gone afterwards."""
        programs = self.state().get("programs", {}) if (self.data_dir / "run" / "servers.json").exists() else {}
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"the runner did not stop within {timeout}s:\n{self.output()}")
        left = {name: pid for name, pid in programs.items() if alive(pid)}
        assert not left, f"programs left running after the runner stopped: {left}"
        return code

    def restart(self, timeout: float = 60) -> None:
        """A clean stop, then the same command again on the same data directory and API port."""
        assert self.stop() == 0
        self.proc = _launch(self.data_dir, self.env)
        _await_ready(self, timeout)

    def output(self) -> str:
        return (self.data_dir / "runner.out").read_text(errors="replace")[-4000:]


def _launch(data_dir: Path, env: dict) -> subprocess.Popen:
    out = open(data_dir / "runner.out", "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "ops.run"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent(), start_new_session=True)
    finally:
        out.close()


def _await_ready(service: Service, timeout: float) -> Service:
    deadline = time.monotonic() + timeout
    while True:
        if service.proc.poll() is not None:
            pytest.fail(f"ops.run exited with {service.proc.returncode} while starting:\n{service.output()}")
        try:
            code, body = service.readyz()
            if code == 200 and body["status"] == "ok":
                return service
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            service.stop()
            pytest.fail(f"the service was not ready within {timeout}s:\n{service.output()}")
        time.sleep(0.1)


def start_service(data_dir: Path, timeout: float = 60, **env_overrides: str) -> Service:
    """Start ``python -m ops.run`` on ``data_dir`` and wait until /readyz says ok."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    env.update(DATA_DIR=str(data_dir), API_BIND=f"127.0.0.1:{port}", SEED_DEMO="0", RQ_WORKERS="1",
               WORKER_HEARTBEAT_MAX_AGE=str(HEARTBEAT_MAX_AGE), WEB_CONCURRENCY="1", API_THREADS="4",
               ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="1024", LOGIN_RATE_LIMIT="1000 per minute",
               PYTHONUNBUFFERED="1")
    env.update(env_overrides)
    return _await_ready(Service(_launch(data_dir, env), data_dir, f"http://127.0.0.1:{port}", env), timeout)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = start_service(tmp_path_factory.mktemp("service"))
    yield svc
    svc.stop()


@contextmanager
def service_database(svc: Service):
    """Point this test process's storage at the service's database (and back afterwards).

    Writes made here behave like a service that crashed right after its commit: the API's
    outbox kick is not installed here, so entries stay pending until a sweep dispatches them.
    """
    from domain import storage
    from domain.config import get_settings

    previous = get_settings()
    hooks = list(storage._post_commit_hooks)
    storage._post_commit_hooks.clear()
    storage.connect(svc.mongodb_uri)
    try:
        yield
    finally:
        storage.client().close()
        storage._post_commit_hooks[:] = hooks
        storage.connect(previous.mongodb_uri, previous.mongodb_db)


# --- single programs against the test session's servers ------------------------------------------

def program_env(settings, redis_url: str | None = None) -> dict:
    """The environment of a program serving the test session's database (embedded, or TEST_MONGODB_URI)."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    env.update(APP_ENV="test", MONGODB_URI=settings.mongodb_uri, MONGODB_DB=settings.mongodb_db,
               REDIS_URL=redis_url or settings.redis_url, DATA_DIR=str(settings.data_dir),
               AUDIT_KEY_FILE=str(settings.resolved_audit_key_file), SECRET_KEY=settings.secret_key,
               WORKER_HEARTBEAT_MAX_AGE=str(HEARTBEAT_MAX_AGE), ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="1024",
               PYTHONUNBUFFERED="1")
    return env


def start_program(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent())


def stop_program(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def real_worker(settings, redis_url: str, name: str, log: Path):
    """One forking `rq worker` as `make run` starts it, registered before the block starts."""
    import redis as redis_lib
    from rq import Worker

    from ops import programs

    proc = start_program(programs.worker(redis_url, name=name), program_env(settings, redis_url), log)
    conn = redis_lib.Redis.from_url(redis_url)
    try:
        wait_for(lambda: proc.poll() is None and any(w.name == name for w in Worker.all(connection=conn)),
                 30, f"the worker {name} to register")
        yield proc
    finally:
        stop_program(proc)


# --- gunicorn alone, as ops/gunicorn_conf.py configures it --------------------------------------

@contextmanager
def gunicorn(app: str, env: dict, log: Path, timeout: float = 60, **overrides: str):
    """``gunicorn -c ops/gunicorn_conf.py APP`` on a free port; yields (base URL, master process)."""
    port = free_port()
    env = {**env, "API_BIND": f"127.0.0.1:{port}", **overrides}
    proc = start_program([sys.executable, "-m", "gunicorn", "-c", "ops/gunicorn_conf.py", app], env, log)
    base = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        return requests.get(base + "/healthz", timeout=5).status_code == 200

    try:
        wait_for(up, timeout, "gunicorn to answer /healthz")
        yield base, proc
    finally:
        stop_program(proc)
