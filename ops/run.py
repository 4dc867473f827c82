"""`make run`: the embedded servers (unless MONGODB_URI/REDIS_URL), API, workers and scheduler
as separate supervised processes, plus demo data. Ctrl-C stops everything cleanly."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys

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


def _previous_ports(state_file) -> dict:
    try:
        return json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}


def build(settings: Settings, api_bind: str, n_workers: int):
    """The supervised programs and the environment every one of them receives."""
    data_dir = settings.data_dir
    logs = data_dir / "log"
    state_file = data_dir / "run" / "servers.json"
    prev = _previous_ports(state_file)
    env = {"DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    progs: list[Program] = []
    specs: dict[str, ServerSpec] = {}
    if not settings.mongodb_uri:
        port = prev.get("mongodb_port")
        spec = mongo_spec(data_dir, port if port and not _port_open("127.0.0.1", port) else None, settings.mongodb_db)
        specs["mongodb"] = spec
        progs.append(Program("secantusdb", spec.argv, log_path=spec.log_path, ready=spec.ready))
        env["MONGODB_URI"] = spec.url
    if not settings.redis_url:
        port = prev.get("redis_port")
        spec = redis_spec(data_dir, port if port and not _port_open("127.0.0.1", port) else None)
        specs["redis"] = spec
        progs.append(Program("redis", spec.argv, log_path=spec.log_path, ready=spec.ready))
        env["REDIS_URL"] = spec.url
    host, _, port = api_bind.rpartition(":")
    mongo_url = env.get("MONGODB_URI", settings.mongodb_uri)
    redis_url = env.get("REDIS_URL", settings.redis_url)
    app_progs = [Program("api", programs.api(api_bind), env=env, log_path=logs / "api.log",
                         ready=lambda: _port_open(host or "127.0.0.1", int(port)))]
    for i in range(n_workers):
        app_progs.append(Program(f"worker-{i + 1}", programs.worker(redis_url), env=env,
                                 log_path=logs / f"worker-{i + 1}.log"))
    app_progs.append(Program("scheduler", programs.scheduler(redis_url), env=env, log_path=logs / "scheduler.log"))
    state = {"mongodb_uri": mongo_url, "redis_url": redis_url, "pid": os.getpid(),
             "mongodb_port": specs["mongodb"].port if "mongodb" in specs else None,
             "redis_port": specs["redis"].port if "redis" in specs else None}
    return progs, app_progs, env, state, state_file


def banner(settings: Settings, base_url: str, seeded: list | None) -> str:
    lines = ["", "督查移动巡查后端 is running", f"  API:      {base_url}/api/v1",
             f"  Docs:     {base_url}/docs   (OpenAPI: {base_url}/openapi.json)",
             f"  Ready:    {base_url}/readyz", f"  Logs:     {settings.data_dir / 'log'}"]
    if seeded:
        lines.append(f"  Demo accounts (password {settings.demo_password}):")
        lines += [f"    {a['username']:<12} {a['role']:<11} {a['unit']}" for a in seeded]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s run %(levelname)s %(message)s")
    try:
        settings = Settings.from_env()
        settings.check_production()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    api_bind = os.environ.get("API_BIND", "127.0.0.1:8000")
    n_workers = int(os.environ.get("RQ_WORKERS", "2"))
    bind_host, _, bind_port = api_bind.rpartition(":")
    if _port_open(bind_host or "127.0.0.1", int(bind_port)):
        print(f"error: {api_bind} is already in use (set API_BIND=127.0.0.1:PORT)", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    servers, app_progs, env, state, state_file = build(settings, api_bind, n_workers)

    sup_servers = Supervisor(servers)
    sup_app = Supervisor(app_progs)
    stopping = {"flag": False}

    def on_signal(signum, _frame):
        stopping["flag"] = True
        sup_app.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        sup_servers.start_all()
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(state))
        os.environ.update(env)
        from .cli import prepare_database
        seeded = prepare_database(Settings.from_env(), seed_demo=os.environ.get("SEED_DEMO", "1") != "0")
        sup_app.start_all()
        print(banner(settings, f"http://{api_bind}", seeded), flush=True)
        while not stopping["flag"]:
            sup_servers.poll_once()
            sup_app.poll_once()
            sup_app.stopping.wait(0.5)
    finally:
        sup_app.stop_all()
        sup_servers.stop_all()
        state_file.unlink(missing_ok=True)
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
