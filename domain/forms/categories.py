"""Problem categories (问题类别) a form item may point to, with their groups and labels.

The ids and groups come from the policy the inspections enforce (see domain/GLOSSARY.md):
三难 (门难进、脸难看、事难办), 三乱 (乱收费、乱摊派、乱集资), the service systems
(首问责任制、一次性告知、服务承诺、限时办结), 窗口纪律 and 政务公开. A sub-category is
written ``parent.child`` and counts as its parent when findings are summed up.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    id: str
    zh: str
    en: str


@dataclass(frozen=True)
class Category:
    id: str
    zh: str
    en: str
    group: str | None = None
    parent: str | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "label": {"zh": self.zh, "en": self.en}, "group": self.group, "parent": self.parent}


GROUPS: tuple[Group, ...] = (
    Group("three_difficulties", "三难", "Three difficulties"),
    Group("three_arbitrary", "三乱", "Three arbitrary practices"),
)

_TD, _TA = "three_difficulties", "three_arbitrary"

CATEGORIES: tuple[Category, ...] = (
    Category("hard_to_enter", "门难进", "Hard to enter", _TD),
    Category("hard_face", "脸难看", "Unfriendly faces", _TD),
    Category("hard_to_get_done", "事难办", "Hard to get things done", _TD),
    Category("arbitrary_fees", "乱收费", "Arbitrary fees", _TA),
    Category("arbitrary_levies", "乱摊派", "Arbitrary levies", _TA),
    Category("arbitrary_fundraising", "乱集资", "Arbitrary fundraising", _TA),
    Category("first_contact", "首问责任制", "First-contact responsibility"),
    Category("one_time_notice", "一次性告知", "One-time notice of requirements"),
    Category("service_commitment", "服务承诺", "Service commitment"),
    Category("time_limit", "限时办结", "Completion within the time limit"),
    Category("window_discipline", "窗口纪律", "Window discipline"),
    Category("window_discipline.on_post", "在岗在位", "On post", parent="window_discipline"),
    Category("window_discipline.punctuality", "按时到岗离岗", "Punctuality", parent="window_discipline"),
    Category("window_discipline.attire", "着装与工牌", "Attire and badge", parent="window_discipline"),
    Category("window_discipline.attitude", "服务态度", "Service attitude", parent="window_discipline"),
    Category("window_discipline.conduct", "工作时间做与工作无关的事", "Private business in working hours",
             parent="window_discipline"),
    Category("openness", "政务公开", "Openness of government affairs"),
    Category("other", "其他", "Other"),
)

BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}


def is_known(category_id: str) -> bool:
    return category_id in BY_ID


def top_level(category_id: str) -> str:
    """The category a sub-category rolls up to (``window_discipline.attire`` → ``window_discipline``)."""
    return BY_ID[category_id].parent or category_id


def catalogue() -> dict:
    """Groups and categories with their zh/en labels, as the API serves them."""
    return {
        "groups": [{"id": g.id, "label": {"zh": g.zh, "en": g.en}} for g in GROUPS],
        "categories": [c.as_dict() for c in CATEGORIES],
    }
