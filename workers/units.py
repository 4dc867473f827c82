"""Jobs for the unit tree: keep each unit's count of active sites current."""
from __future__ import annotations

from domain.access import SYSTEM
from domain.units import services

from . import bootstrap


def recount_sites(*unit_ids: str) -> dict:
    """Recount active sites below the given units and their ancestors (idempotent)."""
    bootstrap.setup()
    return services.recount_sites(SYSTEM, unit_ids)
