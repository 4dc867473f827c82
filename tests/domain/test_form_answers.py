"""Answers checked against a pinned form version: types, required items, conditions, photos, problems."""
from __future__ import annotations

import pytest

from domain.errors import FormAnswersInvalidError
from domain.forms import problems_in, read_forms, require_valid_answers, validate_answers, visible_items
from domain.forms.loader import check_form
from domain.forms.rules import normalise
from inspection_forms import FORMS_DIR


def t(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


def opts(*values: str) -> list[dict]:
    return [{"value": v, "label": t(v, v)} for v in values]


FORM = {
    "form_id": "answers_form", "version": 4, "title": t("测试", "Test"), "mode": "any",
    "sections": [{"id": "main", "title": t("主要", "Main"), "items": [
        {"id": "fee", "type": "yes_no", "label": t("是否收费", "Fee charged?")},
        {"id": "fee_posted", "type": "yes_no", "label": t("是否公示", "Posted?"),
         "show_if": {"item": "fee", "equals": True}, "category": "arbitrary_fees", "severity": "high",
         "problem_when": False, "photos_when_problem": 1},
        {"id": "kind", "type": "single_choice", "label": t("类型", "Kind"), "options": opts("a", "b", "c"),
         "category": "hard_to_get_done", "problem_when": ["c"]},
        {"id": "tags", "type": "multi_choice", "label": t("情况", "Tags"), "options": opts("x", "y", "z"),
         "required": False, "category": "hard_face", "problem_when": ["z"]},
        {"id": "why", "type": "text", "label": t("原因", "Why"), "max_length": 10,
         "show_if": {"item": "tags", "in": ["y", "z"]}},
        {"id": "score", "type": "score", "min": 0, "max": 10, "step": 2.5, "label": t("评分", "Score"),
         "category": "other", "problem_when": {"below": 5}},
        {"id": "count", "type": "number", "min": 0, "integer": True, "label": t("人数", "People"), "required": False},
        {"id": "at", "type": "time", "label": t("时间", "Time")},
        {"id": "where", "type": "location", "label": t("位置", "Where"), "required": False},
        {"id": "board", "type": "photo", "min_photos": 2, "max_photos": 3, "label": t("照片", "Photos")},
    ]}],
}
assert check_form(FORM, "answers_form.yaml") == []
CONTENT = normalise(FORM)

GOOD = {"fee": False, "kind": "a", "tags": ["x"], "score": 7.5, "count": 3, "at": "2026-03-02T09:15:00+08:00",
        "where": {"lat": 22.58, "lon": 113.08, "crs": "gcj02", "accuracy_m": 12}}
PHOTOS = {"board": ["p1", "p2"]}


def errors(answers: dict, photos: dict | None = None) -> list[tuple[str, str]]:
    return [(e["item"], e["code"]) for e in validate_answers(CONTENT, answers, PHOTOS if photos is None else photos)]


def test_a_complete_valid_set_of_answers_has_no_errors():
    assert validate_answers(CONTENT, GOOD, PHOTOS) == []


def test_missing_required_answers_are_named_per_item():
    assert errors({}, {}) == [("fee", "required"), ("kind", "required"), ("score", "required"), ("at", "required"),
                              ("board", "required")]


def test_a_conditional_item_is_required_only_when_shown():
    assert errors({**GOOD, "fee": True}) == [("fee_posted", "required")]
    assert errors({**GOOD, "fee": True, "fee_posted": True}) == []


def test_an_answer_to_a_hidden_item_is_refused():
    found = validate_answers(CONTENT, {**GOOD, "fee_posted": True}, PHOTOS)
    assert found == [{"item": "fee_posted", "code": "not-shown", "depends_on": "fee"}]


def test_a_multi_choice_condition_shows_the_item_when_any_listed_value_is_chosen():
    shown = {i["id"] for i in visible_items(CONTENT, {**GOOD, "tags": ["x", "y"]})}
    assert "why" in shown
    assert errors({**GOOD, "tags": ["x", "y"]}) == [("why", "required")]
    assert errors({**GOOD, "tags": ["x", "y"], "why": "too long for ten"}) == [("why", "too-long")]


def test_a_wrong_answer_type_is_named_with_what_was_expected():
    wrong = {"fee": "no", "score": "7", "at": "09:15", "where": {"lat": 99, "lon": 1}}
    found = validate_answers(CONTENT, {**GOOD, **wrong}, PHOTOS)
    assert {(e["item"], e["code"]) for e in found} == {("fee", "wrong-type"), ("score", "wrong-type"),
                                                       ("at", "wrong-type"), ("where", "wrong-type")}
    assert next(e for e in found if e["item"] == "fee")["expected"] == "boolean"


def test_a_time_without_an_offset_is_refused():
    assert errors({**GOOD, "at": "2026-03-02T09:15:00"}) == [("at", "wrong-type")]
    assert errors({**GOOD, "at": "2026-03-02T01:15:00Z"}) == []


def test_choices_must_be_options_and_distinct():
    assert errors({**GOOD, "kind": "d"}) == [("kind", "not-an-option")]
    assert errors({**GOOD, "tags": ["x", "q", "x"]}) == [("tags", "not-an-option"), ("tags", "duplicate-choice")]


def test_numbers_respect_range_step_and_integer():
    assert errors({**GOOD, "score": 11}) == [("score", "out-of-range")]
    assert errors({**GOOD, "score": 6}) == [("score", "off-step")]
    assert errors({**GOOD, "count": 2.5}) == [("count", "not-integer")]
    assert errors({**GOOD, "count": True}) == [("count", "wrong-type")]


def test_photo_items_need_their_minimum_and_respect_their_maximum():
    assert errors(GOOD, {"board": ["p1"]}) == [("board", "too-few-photos")]
    assert errors(GOOD, {"board": 4}) == [("board", "too-many-photos")]
    assert errors({**GOOD, "board": "a value"}) == [("board", "wrong-type")]


def test_an_answer_that_indicates_a_problem_needs_its_evidence_photos():
    answers = {**GOOD, "fee": True, "fee_posted": False}
    assert validate_answers(CONTENT, answers, PHOTOS) == [
        {"item": "fee_posted", "code": "photos-when-problem", "min": 1, "count": 0}]
    assert validate_answers(CONTENT, answers, {**PHOTOS, "fee_posted": ["p3"]}) == []


def test_answers_and_photos_for_unknown_items_are_refused():
    assert errors({**GOOD, "ghost": 1}, {**PHOTOS, "spirit": ["p"]}) == [("ghost", "unknown-item"),
                                                                        ("spirit", "unknown-item")]


def test_problems_are_the_shown_answers_the_form_marks_as_problems():
    answers = {**GOOD, "fee": True, "fee_posted": False, "kind": "c", "tags": ["z"], "why": "x", "score": 2.5}
    assert [(p["item"], p["category"], p["severity"]) for p in problems_in(CONTENT, answers)] == [
        ("fee_posted", "arbitrary_fees", "high"), ("kind", "hard_to_get_done", "medium"),
        ("tags", "hard_face", "medium"), ("score", "other", "medium")]
    assert problems_in(CONTENT, GOOD) == []


def test_require_valid_answers_raises_with_errors_grouped_by_item():
    with pytest.raises(FormAnswersInvalidError) as caught:
        require_valid_answers(CONTENT, {**GOOD, "kind": "d", "fee": None}, PHOTOS)
    params = caught.value.params
    assert (params["form_id"], params["version"], params["count"]) == ("answers_form", 4, 2)
    assert params["_errors"] == {"fee": [{"code": "required"}], "kind": [{"code": "not-an-option", "value": "d"}]}


def test_a_hard_door_on_the_shipped_undercover_form_is_a_hard_to_enter_problem_with_a_photo():
    [form], _ = read_forms([FORMS_DIR / "undercover_mystery_visit.yaml"])
    answers = {"entry_unobstructed": False, "entry_obstacles": ["guard_blocked"]}
    problems = problems_in(form.content, answers)
    assert problems[0]["item"] == "entry_unobstructed" and problems[0]["category"] == "hard_to_enter"
    found = {(e["item"], e["code"]) for e in validate_answers(form.content, answers, {})}
    assert ("entry_unobstructed", "photos-when-problem") in found
    assert ("fee_amount", "required") not in found  # hidden: no fee was requested
