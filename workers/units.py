"""Jobs for the unit tree: keep each unit's count of active sites, and the scope stored below a moved unit, current."""
from __future__ import annotations

from domain.access import SYSTEM
from domain import scope
from domain.units import services

from . import bootstrap


def recount_sites(*unit_ids: str) -> dict:
    """Recount active sites below the given units and their ancestors (idempotent)."""
    bootstrap.setup()
    return services.recount_sites(SYSTEM, unit_ids)


def refresh_scope(unit_id: str) -> dict:
    """Recompute the stored scope of the tasks, reports and photos below a moved unit (idempotent)."""
    bootstrap.setup()
    return scope.refresh_scope_below(SYSTEM, unit_id)
