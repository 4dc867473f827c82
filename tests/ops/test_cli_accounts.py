"""inspectctl create-admin and unlock, run in-process against the test database."""
from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from domain import storage
from domain.accounts import services
from domain.accounts.models import Account
from domain.audit import AuditEvent
from ops.cli import main
from domain import clock


def test_create_admin_reads_the_password_from_stdin_and_the_admin_can_sign_in(world):
    result = CliRunner().invoke(main, ["create-admin", "--username", "Chief", "--home-unit-code", "440700000000",
                                       "--password-stdin"], input="Chief@2026\n")
    assert result.exit_code == 0, result.output
    assert "created admin chief" in result.output and "江门市" in result.output
    assert services.login("chief", "Chief@2026")["token_type"] == "Bearer"
    event = AuditEvent.objects.get(action="account.created")
    assert event.actor_role == "system" and event.after["role"] == "admin"


def test_create_admin_prompts_twice_and_refuses_a_weak_password(world):
    result = CliRunner().invoke(main, ["create-admin", "--username", "chief", "--home-unit-code", "440700000000"],
                                input="weakpass\nweakpass\n")
    assert result.exit_code == 1 and "auth.weak-password" in result.output
    assert not Account.objects(username="chief").first()


def test_create_admin_names_an_unknown_unit_code(world):
    result = CliRunner().invoke(main, ["create-admin", "--username", "chief", "--home-unit-code", "NOPE",
                                       "--password-stdin"], input="Chief@2026\n")
    assert result.exit_code == 1 and "NOPE" in result.output


def test_unlock_lifts_a_lock_out(world):
    Account._get_collection().update_one({"username": "inspector_east"}, {"$set": {
        "locked_until": clock.now() + timedelta(minutes=10), "failed_logins": 3}})
    result = CliRunner().invoke(main, ["unlock", "Inspector_East"])
    assert result.exit_code == 0, result.output
    account = Account.objects.get(username="inspector_east")
    assert account.locked_until is None and account.failed_logins == 0
    assert CliRunner().invoke(main, ["unlock", "nobody"]).exit_code == 1
