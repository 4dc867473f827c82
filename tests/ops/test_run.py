"""`make run` refuses, with its reason and exit code 2, to start what it must not; these runs stop
before any server starts."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from workers.worker import heartbeat_intervals

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "s" * 48


def run(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("MONGODB_URI", "REDIS_URL", "SECRET_KEY", "AUDIT_KEY_FILE", "APP_ENV", "TEST_MONGODB_URI")}
    base.update({"DATA_DIR": str(tmp_path / "data"), "API_BIND": "127.0.0.1:9", **env})
    return subprocess.run([sys.executable, "-m", "ops.run"], cwd=ROOT, env=base, capture_output=True, text=True,
                          timeout=60)


def test_production_on_the_embedded_servers_and_the_default_secret_is_refused_with_every_reason(tmp_path):
    result = run(tmp_path, APP_ENV="production")
    assert result.returncode == 2
    assert "refusing to start with APP_ENV=production" in result.stderr
    for reason in ("MONGODB_URI is not set", "REDIS_URL is not set", "SECRET_KEY is the development default",
                   "AUDIT_KEY_FILE is not set"):
        assert reason in result.stderr
    assert not (tmp_path / "data" / "secantus").exists(), "nothing was started"


def test_production_with_real_servers_but_the_default_secret_is_refused_naming_only_the_secret(tmp_path):
    result = run(tmp_path, APP_ENV="production", MONGODB_URI="mongodb://db.example:27017/inspection?replicaSet=rs0",
                 REDIS_URL="redis://queue.example:6379/0", AUDIT_KEY_FILE=str(tmp_path / "audit.key"))
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "MONGODB_URI is not set" not in result.stderr and "REDIS_URL is not set" not in result.stderr


@pytest.mark.parametrize("env, message", [
    ({"RQ_WORKERS": "none"}, "RQ_WORKERS must be a positive integer"),
    ({"RQ_WORKERS": "0"}, "RQ_WORKERS must be a positive integer"),
    ({"API_BIND": "localhost"}, "API_BIND must be HOST:PORT"),
    ({"WORKER_HEARTBEAT_MAX_AGE": "soon"}, "WORKER_HEARTBEAT_MAX_AGE must be an integer"),
])
def test_a_malformed_setting_is_refused_by_name(tmp_path, env, message):
    result = run(tmp_path, **env)
    assert result.returncode == 2 and message in result.stderr


def test_an_api_port_in_use_is_refused(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run(tmp_path, API_BIND=f"127.0.0.1:{taken.getsockname()[1]}")
    assert result.returncode == 2 and "is already in use" in result.stderr


def test_a_second_run_on_a_data_directory_in_use_is_refused(tmp_path):
    state = tmp_path / "data" / "run" / "servers.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"pid": os.getpid()}))  # a live process claims the directory
    result = run(tmp_path)
    assert result.returncode == 2 and f"another run (pid {os.getpid()})" in result.stderr


@pytest.mark.parametrize("max_age", [3, 10, 60, 300])
def test_a_live_worker_heartbeats_well_within_the_age_readiness_accepts(max_age):
    opts = heartbeat_intervals(max_age)
    idle_beat = opts["worker_ttl"] - 15  # rq blocks this long on an empty queue, then heartbeats
    assert 1 <= idle_beat <= max_age / 2
    assert 1 <= opts["job_monitoring_interval"] <= max_age / 2


def test_prepare_readies_a_real_database_and_refuses_to_run_without_one(tmp_path, settings):
    from domain.audit.chain import SYSTEM_CHAIN, AuditHead

    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "APP_ENV", "TEST_MONGODB_URI")}
    env.update(DATA_DIR=str(tmp_path), AUDIT_KEY_FILE=str(settings.resolved_audit_key_file))
    refused = subprocess.run([sys.executable, "-m", "ops.prepare"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "MONGODB_URI is not set" in refused.stderr

    env.update(MONGODB_URI=settings.mongodb_uri, MONGODB_DB=settings.mongodb_db)
    done = subprocess.run([sys.executable, "-m", "ops.prepare"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert AuditHead.objects(id=SYSTEM_CHAIN).count() == 1
