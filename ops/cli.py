"""`inspectctl`: administration commands. Each feature adds its commands in its own module."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager

import click

from domain import storage
from domain.config import Settings, get_settings, set_settings


def prepare_database(settings: Settings, *, seed_demo: bool = False) -> list[dict] | None:
    """Connect and prepare the database (domain.bootstrap.prepare_database); outside production,
    optionally seed the demo city. Idempotent."""
    from domain import bootstrap

    set_settings(settings)
    storage.connect(settings.mongodb_uri, settings.mongodb_db)
    bootstrap.prepare_database()
    if seed_demo and not settings.is_production:
        from .seed import seed_demo_city

        return seed_demo_city(settings)
    return None


@contextmanager
def connected():
    """Use MONGODB_URI, else the servers of a running `make run`, else start the embedded ones for this command."""
    settings = get_settings()
    if settings.mongodb_uri:
        prepare_database(settings)
        yield settings
        return
    state_file = settings.data_dir / "run" / "servers.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        try:
            os.kill(state["pid"], 0)
            alive = True
        except (OSError, KeyError):
            alive = False
        if alive:
            s = Settings.from_env(mongodb_uri=state["mongodb_uri"], redis_url=state["redis_url"])
            prepare_database(s)
            yield s
            return
    from .embedded import EmbeddedServer, mongo_spec

    server = EmbeddedServer(mongo_spec(settings.data_dir, db=settings.mongodb_db)).start()
    try:
        s = Settings.from_env(mongodb_uri=server.url)
        prepare_database(s)
        yield s
    finally:
        storage.client().close()
        server.stop()


@click.group()
def main() -> None:
    """督查移动巡查后端 administration."""


@main.command("seed-demo")
def seed_demo() -> None:
    """Seed the demo city in Jiangmen with one account per role (refused with APP_ENV=production)."""
    from domain.config import ConfigError

    from .seed import seed_demo_city

    try:
        with connected() as settings:
            accounts = seed_demo_city(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"demo accounts (password {settings.demo_password}):")
    for a in accounts:
        click.echo(f"  {a['username']:<12} {a['role']:<11} {a['unit']}")


from . import cli_accounts, cli_audit, cli_forms, cli_migrate, cli_units  # noqa: E402,F401  (they register their commands on main)
