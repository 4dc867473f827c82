"""The demo city seeded by `make run`: complete, idempotent, never in production."""
from __future__ import annotations

import dataclasses

import pytest

from domain.accounts.models import Account
from domain.audit import AuditEvent
from domain.audit.chain import AuditHead
from domain.config import ConfigError
from domain.units.models import Unit
from ops.seed import seed_demo_city


def test_the_demo_city_has_one_account_per_role_and_real_jiangmen_units(settings):
    banner = seed_demo_city(settings)
    assert {a["role"] for a in banner} == {"admin", "supervisor", "inspector", "liaison", "leader"}
    codes = {u.code: u for u in Unit.objects}
    assert {"440700000000", "440703000000", "440704000000", "440705000000"} <= set(codes)
    sites = [u for u in codes.values() if str(u.kind) == "site"]
    for s in sites:
        lon, lat = s.location["coordinates"]
        assert 112.9 < lon < 113.2 and 22.4 < lat < 22.7 and 100 <= s.radius_m <= 200
    assert codes["440700000000"].site_count == len(sites)
    offices = [u for u in codes.values() if str(u.kind) == "office"]
    assert offices and all(AuditHead.objects(id=str(o.pk)) for o in offices)
    inspector = Account.objects.get(username="inspector")
    assert codes["PJ-DCS"].pk in inspector.pool_offices


def test_seeding_twice_changes_nothing(settings):
    seed_demo_city(settings)
    before = ([(u.code, u.rev) for u in Unit.objects.order_by("code")], Account.objects.count(), AuditEvent.objects.count())
    assert seed_demo_city(settings)
    after = ([(u.code, u.rev) for u in Unit.objects.order_by("code")], Account.objects.count(), AuditEvent.objects.count())
    assert after == before


def test_seeding_refuses_production(settings):
    with pytest.raises(ConfigError):
        seed_demo_city(dataclasses.replace(settings, app_env="production"))
    assert not Unit.objects


def test_the_seed_demo_command_lists_the_demo_accounts(settings):
    from click.testing import CliRunner

    from ops.cli import main

    result = CliRunner().invoke(main, ["seed-demo"])
    assert result.exit_code == 0, result.output
    assert settings.demo_password in result.output
    for username in ("admin", "supervisor", "inspector", "liaison", "leader"):
        assert username in result.output
    assert Account.objects.count() == 5


def test_the_demo_has_an_open_and_an_undercover_task_and_the_liaison_sees_only_the_open_one(settings, client):
    from domain.tasks import Task

    seed_demo_city(settings)
    seed_demo_city(settings)  # idempotent: still two tasks
    assert sorted(str(t.mode) for t in Task.objects) == ["open", "undercover"]

    def get(username, path):
        token = client.post("/api/v1/auth/login", json={"username": username,
                                                         "password": settings.demo_password}).get_json()
        return client.get(path, headers={"Authorization": f"Bearer {token['access_token']}"}).get_json()

    assert [t["mode"] for t in get("liaison", "/api/v1/tasks")["items"]] == ["open"]
    assert len(get("inspector", "/api/v1/sync/tasks")["tasks"]) == 2
