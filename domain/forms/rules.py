"""The checks on a form that its JSON Schema cannot express, and the form's normalised content.

Each check returns ``Problem`` values naming a JSON path (``sections[2].items[4].show_if.item``),
a stable code and an English message for the form's author; they run only on a form that
already passed the schema, so they may trust its shape.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Iterator

from . import categories

# Item types whose answer a later item's show_if may test.
CONDITION_SOURCES = ("yes_no", "single_choice", "multi_choice")
CHOICE_TYPES = ("single_choice", "multi_choice")
NUMERIC_TYPES = ("score", "number")
# Items in one form, all sections together: a report answers each, so this also caps a report's answers.
MAX_ITEMS = 300


@dataclass(frozen=True)
class Problem:
    path: str
    code: str
    message: str


def json_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def iter_items(form: dict) -> Iterator[tuple[str, dict]]:
    """Every item in form order, with its JSON path."""
    for s, section in enumerate(form["sections"]):
        for i, item in enumerate(section["items"]):
            yield f"sections[{s}].items[{i}]", item


def check_semantics(form: dict) -> list[Problem]:
    problems: list[Problem] = []
    seen_sections: dict[str, str] = {}
    for s, section in enumerate(form["sections"]):
        path = f"sections[{s}].id"
        if section["id"] in seen_sections:
            problems.append(Problem(path, "duplicate-section-id",
                                    f"section id {section['id']!r} is already used at {seen_sections[section['id']]}"))
        else:
            seen_sections[section["id"]] = path

    earlier: dict[str, tuple[str, dict]] = {}
    every_id = {item["id"] for _, item in iter_items(form)}
    count = sum(len(section["items"]) for section in form["sections"])
    if count > MAX_ITEMS:
        problems.append(Problem("sections", "too-many-items",
                                f"the form has {count} items; at most {MAX_ITEMS} (a report answers each of them)"))
    for path, item in iter_items(form):
        if item["id"] in earlier:
            problems.append(Problem(f"{path}.id", "duplicate-item-id",
                                    f"item id {item['id']!r} is already used at {earlier[item['id']][0]}"))
        problems += _check_item(path, item, earlier, every_id)
        earlier.setdefault(item["id"], (path, item))
    return problems


def _check_item(path: str, item: dict, earlier: dict, every_id: set) -> list[Problem]:
    out: list[Problem] = []
    kind = item["type"]
    if "category" in item and not categories.is_known(item["category"]):
        out.append(Problem(f"{path}.category", "unknown-category",
                           f"unknown problem category {item['category']!r}; see GET /api/v1/forms/categories"))
    if kind != "photo" and item.get("min_photos", 0) > 0:
        out.append(Problem(f"{path}.min_photos", "min-photos-not-photo-item",
                           f"min_photos is only for photo items (this is {kind}); "
                           "use photos_when_problem to ask for evidence of a problem"))
    if kind == "photo" and "max_photos" in item and item["max_photos"] < item.get("min_photos", 1):
        out.append(Problem(f"{path}.max_photos", "photo-range-empty",
                           f"max_photos {item['max_photos']} is below min_photos {item.get('min_photos', 1)}"))
    values = [o["value"] for o in item.get("options", [])]
    for o, value in enumerate(values):
        if value in values[:o]:
            out.append(Problem(f"{path}.options[{o}].value", "duplicate-option-value",
                               f"option value {value!r} is already used at {path}.options[{values.index(value)}]"))
    if kind != "multi_choice":
        for o, option in enumerate(item.get("options", [])):
            if option.get("exclusive"):
                out.append(Problem(f"{path}.options[{o}].exclusive", "exclusive-not-multi-choice",
                                   f"only a multi_choice option can be exclusive (this is {kind})"))
    if kind in CHOICE_TYPES:
        for p, value in enumerate(item.get("problem_when", [])):
            if value not in values:
                out.append(Problem(f"{path}.problem_when[{p}]", "problem-when-unknown-option",
                                   f"{value!r} is not one of this item's option values {values}"))
    if kind in NUMERIC_TYPES:
        out += _check_range(path, item)
    if "show_if" in item:
        out += _check_show_if(f"{path}.show_if", item, earlier, every_id)
    return out


def _check_range(path: str, item: dict) -> list[Problem]:
    out: list[Problem] = []
    low, high = item.get("min"), item.get("max")
    if low is not None and high is not None and low >= high:
        out.append(Problem(f"{path}.max", "range-empty", f"max ({high}) must be greater than min ({low})"))
        return out
    if item["type"] == "score":
        step = item.get("step", 1)
        spans = (high - low) / step
        if not math.isclose(spans, round(spans), abs_tol=1e-9):
            out.append(Problem(f"{path}.step", "step-mismatch",
                               f"step {step} does not divide the range {low}..{high} into whole steps"))
    for bound in ("below", "above"):
        limit = item.get("problem_when", {}).get(bound)
        if limit is not None and ((low is not None and limit < low) or (high is not None and limit > high)):
            out.append(Problem(f"{path}.problem_when.{bound}", "threshold-out-of-range",
                               f"{bound} {limit} lies outside the item's range {low}..{high}"))
    return out


def _check_show_if(path: str, item: dict, earlier: dict, every_id: set) -> list[Problem]:
    cond = item["show_if"]
    target = cond["item"]
    if target not in earlier:
        if target == item["id"]:
            return [Problem(f"{path}.item", "show-if-self", f"item {target!r} cannot depend on itself")]
        if target in every_id:
            return [Problem(f"{path}.item", "show-if-later-item",
                            f"item {target!r} comes after this item; a condition may only look at earlier items")]
        return [Problem(f"{path}.item", "show-if-unknown-item", f"no item with id {target!r} in this form")]
    source_path, source = earlier[target]
    if source["type"] not in CONDITION_SOURCES:
        return [Problem(f"{path}.item", "show-if-unsupported-source",
                        f"item {target!r} is a {source['type']} item; conditions may test only "
                        f"{', '.join(CONDITION_SOURCES)} items")]
    wanted = [("equals", cond["equals"])] if "equals" in cond else [(f"in[{n}]", v) for n, v in enumerate(cond["in"])]
    out = []
    for where, value in wanted:
        if source["type"] == "yes_no" and not isinstance(value, bool):
            out.append(Problem(f"{path}.{where}", "show-if-bad-value",
                               f"item {target!r} is yes_no: compare with true or false, not {value!r}"))
        elif source["type"] in CHOICE_TYPES and value not in [o["value"] for o in source["options"]]:
            out.append(Problem(f"{path}.{where}", "show-if-bad-value",
                               f"{value!r} is not an option value of item {target!r} ({source_path})"))
    return out


# Defaults written into the stored content, so a reader never needs to know them.
def normalise(form: dict) -> dict:
    """The form with every default made explicit and integral floats written as integers."""
    content = _numbers(json.loads(json.dumps(form, ensure_ascii=False)))
    for section in content["sections"]:
        for item in section["items"]:
            item.setdefault("required", True)
            if item["type"] == "photo":
                item.setdefault("min_photos", 1)
                item.setdefault("max_photos", max(9, item["min_photos"]))
            else:
                item.setdefault("min_photos", 0)
            if item["type"] == "score":
                item.setdefault("step", 1)
            if item["type"] == "text":
                item.setdefault("max_length", 500)
            if item["type"] == "number":
                item.setdefault("integer", False)
            if "category" in item:
                item.setdefault("severity", "medium")
            if "problem_when" in item:
                item.setdefault("photos_when_problem", 0)
    return content


def _numbers(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def canonical_json(content: dict) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict) -> str:
    """SHA-256 of the canonical JSON: one version, one hash, whatever the YAML's layout or comments."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()
