"""`make run`: the embedded servers (unless MONGODB_URI/REDIS_URL), API, workers and scheduler
as separate supervised processes, plus demo data. Ctrl-C stops everything cleanly.

While it runs, DATA_DIR/run/servers.json names the servers' URLs and every program's PID
(``inspectctl`` finds the database there; the end-to-end tests find the processes).
DATA_DIR/run/ports.json keeps the embedded servers' ports for the next run.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from domain.config import ConfigError, Settings

from . import programs
from .embedded import ServerSpec, mongo_spec, redis_spec
from .supervisor import Program, Supervisor

log = logging.getLogger("run")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _previous_ports(state_file: Path) -> dict:
    try:
        return json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}


def _server_program(spec: ServerSpec) -> Program:
    def prepare() -> None:
        spec.data_path.mkdir(parents=True, exist_ok=True)

    return Program(spec.name, spec.argv, log_path=spec.log_path, ready=spec.ready, prepare=prepare,
                   repeat_term=spec.repeat_term)


def build(settings: Settings, api_bind: str, n_workers: int):
    """The supervised programs and the environment every one of them receives."""
    data_dir = settings.data_dir
    logs = data_dir / "log"
    state_file = data_dir / "run" / "servers.json"
    prev = _previous_ports(data_dir / "run" / "ports.json")
    env = {"DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    servers: list[Program] = []
    specs: dict[str, ServerSpec] = {}
    # Reuse last run's ports when free, so URLs written down (a phone on the LAN) keep working.
    if not settings.mongodb_uri:
        port = prev.get("mongodb_port")
        spec = mongo_spec(data_dir, port if port and not _port_open("127.0.0.1", port) else None, settings.mongodb_db)
        specs["mongodb"] = spec
        servers.append(_server_program(spec))
        env["MONGODB_URI"] = spec.url
    if not settings.redis_url:
        port = prev.get("redis_port")
        spec = redis_spec(data_dir, port if port and not _port_open("127.0.0.1", port) else None)
        specs["redis"] = spec
        servers.append(_server_program(spec))
        env["REDIS_URL"] = spec.url
    host, _, port = api_bind.rpartition(":")
    mongo_url = env.get("MONGODB_URI", settings.mongodb_uri)
    redis_url = env.get("REDIS_URL", settings.redis_url)
    app_progs = [Program("api", programs.api(api_bind), env=env, log_path=logs / "api.log",
                         ready=lambda: _port_open(host or "127.0.0.1", int(port)))]
    for i in range(n_workers):
        app_progs.append(Program(f"worker-{i + 1}", programs.worker(redis_url, name=None), env=env,
                                 log_path=logs / f"worker-{i + 1}.log"))
    app_progs.append(Program("scheduler", programs.scheduler(redis_url), env=env, log_path=logs / "scheduler.log"))
    state = {"mongodb_uri": mongo_url, "redis_url": redis_url, "pid": os.getpid(), "api": f"http://{api_bind}",
             "mongodb_port": specs["mongodb"].port if "mongodb" in specs else None,
             "redis_port": specs["redis"].port if "redis" in specs else None}
    return servers, app_progs, env, state, state_file


def write_state(state_file: Path, state: dict) -> None:
    """Replace the state file in one rename, so a reader never sees half of it."""
    state_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_file.with_suffix(".tmp")
    # 0600: the URLs may carry credentials when MONGODB_URI / REDIS_URL are given.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(state, indent=1))
    os.replace(tmp, state_file)


def banner(settings: Settings, base_url: str, seeded: list | None) -> str:
    lines = ["", "督查移动巡查后端 is running", f"  API:      {base_url}/api/v1",
             f"  Docs:     {base_url}/docs   (OpenAPI: {base_url}/openapi.json)",
             f"  Ready:    {base_url}/readyz", f"  Logs:     {settings.data_dir / 'log'}"]
    if seeded:
        lines.append(f"  Demo accounts (password {settings.demo_password}):")
        lines += [f"    {a['username']:<12} {a['role']:<11} {a['unit']}" for a in seeded]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _configuration() -> tuple[Settings, str, int]:
    """Settings, API bind address and worker count, or ConfigError saying what is wrong."""
    settings = Settings.from_env()
    settings.check_production()
    api_bind = os.environ.get("API_BIND", "127.0.0.1:8000")
    bind_host, _, bind_port = api_bind.rpartition(":")
    if not bind_port.isdigit():
        raise ConfigError(f"API_BIND must be HOST:PORT, got {api_bind!r}")
    raw_workers = os.environ.get("RQ_WORKERS", "2")
    if not raw_workers.isdigit() or int(raw_workers) < 1:
        raise ConfigError(f"RQ_WORKERS must be a positive integer, got {raw_workers!r}")
    if _port_open(bind_host or "127.0.0.1", int(bind_port)):
        raise ConfigError(f"{api_bind} is already in use (set API_BIND=127.0.0.1:PORT)")
    other = _previous_ports(settings.data_dir / "run" / "servers.json").get("pid")
    if other and _alive(other):
        raise ConfigError(f"another run (pid {other}) is using {settings.data_dir} (set DATA_DIR to run a second one)")
    return settings, api_bind, int(raw_workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s run %(levelname)s %(message)s")
    try:
        settings, api_bind, n_workers = _configuration()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    servers, app_progs, env, state, state_file = build(settings, api_bind, n_workers)
    sup_servers, sup_app = Supervisor(servers), Supervisor(app_progs)

    def on_signal(signum, _frame):
        sup_app.stopping.set()
        sup_servers.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def publish() -> None:
        write_state(state_file, {**state, "programs": {**sup_servers.pids(), **sup_app.pids()}})

    try:
        sup_servers.start_all()
        if sup_servers.stopping.is_set():
            return 0
        publish()
        write_state(settings.data_dir / "run" / "ports.json",
                    {k: state[k] for k in ("mongodb_port", "redis_port") if state[k]})
        os.environ.update(env)
        from domain import storage

        from .cli import prepare_database
        seeded = prepare_database(Settings.from_env(), seed_demo=os.environ.get("SEED_DEMO", "1") != "0")
        storage.client().close()  # the runner only supervises from here on; children open their own clients
        sup_app.start_all()
        if sup_app.stopping.is_set():
            return 0
        publish()
        print(banner(settings, f"http://{api_bind}", seeded), flush=True)
        published = None
        while not sup_app.stopping.is_set():
            sup_servers.poll_once()
            sup_app.poll_once()
            pids = (sup_servers.pids(), sup_app.pids())
            if pids != published:
                publish()
                published = pids
            sup_app.stopping.wait(0.25)
    finally:
        sup_app.stop_all()
        sup_servers.stop_all()
        state_file.unlink(missing_ok=True)
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
