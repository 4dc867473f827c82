"""Checking a report's answers against the form version it pins, and the problems they indicate.

``answers`` maps item ids to values (absent or ``None``: not answered); ``photos_by_item`` maps
item ids to the photos attached to them (a list of ids, or a count). Each error is a dict
``{"item": id, "code": ..., **params}`` so the edge can return them all at once as ``errors``.

Answer values by item type: yes_no a boolean; single_choice an option value; multi_choice a
list of distinct option values; score and number a number; text a string; time an ISO 8601
date-time with its UTC offset; location ``{"lat", "lon", "crs"?, "accuracy_m"?}``; photo items
take no value, only photos.
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any, Iterator

from ..errors import FormAnswersInvalidError

CRS = ("wgs84", "gcj02", "bd09")
_LOCATION_KEYS = {"lat", "lon", "crs", "accuracy_m"}


def _items(content: dict) -> Iterator[dict]:
    for section in content["sections"]:
        yield from section["items"]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _option_values(item: dict) -> set[str]:
    return {o["value"] for o in item.get("options", [])}


def _exclusive_values(item: dict) -> set[str]:
    """Options that may only be chosen alone ("none of these"): ``exclusive: true`` (form versions that say so)."""
    return {o["value"] for o in item.get("options", []) if o.get("exclusive")}


def _answer_in(item: dict, answer, wanted: list) -> bool:
    """Whether ``answer`` is (for multi_choice: contains) one of ``wanted``; malformed answers match nothing.
    Linear in the answer: ``wanted`` becomes a set once (strings only: True == 1 must not match)."""
    if item["type"] == "yes_no":
        return isinstance(answer, bool) and any(isinstance(w, bool) and w == answer for w in wanted)
    strings = {w for w in wanted if isinstance(w, str)}
    if item["type"] == "multi_choice":
        return isinstance(answer, list) and any(isinstance(a, str) and a in strings for a in answer)
    return isinstance(answer, str) and answer in strings


# What an answer of each type may hold at most, whatever the form says: a location has 4 keys.
_LOCATION_MAX_KEYS = len(_LOCATION_KEYS)


def oversized_answers(form_content: dict, answers: dict) -> list[dict]:
    """The answers bigger than their pinned item allows, checked before anything else reads them, so the
    work done on a hostile body is bounded by the form, not by the body: more answers than items, a
    multi_choice with more values than options, a text longer than its ``max_length``, a container where a
    scalar belongs. Each check is O(1) per answer (``len`` only)."""
    items = {item["id"]: item for item in _items(form_content)}
    if len(answers) > len(items):
        return [{"item": "answers", "code": "too-many-answers", "max": len(items), "count": len(answers)}]
    errors: list[dict] = []
    for iid, value in answers.items():
        item = items.get(iid)
        if item is None or value is None:
            continue
        kind = item["type"]
        if kind == "multi_choice":
            limit = len(item["options"])
            if isinstance(value, list) and len(value) > limit:
                errors.append({"item": iid, "code": "too-many-choices", "max": limit, "count": len(value)})
            elif isinstance(value, dict):
                errors.append({"item": iid, "code": "wrong-type", "expected": "list of option values"})
        elif kind == "location":
            if isinstance(value, (dict, list)) and len(value) > _LOCATION_MAX_KEYS:
                errors.append({"item": iid, "code": "wrong-type", "expected": "location {lat, lon, crs?, accuracy_m?}"})
        elif kind == "text":
            if isinstance(value, str) and len(value) > item["max_length"]:
                errors.append({"item": iid, "code": "too-long", "max_length": item["max_length"]})
            elif isinstance(value, (dict, list)):
                errors.append({"item": iid, "code": "wrong-type", "expected": "string"})
        elif isinstance(value, (dict, list)):
            errors.append(_value_errors(item, value)[0])  # a scalar type: the container is refused unread
    return errors


def visible_items(content: dict, answers: dict) -> list[dict]:
    """The items shown for these answers, in form order: an item with ``show_if`` is shown only when
    the item it looks at is shown and answered with one of the given values."""
    shown: dict[str, dict] = {}
    for item in _items(content):
        cond = item.get("show_if")
        if cond:
            source = shown.get(cond["item"])
            wanted = [cond["equals"]] if "equals" in cond else cond["in"]
            if source is None or not _answer_in(source, answers.get(cond["item"]), wanted):
                continue
        shown[item["id"]] = item
    return list(shown.values())


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


def _value_errors(item: dict, value) -> list[dict]:
    kind, iid = item["type"], item["id"]

    def err(code, **params):
        return [{"item": iid, "code": code, **params}]

    if kind == "yes_no":
        return [] if isinstance(value, bool) else err("wrong-type", expected="boolean")
    if kind == "single_choice":
        if not isinstance(value, str):
            return err("wrong-type", expected="option value")
        return [] if value in _option_values(item) else err("not-an-option", value=value)
    if kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return err("wrong-type", expected="list of option values")
        options = _option_values(item)
        out = [e for v in value if v not in options for e in err("not-an-option", value=v)]
        counts = Counter(value)
        dupes = sorted(v for v, n in counts.items() if n > 1)
        out += [e for v in dupes for e in err("duplicate-choice", value=v)]
        alone = _exclusive_values(item) & counts.keys()
        if alone and len(counts) > 1:
            out += [e for v in sorted(alone) for e in err("exclusive-choice", value=v)]
        return out
    if kind in ("score", "number"):
        if not _number(value):
            return err("wrong-type", expected="number")
        low, high = item.get("min"), item.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            return err("out-of-range", min=low, max=high)
        if kind == "score":
            steps = (value - low) / item["step"]
            if not math.isclose(steps, round(steps), abs_tol=1e-9):
                return err("off-step", step=item["step"], min=low)
        if item.get("integer") and not float(value).is_integer():
            return err("not-integer")
        return []
    if kind == "text":
        if not isinstance(value, str):
            return err("wrong-type", expected="string")
        return err("too-long", max_length=item["max_length"]) if len(value) > item["max_length"] else []
    if kind == "time":
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            return err("wrong-type", expected="ISO 8601 date-time with offset")
        return []
    if kind == "location":
        ok = (isinstance(value, dict) and set(value) <= _LOCATION_KEYS and _number(value.get("lat"))
              and _number(value.get("lon")) and -90 <= value["lat"] <= 90 and -180 <= value["lon"] <= 180
              and value.get("crs", "wgs84") in CRS
              and (value.get("accuracy_m") is None or (_number(value["accuracy_m"]) and value["accuracy_m"] >= 0)))
        return [] if ok else err("wrong-type", expected="location {lat, lon, crs?, accuracy_m?}")
    return err("wrong-type", expected="no value: a photo item takes photos")  # photo


def indicates_problem(item: dict, value) -> bool:
    """Whether an answer is one the form marks as a problem (``problem_when``)."""
    rule = item.get("problem_when")
    if rule is None or value is None:
        return False
    if item["type"] == "yes_no":
        return isinstance(value, bool) and value == rule
    if item["type"] in ("single_choice", "multi_choice"):
        return _answer_in(item, value, rule)
    if _number(value):
        return ("below" in rule and value < rule["below"]) or ("above" in rule and value > rule["above"])
    return False


def _count(photos) -> int:
    if photos is None:
        return 0
    return photos if isinstance(photos, int) else len(photos)


def validate_answers(form_content: dict, answers: dict, photos_by_item: dict | None = None) -> list[dict]:
    """Every error in ``answers`` and their photos, per item; an empty list means they are valid.
    Oversized answers are refused first and alone (``oversized_answers``): the rest never reads them."""
    oversized = oversized_answers(form_content, answers)
    if oversized:
        return oversized
    photos_by_item = photos_by_item or {}
    every = {item["id"]: item for item in _items(form_content)}
    shown = {item["id"] for item in visible_items(form_content, answers)}
    errors: list[dict] = []
    for iid in sorted(set(answers) | set(photos_by_item)):
        if iid not in every:
            errors.append({"item": iid, "code": "unknown-item"})
        elif iid not in shown and (answers.get(iid) is not None or _count(photos_by_item.get(iid))):
            errors.append({"item": iid, "code": "not-shown", "depends_on": every[iid]["show_if"]["item"]})
    for item in _items(form_content):
        if item["id"] not in shown:
            continue
        errors += _item_errors(item, answers.get(item["id"]), _count(photos_by_item.get(item["id"])))
    return errors


def _item_errors(item: dict, value: Any, photos: int) -> list[dict]:
    iid = item["id"]
    if item["type"] == "photo":
        out = [] if value is None else _value_errors(item, value)
        least = max(item["min_photos"], 1) if item["required"] else (item["min_photos"] if photos else 0)
        if photos < least:
            out.append({"item": iid, "code": "required" if photos == 0 else "too-few-photos", "min": least,
                        "count": photos})
        if photos > item["max_photos"]:
            out.append({"item": iid, "code": "too-many-photos", "max": item["max_photos"], "count": photos})
        return out
    if _blank(value):
        return [{"item": iid, "code": "required"}] if item["required"] else []
    out = _value_errors(item, value)
    need = item.get("photos_when_problem", 0)
    if not out and need and indicates_problem(item, value) and photos < need:
        out.append({"item": iid, "code": "photos-when-problem", "min": need, "count": photos})
    return out


def problems_in(form_content: dict, answers: dict) -> list[dict]:
    """The answers that indicate a problem, in form order: what a report's findings start from."""
    return [{"item": item["id"], "category": item["category"], "severity": item["severity"],
             "answer": answers.get(item["id"])}
            for item in visible_items(form_content, answers)
            if indicates_problem(item, answers.get(item["id"]))]


def require_valid_answers(form_content: dict, answers: dict, photos_by_item: dict | None = None) -> None:
    """Raise FormAnswersInvalidError unless the answers are valid; its ``errors`` extension maps each
    item id to that item's errors (``{"code": ..., **params}``), like webargs' per-field errors."""
    errors = validate_answers(form_content, answers, photos_by_item)
    if errors:
        by_item: dict[str, list[dict]] = {}
        for e in errors:
            by_item.setdefault(e["item"], []).append({k: v for k, v in e.items() if k != "item"})
        raise FormAnswersInvalidError(form_id=form_content["form_id"], version=form_content["version"],
                                      count=len(errors), _errors=by_item)
