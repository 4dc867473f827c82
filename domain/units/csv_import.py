"""Importing units from CSV (docs/units-csv.md): encoding detection, parents first, one transaction per row.

Each good row goes through the same services as the API (so it is checked and audited the same
way); a bad row is reported with its row number and error code and the rest carry on.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from .. import text
from ..access import Actor
from ..errors import (CsvDuplicateCodeError, CsvEncodingError, CsvHeaderError, CsvParentUnresolvedError,
                      CsvRowMalformedError, DomainError, TextForbiddenCharacterError, UnitFieldRuleError)
from . import queries, rules, services

COLUMNS = ("code", "name", "name_en", "kind", "level", "parent_code", "address", "lon", "lat", "crs", "radius_m",
           "jurisdiction_codes")
REQUIRED = ("code", "name", "kind")
# Excel templates in Chinese offices carry Chinese headers and values.
HEADER_ALIASES = {"编码": "code", "代码": "code", "单位编码": "code", "名称": "name", "单位名称": "name",
                  "英文名称": "name_en", "类型": "kind", "单位类型": "kind", "级别": "level", "层级": "level",
                  "上级编码": "parent_code", "上级代码": "parent_code", "地址": "address", "经度": "lon",
                  "纬度": "lat", "坐标系": "crs", "半径": "radius_m", "半径(米)": "radius_m", "半径（米）": "radius_m",
                  "辖区编码": "jurisdiction_codes"}
KIND_ALIASES = {"行政区划": "region", "区划": "region", "部门": "organisation", "单位": "organisation",
                "督查室": "office", "场所": "site", "服务场所": "site", "窗口": "site"}
LEVEL_ALIASES = {"省": "province", "市": "city", "县": "county", "区": "county", "县区": "county", "乡镇": "town",
                 "乡": "town", "镇": "town", "街道": "town", "村": "village", "社区": "village"}
CODE_SEPARATORS = re.compile(r"[;；|、\s]+")
OUTCOMES = ("created", "updated", "unchanged", "bad")


@dataclass
class Row:
    number: int  # the spreadsheet row: the header is row 1
    code: str
    values: dict = field(default_factory=dict)
    error: DomainError | None = None

    @property
    def dependencies(self) -> list[str]:
        return [c for c in [self.values.get("parent_code"), *self.values.get("jurisdiction_codes", [])] if c]


@dataclass
class RowOutcome:
    row: int
    code: str
    outcome: str
    error_code: str | None = None
    params: dict = field(default_factory=dict)


@dataclass
class ImportReport:
    outcomes: list[RowOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(o.outcome for o in self.outcomes)
        return {k: tally.get(k, 0) for k in OUTCOMES}

    @property
    def bad(self) -> list[RowOutcome]:
        return sorted((o for o in self.outcomes if o.outcome == "bad"), key=lambda o: o.row)


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not) when it decodes strictly, else GB18030, the superset of the GBK Excel writes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsvEncodingError()


def _header(names: list[str]) -> list[str]:
    mapped = [HEADER_ALIASES.get(n.strip(), n.strip().lower()) for n in names]
    unknown = [n for n, m in zip(names, mapped) if m not in COLUMNS] + [m for m, c in Counter(mapped).items() if c > 1]
    missing = [c for c in REQUIRED if c not in mapped]
    if unknown or missing:
        raise CsvHeaderError(missing=", ".join(missing) or "-", unknown=", ".join(unknown) or "-")
    return mapped


def _number(name: str, raw: str, kind=float):
    try:
        value = float(raw)
    except ValueError:
        raise CsvRowMalformedError(field=name, value=raw) from None
    if kind is int:
        if not value.is_integer():
            raise CsvRowMalformedError(field=name, value=raw)
        return int(value)
    return value


def _parse(number: int, cells: dict) -> Row:
    # The API's text rule (docs/text.md): NFC, no control or bidi-override characters in any cell.
    v = {k: text.clean((cells.get(k) or "").strip(), field=k) for k in cells}
    row = Row(number, rules.normalise_code(v.get("code")))
    if not row.code:
        raise CsvRowMalformedError(field="code", value="")
    kind = KIND_ALIASES.get(v["kind"], v["kind"].lower())
    values: dict = {"name": v.get("name"), "kind": kind}
    for col in ("name_en", "address"):
        if col in v:
            values[col] = v[col] or None
    if "level" in v:
        values["level"] = LEVEL_ALIASES.get(v["level"], v["level"].lower()) or None
    if "parent_code" in v:
        values["parent_code"] = rules.normalise_code(v["parent_code"]) or None
    if "jurisdiction_codes" in v:
        values["jurisdiction_codes"] = [rules.normalise_code(c) for c in CODE_SEPARATORS.split(v["jurisdiction_codes"]) if c]
    if "lon" in v or "lat" in v:
        lon, lat = v.get("lon", ""), v.get("lat", "")
        if bool(lon) != bool(lat):
            raise CsvRowMalformedError(field="lat" if lon else "lon", value="")
        values["position"] = ({"lon": _number("lon", lon), "lat": _number("lat", lat), "crs": v.get("crs") or "wgs84"}
                              if lon else None)
    if "radius_m" in v:
        values["radius_m"] = _number("radius_m", v["radius_m"], int) if v["radius_m"] else None
    row.values = values
    return row


def read_rows(data: bytes) -> list[Row]:
    """Every non-blank data row, parsed; a malformed row carries its error. A bad file raises."""
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    try:
        header = _header(next(reader))
    except StopIteration:
        raise CsvHeaderError(missing=", ".join(REQUIRED), unknown="-") from None
    rows, first_seen = [], {}
    for cells in reader:
        number = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        try:
            if len(cells) != len(header):
                raise CsvRowMalformedError(field="columns", value=str(len(cells)))
            row = _parse(number, dict(zip(header, cells)))
        except (CsvRowMalformedError, TextForbiddenCharacterError) as exc:
            code = rules.normalise_code(cells[0]) if cells and not text.forbidden_character(cells[0]) else ""
            rows.append(Row(number, code, error=exc))
            continue
        if row.code in first_seen:
            row.error = CsvDuplicateCodeError(code=row.code, first_row=first_seen[row.code])
        else:
            first_seen[row.code] = number
        rows.append(row)
    return rows


def _resolve(actor: Actor, code: str):
    unit = queries.unit_by_code(actor, code)
    if unit is None:
        raise CsvParentUnresolvedError(parent_code=code)
    return unit


def _apply(actor: Actor, row: Row) -> str:
    v = dict(row.values)
    parent_code = v.pop("parent_code", None)
    root_codes = v.pop("jurisdiction_codes", None)
    if root_codes is not None:
        v["jurisdiction_root_ids"] = [_resolve(actor, c).pk for c in root_codes]
    parent = _resolve(actor, parent_code) if parent_code else None
    existing = queries.unit_by_code(actor, row.code)
    if existing is None:
        services.create_unit(actor, code=row.code, parent_id=parent.pk if parent else None, **v)
        return "created"
    if str(existing.kind) != v.pop("kind"):
        raise UnitFieldRuleError(field="kind", rule="immutable")
    updated = services.update_unit(actor, existing.pk, **v)
    changed = updated.rev != existing.rev
    if "parent_code" in row.values and (parent.pk if parent else None) != existing.parent:
        services.move_unit(actor, existing.pk, parent.pk if parent else None)
        changed = True
    return "updated" if changed else "unchanged"


def import_rows(actor: Actor, rows: list[Row], on_row: Callable[[], None] | None = None) -> ImportReport:
    """Apply the rows parents first (a parent may come later in the file); bad rows are reported, not fatal."""
    report = ImportReport()
    tick = on_row or (lambda: None)

    def bad(row: Row, error: DomainError):
        report.outcomes.append(RowOutcome(row.number, row.code, "bad", error.code, dict(error.params)))
        failed.add(row.code)
        tick()

    failed: set[str] = set()
    done: set[str] = set()
    in_file = {r.code for r in rows if r.error is None}
    pending = []
    for row in rows:
        if row.error is not None:
            report.outcomes.append(RowOutcome(row.number, row.code, "bad", row.error.code, dict(row.error.params)))
            tick()
        else:
            pending.append(row)
    while pending:
        waiting = []
        for row in pending:
            deps = [c for c in row.dependencies if c in in_file]
            broken = next((c for c in deps if c in failed), None)
            if broken:
                bad(row, CsvParentUnresolvedError(parent_code=broken))
            elif all(c in done for c in deps):
                try:
                    outcome = _apply(actor, row)
                except DomainError as exc:
                    bad(row, exc)
                    continue
                report.outcomes.append(RowOutcome(row.number, row.code, outcome))
                done.add(row.code)
                tick()
            else:
                waiting.append(row)
        if len(waiting) == len(pending):  # a cycle (or a row naming itself): nothing can go first
            for row in waiting:
                bad(row, CsvParentUnresolvedError(parent_code=row.values.get("parent_code") or row.code))
            break
        pending = waiting
    report.outcomes.sort(key=lambda o: o.row)
    return report


def import_units(actor: Actor, data: bytes, on_row: Callable[[], None] | None = None) -> ImportReport:
    """Admin or system. Raises CsvEncodingError or CsvHeaderError for a file that cannot be read at all."""
    return import_rows(actor, read_rows(data), on_row)
