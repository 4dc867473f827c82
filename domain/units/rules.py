"""Pure checks of the unit tree: code formats, which kind sits under which, and per-kind fields."""
from __future__ import annotations

import re

from ..errors import UnitCodeFormatError, UnitFieldRuleError, UnitParentRuleError
from .models import RegionLevel, Unit, UnitKind

LEVEL_ORDER = [RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWN, RegionLevel.VILLAGE]
REGION_CODE = re.compile(r"^\d{12}$")  # 统计用区划代码
# Either an 18-character unified social credit code (统一社会信用代码, GB 32100-2015) or an office-assigned code;
# the second pattern covers the first, so both pass one check.
ASSIGNED_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
RADIUS_RANGE = (1, 5000)
PARENT_KINDS = {
    UnitKind.REGION: {UnitKind.REGION},
    UnitKind.ORGANISATION: {UnitKind.REGION, UnitKind.ORGANISATION, UnitKind.OFFICE},
    UnitKind.OFFICE: {UnitKind.REGION, UnitKind.ORGANISATION, UnitKind.OFFICE},
    UnitKind.SITE: {UnitKind.REGION, UnitKind.ORGANISATION, UnitKind.OFFICE},
}
ROOT_KINDS = {UnitKind.REGION, UnitKind.ORGANISATION, UnitKind.OFFICE}
JURISDICTION_ROOT_KINDS = {UnitKind.REGION, UnitKind.ORGANISATION}


def normalise_code(code) -> str:
    return str(code or "").strip().upper()


def check_code(kind: UnitKind, code: str) -> None:
    pattern = REGION_CODE if kind is UnitKind.REGION else ASSIGNED_CODE
    if not pattern.match(code):
        raise UnitCodeFormatError(code=code, kind=str(kind))


def level_rank(level) -> int:
    return LEVEL_ORDER.index(RegionLevel(level))


def check_parent(kind: UnitKind, level, parent: Unit | None) -> None:
    """Regions only under regions and deeper than their parent; sites never at the root; nothing under a site."""
    if parent is None:
        if kind not in ROOT_KINDS:
            raise UnitParentRuleError(kind=str(kind), parent_kind="none", rule="needs-parent")
        return
    if parent.kind not in PARENT_KINDS[kind]:
        raise UnitParentRuleError(kind=str(kind), parent_kind=str(parent.kind), rule="kind")
    if kind is UnitKind.REGION and level_rank(level) <= level_rank(parent.level):
        raise UnitParentRuleError(kind=str(kind), parent_kind=str(parent.kind), rule="level-order",
                                  level=str(level), parent_level=str(parent.level))


def check_level_above_children(level, child_levels) -> None:
    for child in child_levels:
        if child and level_rank(child) <= level_rank(level):
            raise UnitParentRuleError(kind="region", parent_kind="region", rule="level-order",
                                      level=str(child), parent_level=str(level))


def check_text(field: str, value, *, required: bool = False, max_length: int = 200) -> str | None:
    value = (str(value).strip() if value is not None else "") or None
    if value is None and required:
        raise UnitFieldRuleError(field=field, rule="required")
    if value is not None and len(value) > max_length:
        raise UnitFieldRuleError(field=field, rule=f"max-length-{max_length}")
    return value


def check_kind_fields(unit: Unit) -> None:
    """Fields that belong to one kind only, and the ones that kind needs."""
    kind = unit.kind
    if kind is UnitKind.REGION and unit.level is None:
        raise UnitFieldRuleError(field="level", rule="required-for-region")
    if kind is not UnitKind.REGION and unit.level is not None:
        raise UnitFieldRuleError(field="level", rule="regions-only")
    if kind is UnitKind.SITE:
        if not unit.location:
            raise UnitFieldRuleError(field="location", rule="required-for-site")
        if unit.radius_m is None:
            raise UnitFieldRuleError(field="radius_m", rule="required-for-site")
    else:
        if unit.location:
            raise UnitFieldRuleError(field="location", rule="sites-only")
        if unit.radius_m is not None:
            raise UnitFieldRuleError(field="radius_m", rule="sites-only")
    if unit.radius_m is not None and not (RADIUS_RANGE[0] <= unit.radius_m <= RADIUS_RANGE[1]):
        raise UnitFieldRuleError(field="radius_m", rule="range-1-5000")
    if kind is UnitKind.OFFICE and not unit.jurisdiction_roots:
        raise UnitFieldRuleError(field="jurisdiction_roots", rule="required-for-office")
    if kind is not UnitKind.OFFICE and unit.jurisdiction_roots:
        raise UnitFieldRuleError(field="jurisdiction_roots", rule="offices-only")


def check_jurisdiction_roots(requested: list, found: list[Unit]) -> None:
    by_id = {u.pk: u for u in found}
    for root_id in requested:
        root = by_id.get(root_id)
        if root is None:
            raise UnitFieldRuleError(field="jurisdiction_roots", rule="unknown-unit", unit=str(root_id))
        if root.kind not in JURISDICTION_ROOT_KINDS:
            raise UnitFieldRuleError(field="jurisdiction_roots", rule="region-or-organisation", unit=str(root_id))
