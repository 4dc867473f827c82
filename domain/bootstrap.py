"""The composition root (装配): the one place where the domain's features are wired together.

The app factory, the worker set-up, the scheduler and the CLI call ``wire()``; importing a
package registers nothing by itself. A new feature adds its stored documents to
``MODEL_MODULES`` and its hooks (upload targets, blob users, unit reference checks) to
``_register_hooks``.
"""
from __future__ import annotations

from importlib import import_module

# Every module that declares stored documents: their indexes are created from this list.
MODEL_MODULES = (
    "domain.accounts.models",
    "domain.audit.chain",
    "domain.forms.models",
    "domain.outbox",
    "domain.reports.models",
    "domain.tasks.models",
    "domain.units.models",
    "domain.uploads.models",
)

_wired = False


def _register_hooks() -> None:
    from .reports import intake
    from .tasks.queries import references_unit
    from .units.references import register_reference_check

    intake.register()  # completed uploads whose target is "evidence" become evidence of a report
    register_reference_check(references_unit)  # a unit that tasks name has history: never deleted


def wire() -> None:
    """Import every model and register every hook, once per process (idempotent)."""
    global _wired
    if _wired:
        return
    for name in MODEL_MODULES:
        import_module(name)
    _register_hooks()
    _wired = True


def prepare_database(*, seed_demo: bool = False) -> None:
    """Indexes, the system audit chain, the sync counter, the shipped forms and the data
    migrations: what every process may assume. Idempotent; run by ``make run``, ``python -m
    ops.prepare`` and the CLI against a database it has not prepared yet."""
    from . import storage
    from .audit.chain import SYSTEM_CHAIN, ensure_chain
    from .forms import load_shipped_forms
    from .migrations import run_migrations
    from .tasks import ensure_sync_counter

    wire()
    storage.ensure_indexes()
    ensure_chain(SYSTEM_CHAIN)
    ensure_sync_counter()
    load_shipped_forms()  # all or nothing: a bad or changed shipped form stops the start
    run_migrations()  # idempotent: existing data gets what this version needs
