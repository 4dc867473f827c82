"""inspectctl migrate: run the idempotent data migrations (domain/migrations.py)."""
from __future__ import annotations

import json

import click

from .cli import connected, main


@main.command("migrate")
@click.argument("names", nargs=-1)
def migrate(names) -> None:
    """Run the data migrations (all, or the NAMES given); safe to run again."""
    from domain.migrations import MIGRATIONS, run_migrations

    try:
        with connected():
            results = run_migrations(list(names) or None)
    except KeyError as exc:
        raise click.ClickException(f"unknown migration: {exc.args[0]} (known: {', '.join(n for n, _ in MIGRATIONS)})")
    for name, counts in results.items():
        click.echo(f"{name}: {json.dumps(counts, ensure_ascii=False, sort_keys=True)}")
