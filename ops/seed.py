"""The demo city for `make run`: a small Jiangmen (江门市) tree and one account per role.

Idempotent: units are found by code and accounts by username, so re-running changes nothing.
Coordinates are approximate WGS-84 positions of real service halls in Jiangmen (good to a few
hundred metres: enough for a demo, not for geofencing real visits).
"""
from __future__ import annotations

from domain.access import SYSTEM
from domain.audit.chain import SYSTEM_CHAIN, ensure_chain
from domain.config import ConfigError, Settings
from domain.errors import UnitCodeTakenError, UsernameTakenError

CITY = "440700000000"

# (code, name, kind, parent code, extra fields)
UNITS: list[tuple[str, str, str, str | None, dict]] = [
    (CITY, "江门市", "region", None, {"level": "city", "name_en": "Jiangmen"}),
    ("440703000000", "蓬江区", "region", CITY, {"level": "county", "name_en": "Pengjiang District"}),
    ("440704000000", "江海区", "region", CITY, {"level": "county", "name_en": "Jianghai District"}),
    ("440705000000", "新会区", "region", CITY, {"level": "county", "name_en": "Xinhui District"}),
    ("JM-DCS", "江门市人民政府督查室", "office", CITY, {"roots": [CITY]}),
    ("PJ-DCS", "蓬江区人民政府督查室", "office", "440703000000", {"roots": ["440703000000"]}),
    ("JM-SCJGJ", "江门市市场监督管理局", "organisation", CITY, {}),
    ("JM-RSJ", "江门市人力资源和社会保障局", "organisation", CITY, {}),
    ("JM-GAJ-CRJ", "江门市公安局出入境管理支队", "organisation", CITY, {}),
    ("JM-BDCDJ", "江门市不动产登记中心", "organisation", CITY, {}),
    ("PJ-SCJGJ", "蓬江区市场监督管理局", "organisation", "440703000000", {}),
    ("XH-SCJGJ", "新会区市场监督管理局", "organisation", "440705000000", {}),
    ("JM-ZWFW", "江门市政务服务中心", "site", CITY,
     {"at": (113.0820, 22.5830), "radius_m": 200, "address": "江门市蓬江区政务服务中心大楼"}),
    ("JM-SCJG-CK", "市场监管综合窗口", "site", "JM-SCJGJ",
     {"at": (113.0820, 22.5830), "radius_m": 100, "address": "江门市政务服务中心二楼"}),
    ("JM-RSJ-CK", "人社服务窗口", "site", "JM-RSJ",
     {"at": (113.0820, 22.5830), "radius_m": 100, "address": "江门市政务服务中心三楼"}),
    ("JM-CRJ-DT", "出入境办证大厅", "site", "JM-GAJ-CRJ",
     {"at": (113.0868, 22.5905), "radius_m": 150, "address": "江门市蓬江区"}),
    ("JM-BDC-DT", "不动产登记服务大厅", "site", "JM-BDCDJ",
     {"at": (113.0765, 22.5962), "radius_m": 150, "address": "江门市蓬江区"}),
    ("PJ-SCJG-CK", "蓬江区市场监管服务窗口", "site", "PJ-SCJGJ",
     {"at": (113.0745, 22.5890), "radius_m": 100, "address": "江门市蓬江区白沙大道西 蓬江区政务服务中心一楼"}),
    ("PJ-ZWFW", "蓬江区政务服务中心", "site", "440703000000",
     {"at": (113.0745, 22.5890), "radius_m": 150, "address": "江门市蓬江区白沙大道西"}),
    ("JH-ZWFW", "江海区政务服务中心", "site", "440704000000",
     {"at": (113.1110, 22.5600), "radius_m": 150, "address": "江门市江海区"}),
    ("XH-ZWFW", "新会区政务服务中心", "site", "440705000000",
     {"at": (113.0340, 22.5210), "radius_m": 150, "address": "江门市新会区会城"}),
]

# (username, display name, role, home unit code, office code, pool office codes)
ACCOUNTS = [
    ("admin", "系统管理员", "admin", CITY, None, ()),
    ("supervisor", "蓬江区督查室 张督查", "supervisor", "PJ-DCS", "PJ-DCS", ()),
    ("inspector", "督查员 李巡查", "inspector", "JM-DCS", None, ("PJ-DCS", "JM-DCS")),
    ("liaison", "蓬江区市场监管局联络员 王联络", "liaison", "PJ-SCJGJ", None, ()),
    ("leader", "市领导 陈领导", "leader", "JM-DCS", "JM-DCS", ()),
]


def _ensure_unit(code, name, kind, parent_code, extra, ids):
    from domain.units import queries, services

    existing = queries.unit_by_code(SYSTEM, code)
    if existing is None:
        fields = dict(name_en=extra.get("name_en"), level=extra.get("level"), address=extra.get("address"),
                      radius_m=extra.get("radius_m"),
                      jurisdiction_root_ids=[ids[c] for c in extra.get("roots", ())])
        if "at" in extra:
            fields["position"] = {"crs": "wgs84", "lon": extra["at"][0], "lat": extra["at"][1]}
        try:
            existing = services.create_unit(SYSTEM, code=code, name=name, kind=kind,
                                            parent_id=ids[parent_code] if parent_code else None, **fields)
        except UnitCodeTakenError:  # another process seeded it in between
            existing = queries.unit_by_code(SYSTEM, code)
    ids[code] = existing.pk
    return existing


# (title, mode, form) planned by the demo supervisor on the demo liaison's unit: the liaison sees the open
# one and can never tell that the undercover one exists; the inspector's phone syncs both.
TASKS = [
    ("蓬江区市场监管服务窗口明查", "open", "open_check_service_hall"),
    ("蓬江区市场监管服务窗口暗访", "undercover", "undercover_mystery_visit"),
]


def _ensure_demo_tasks(ids: dict) -> None:
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from domain.accounts.models import Account
    from domain.accounts.services import actor_for
    from domain.forms import load_shipped_forms
    from domain.tasks import Task
    from domain.tasks.services import plan_task

    load_shipped_forms()  # a no-op when prepare_database loaded them already
    supervisor = actor_for(Account.objects.get(username="supervisor"))
    inspector = Account.objects.get(username="inspector")
    shanghai = ZoneInfo("Asia/Shanghai")
    tomorrow = datetime.now(shanghai).date() + timedelta(days=1)
    for title, mode, form_id in TASKS:
        if Task.objects(title=title).first():
            continue
        plan_task(supervisor, mode=mode, title=title, form_id=form_id, target_unit_id=str(ids["PJ-SCJGJ"]),
                  site_id=str(ids["PJ-SCJG-CK"]), inspector_ids=[str(inspector.pk)],
                  starts_at=datetime.combine(tomorrow, time(9), shanghai),
                  ends_at=datetime.combine(tomorrow, time(17), shanghai),
                  instructions="演示任务：按检查表逐项检查，照片须现场拍摄。")


def seed_demo_city(settings: Settings) -> list[dict]:
    """Create what is missing of the demo city; returns the demo accounts for the start banner."""
    if settings.is_production:
        raise ConfigError("refusing to seed demo data with APP_ENV=production")
    from domain.accounts.services import create_account
    from domain.units import services

    ensure_chain(SYSTEM_CHAIN)
    ids, names = {}, {}
    for code, name, kind, parent_code, extra in UNITS:
        unit = _ensure_unit(code, name, kind, parent_code, extra, ids)
        names[code] = unit.name
        if kind == "office":
            ensure_chain(str(unit.pk))
    for username, display, role, home, office, pool in ACCOUNTS:
        try:
            create_account(SYSTEM, username, display, role, str(ids[home]), settings.demo_password,
                           office=str(ids[office]) if office else None, pool_offices=[str(ids[p]) for p in pool])
        except UsernameTakenError:
            pass
    # The recount jobs are in the outbox too; doing it here makes the counts right before any worker runs.
    services.recount_sites(SYSTEM, [ids[c] for c, _, kind, _, _ in UNITS if kind == "site"])
    _ensure_demo_tasks(ids)
    return [{"username": u, "role": r, "unit": names[home]} for u, _, r, home, _, _ in ACCOUNTS]
