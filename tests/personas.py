"""The named actors of every test, in a small Jiangmen world.

江门市 (city)
├── 蓬江区 (east)            ── 蓬江区督查室 office_east (jurisdiction: 蓬江区)
│   ├── 蓬江区水务局 water    ── 水务局服务窗口 site_water
│   └── 蓬江区政务服务中心 hall_east (site)
├── 新会区 (west)            ── 新会区督查室 office_west (jurisdiction: 新会区)
│   └── 新会区市场监督管理局 market_west ── 市场监管窗口 site_west
└── 江门市督查室 office_city (jurisdiction: 江门市)

Personas: admin, supervisor_east, supervisor_west, inspector_east (works at 江门市督查室,
in office_east's pool), liaison_water (水务局联络员), leader_city (市领导, read-only), plus
``system`` and ``anonymous``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from argon2 import PasswordHasher

from domain import storage
from domain.access import SYSTEM, Role
from domain.accounts.models import Account
from domain.audit.chain import SYSTEM_CHAIN, ensure_chain
from domain.units.models import RegionLevel, Unit, UnitKind

PASSWORD = "Persona@2026"
_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_HASH = _hasher.hash(PASSWORD)


@dataclass
class World:
    units: dict[str, Unit] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    _tokens: dict[str, dict] = field(default_factory=dict)

    def unit(self, key: str) -> Unit:
        return self.units[key]

    def id(self, key: str) -> str:
        return str(self.units[key].pk)

    def tokens(self, persona: str) -> dict:
        """Log the persona in through the service (cached per test)."""
        if persona not in self._tokens:
            from domain.accounts.services import login

            self._tokens[persona] = login(persona, PASSWORD, user_agent="pytest")
        return self._tokens[persona]

    def headers(self, persona: str, lang: str | None = None) -> dict:
        h = {} if persona == "anonymous" else {"Authorization": f"Bearer {self.tokens(persona)['access_token']}"}
        if lang:
            h["Accept-Language"] = lang
        return h


PERSONAS = ("admin", "supervisor_east", "supervisor_west", "inspector_east", "liaison_water", "leader_city")


def _unit(world: World, key: str, parent: str | None, **fields) -> Unit:
    parent_unit = world.units[parent] if parent else None
    unit = Unit(parent=parent_unit.pk if parent_unit else None,
                ancestors=[*parent_unit.ancestors, parent_unit.pk] if parent_unit else [], **fields)
    storage.atomic(lambda tx: tx.insert(unit))
    world.units[key] = unit
    return unit


def _site(lon: float, lat: float, radius: int = 100) -> dict:
    return {"location": {"type": "Point", "coordinates": [lon, lat]},
            "location_input": {"crs": "wgs84", "lon": lon, "lat": lat}, "radius_m": radius}


def build_world() -> World:
    w = World()
    _unit(w, "city", None, code="440700000000", name="江门市", kind=UnitKind.REGION, level=RegionLevel.CITY)
    _unit(w, "east", "city", code="440703000000", name="蓬江区", kind=UnitKind.REGION, level=RegionLevel.COUNTY)
    _unit(w, "west", "city", code="440705000000", name="新会区", kind=UnitKind.REGION, level=RegionLevel.COUNTY)
    _unit(w, "office_city", "city", code="JMDC0001", name="江门市督查室", kind=UnitKind.OFFICE,
          jurisdiction_roots=[w.units["city"].pk])
    _unit(w, "office_east", "east", code="PJDC0001", name="蓬江区督查室", kind=UnitKind.OFFICE,
          jurisdiction_roots=[w.units["east"].pk])
    _unit(w, "office_west", "west", code="XHDC0001", name="新会区督查室", kind=UnitKind.OFFICE,
          jurisdiction_roots=[w.units["west"].pk])
    _unit(w, "water", "east", code="11440703MB2C12345X", name="蓬江区水务局", kind=UnitKind.ORGANISATION)
    _unit(w, "site_water", "water", code="PJSW-CK01", name="蓬江区水务局服务窗口", kind=UnitKind.SITE,
          address="江门市蓬江区建设路 1 号", **_site(113.0780, 22.5790))
    _unit(w, "hall_east", "east", code="PJ-ZWZX", name="蓬江区政务服务中心", kind=UnitKind.SITE,
          address="江门市蓬江区白沙大道西 1 号", **_site(113.0745, 22.5890, 150))
    _unit(w, "market_west", "west", code="11440705MB2D54321Y", name="新会区市场监督管理局", kind=UnitKind.ORGANISATION)
    _unit(w, "site_west", "market_west", code="XHSJ-CK01", name="新会区市场监管服务窗口", kind=UnitKind.SITE,
          address="江门市新会区会城今古洲路 1 号", **_site(113.0340, 22.5210))
    for key in ("office_city", "office_east", "office_west"):
        ensure_chain(str(w.units[key].pk))
    ensure_chain(SYSTEM_CHAIN)

    def account(username, role, home, office=None, pool=()):
        acc = Account(username=username, display_name=username, role=role, home_unit=w.units[home].pk,
                      office=w.units[office].pk if office else None,
                      pool_offices=[w.units[p].pk for p in pool], password_hash=_HASH)
        storage.atomic(lambda tx: tx.insert(acc))
        w.accounts[username] = acc

    account("admin", Role.ADMIN, "city")
    account("supervisor_east", Role.SUPERVISOR, "office_east", office="office_east")
    account("supervisor_west", Role.SUPERVISOR, "office_west", office="office_west")
    account("inspector_east", Role.INSPECTOR, "office_city", pool=("office_east",))
    account("liaison_water", Role.LIAISON, "water")
    account("leader_city", Role.LEADER, "office_city", office="office_city")
    return w


@pytest.fixture
def world() -> World:
    return build_world()


__all__ = ["World", "build_world", "world", "PERSONAS", "PASSWORD", "SYSTEM"]
