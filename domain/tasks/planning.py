"""What a plan refers to, checked before it is written: the office, the target and site, the form version,
and the inspectors (enrolled in the office's pool, without a conflict of interest)."""
from __future__ import annotations

from dataclasses import dataclass

from ..access import Actor, Permission
from ..accounts import queries as account_queries
from ..errors import (
    AccountNotFoundError,
    Forbidden,
    TaskFormModeMismatchError,
    TaskInspectorNotInPoolError,
    TaskUnitRuleError,
)
from ..forms import queries as form_queries
from ..forms.models import FormVersion
from ..units import queries as unit_queries
from ..units.models import Unit, UnitKind
from . import queries, rules
from .models import Assignment, SiteSnapshot, TaskMode

TARGET_KINDS = (UnitKind.ORGANISATION, UnitKind.OFFICE)
MAX_INSPECTORS = 20


@dataclass
class Office:
    id: object
    name: str


def office_of(actor: Actor) -> Office:
    """The planning office: the supervisor's own. Raises Forbidden for an account without one."""
    actor.require(Permission.TASK_PLAN)
    office = queries.units_raw([actor.office_id]).get(queries.oid(actor.office_id)) if actor.office_id else None
    if office is None:
        raise Forbidden(permission=str(Permission.TASK_PLAN))
    return Office(office["_id"], office["name"])


def target_unit(actor: Actor, unit_id) -> Unit:
    """An active organisation in the actor's jurisdiction (UnitNotFoundError, 404, outside it)."""
    unit = unit_queries.get_unit(actor, unit_id)
    if unit.kind not in TARGET_KINDS:
        raise TaskUnitRuleError(field="target_unit_id", rule="organisation", unit=str(unit.pk), kind=str(unit.kind))
    if not unit.active:
        raise TaskUnitRuleError(field="target_unit_id", rule="active", unit=str(unit.pk), kind=str(unit.kind))
    return unit


def site_unit(actor: Actor, unit_id) -> Unit:
    """An active site with a position in the actor's jurisdiction (UnitNotFoundError outside it)."""
    unit = unit_queries.get_unit(actor, unit_id)
    if unit.kind != UnitKind.SITE or not unit.location or not unit.radius_m:
        raise TaskUnitRuleError(field="site_id", rule="site", unit=str(unit.pk), kind=str(unit.kind))
    if not unit.active:
        raise TaskUnitRuleError(field="site_id", rule="active", unit=str(unit.pk), kind=str(unit.kind))
    return unit


def site_snapshot(site: Unit) -> SiteSnapshot:
    lon, lat = site.location["coordinates"]
    return SiteSnapshot(site=site.pk, name=site.name, address=site.address, lon=lon, lat=lat, radius_m=site.radius_m)


def form_version(actor: Actor, form_id: str, version: int | None, mode: TaskMode) -> FormVersion:
    """The version to pin (the newest when none is named); its mode must suit the task's.
    Raises FormVersionNotFoundError, TaskFormModeMismatchError."""
    if version is None:
        newest = [v.version for v in form_queries.version_summaries(actor) if v.form_id == form_id]
        version = max(newest, default=0)
    form = form_queries.get_version(actor, form_id, version)
    if form.mode not in ("any", str(mode)):
        raise TaskFormModeMismatchError(form_id=form_id, version=version, form_mode=form.mode, mode=str(mode))
    return form


def assignments(actor: Actor, office: Office, inspector_ids, places: list[Unit], now,
                keep: dict | None = None) -> list[Assignment]:
    """One assignment per inspector, in the order given (duplicates dropped). Each must be an active
    inspector enrolled in the office's pool and have no conflict of interest with the places.
    ``keep`` holds existing assignments (by inspector id) whose acknowledgement stays.
    Raises TaskInspectorNotInPoolError, TaskConflictOfInterestError."""
    wanted = list(dict.fromkeys(str(i) for i in inspector_ids))
    accounts = []
    for inspector_id in wanted:
        try:
            account = account_queries.load_account(actor, inspector_id)
        except AccountNotFoundError:
            raise TaskInspectorNotInPoolError(inspector=inspector_id, reason="not-in-pool") from None
        # load_account also returns the caller's own account: check the pool, not only visibility
        if str(account.role) != "inspector" or office.id not in account.pool_offices:
            raise TaskInspectorNotInPoolError(inspector=inspector_id, reason="not-in-pool")
        if not account.active:
            raise TaskInspectorNotInPoolError(inspector=inspector_id, reason="inactive")
        accounts.append(account)
    homes = queries.units_raw([a.home_unit for a in accounts])
    visited = [{"_id": u.pk, "ancestors": list(u.ancestors), "name": u.name} for u in places]
    out = []
    for account in accounts:
        rules.check_conflict_of_interest({"_id": account.pk, "username": account.username},
                                         homes.get(account.home_unit), visited)
        kept = (keep or {}).get(str(account.pk))
        out.append(kept or Assignment(inspector=account.pk, name=account.display_name or account.username,
                                      assigned_at=now))
    return out
