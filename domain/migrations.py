"""Data migrations (数据迁移): idempotent changes to stored data that a new version needs.

Each entry is a name and the dotted path of a function that takes no arguments, may run any
number of times (a second run changes nothing) and returns counts of what it changed.
`inspectctl migrate` runs them in order; `python -m ops.prepare` runs them on start.
Add a migration by appending one line to ``MIGRATIONS``; never remove or reorder one.
"""
from __future__ import annotations

from importlib import import_module
from typing import Callable

MIGRATIONS: list[tuple[str, str]] = [
    # ("name", "domain.feature.migrations:function"),
    ("scope-units", "domain.scope:backfill_scope_units"),
    ("finding-ids", "domain.reports.migrations:add_finding_ids"),
]


def _resolve(path: str) -> Callable[[], dict]:
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def run_migrations(names: list[str] | None = None) -> dict[str, dict]:
    """Run every migration (or the named ones) in order; returns each one's counts."""
    known = dict(MIGRATIONS)
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise KeyError(", ".join(unknown))
    return {name: _resolve(path)() for name, path in MIGRATIONS if not names or name in names}
