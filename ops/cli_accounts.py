"""inspectctl commands for accounts: the first admin, and unlocking after failed logins."""
from __future__ import annotations

import sys

import click

from .cli import connected, main


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _describe(error) -> str:
    """An operator-readable line for a domain error, in English from the message catalogue."""
    from api.messages import text

    return text("en", f"{error.code}|detail", error.params) or error.code


@main.command("create-admin")
@click.option("--username", required=True)
@click.option("--home-unit-code", required=True, help="code of the admin's home unit (e.g. the city's division code)")
@click.option("--display-name", default=None, help="defaults to the username")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
def create_admin(username: str, home_unit_code: str, display_name: str | None, password_stdin: bool) -> None:
    """Create an admin account (as the system; audited like any account creation)."""
    from domain.access import SYSTEM
    from domain.accounts import services
    from domain.errors import DomainError
    from domain.units.models import Unit

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with connected():
        unit = Unit._get_collection().find_one({"code": home_unit_code}, {"_id": 1})
        if unit is None:
            _fail(f"no unit with code {home_unit_code!r}")
        try:
            account = services.create_account(SYSTEM, username, display_name or username, "admin",
                                              str(unit["_id"]), password)
        except DomainError as error:
            _fail(f"{error.code}: {_describe(error)}")
    click.echo(f"created admin {account['username']} ({account['id']}) at {account['home_unit']['name']}")


@main.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """Lift the lock-out of USERNAME after failed logins (audited)."""
    from domain.access import SYSTEM
    from domain.accounts import queries, services

    with connected():
        account = queries.account_by_username(username.strip().lower())
        if account is None:
            _fail(f"no account {username!r}")
        services.unlock_account(SYSTEM, account.pk)
    click.echo(f"unlocked {account.username}")
