"""Form rules enforced on submission, each against what the PINNED version says: exclusive choices and
"a problem answer needs a finding" (new in version 2 of the shipped forms), a finding on an answer that
is not a problem, a visit hours in the future; and the caps that bound the work a hostile body costs."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from domain import clock
from domain.access import SYSTEM
from domain.accounts.services import actor_for
from domain.errors import ReportInvalidError
from domain.forms import load_forms, load_shipped_forms, validate_answers
from domain.forms.loader import check_form
from domain.forms.rules import normalise
from domain.reports import services
from domain.reports.rules import check_contents
from tests.factories.reports import as_kwargs, clean_answers, declare, form_content, photo, photos_for, report_body
from tests.factories.tasks import task_in

V1 = Path(__file__).parent.parent / "fixtures" / "forms_v1"  # the shipped forms as version 1 said them


@pytest.fixture(autouse=True)
def forms(settings):
    load_forms(SYSTEM, [V1])  # first: a version below the newest stored one is refused
    load_shipped_forms()


def submit(world, task, **overrides):
    body = report_body(task, photos_for(task), **overrides)
    return services.submit_report(actor_for(world.accounts["inspector_east"]), **as_kwargs(body))


def errors_of(world, task, **overrides) -> dict:
    with pytest.raises(ReportInvalidError) as caught:
        submit(world, task, **overrides)
    return caught.value.params["_errors"]


def answers_with(task, **changes) -> dict:
    answers, _ = clean_answers(form_content(task))
    answers.update(changes)
    return answers


def test_none_of_these_picked_with_another_choice_is_refused_on_the_item(world):
    task = task_in(world)
    errors = errors_of(world, task, answers=answers_with(task, unrelated_activities=["none", "phone_games"]))
    assert {"code": "exclusive-choice", "value": "none"} in errors["unrelated_activities"]
    assert list(errors) == ["unrelated_activities"]


def test_version_1_had_no_exclusive_choices_and_a_report_pinning_it_keeps_its_rules(world):
    task = task_in(world, form_version=1)
    answers = answers_with(task, unrelated_activities=["none", "phone_games"])
    body = report_body(task, photos_for(task), answers=answers)
    body["evidence"].append(declare("games-1", photo(81), item="unrelated_activities"))
    # Version 1 says neither "none alone" nor "a problem needs a finding": the same answers pass.
    report = services.submit_report(actor_for(world.accounts["inspector_east"]), **as_kwargs(body)).report
    assert report.form_version == 1


def test_a_problem_answer_with_no_finding_is_refused_where_the_pinned_version_requires_one(world):
    task = task_in(world)
    photo_of_badge = declare("badge-1", photo(80), item="badge_worn")
    body = report_body(task, photos_for(task), answers=answers_with(task, badge_worn=False))
    body["evidence"].append(photo_of_badge)
    with pytest.raises(ReportInvalidError) as caught:
        services.submit_report(actor_for(world.accounts["inspector_east"]), **as_kwargs(body))
    assert caught.value.params["_errors"] == {"badge_worn": [{"code": "finding-required"}]}

    old = task_in(world, form_version=1, inspectors=("inspector_east",))
    body = report_body(old, photos_for(old), answers=answers_with(old, badge_worn=False))
    body["evidence"].append(photo_of_badge)
    assert services.submit_report(actor_for(world.accounts["inspector_east"]), **as_kwargs(body)).report


def test_a_finding_on_an_item_whose_answer_is_not_a_problem_is_refused_on_that_item(world):
    task = task_in(world)
    errors = errors_of(world, task, findings=[
        {"id": "f1", "item": "badge_worn", "category": "window_discipline.attire", "description": "未佩戴工牌",
         "severity": "medium"}])  # badge_worn answered "yes": no problem
    assert errors == {"badge_worn": [{"code": "finding-not-a-problem", "finding": 0}]}


def test_a_visit_hours_in_the_future_is_refused_and_a_phone_minutes_ahead_is_not(world):
    task = task_in(world)
    errors = errors_of(world, task, visited_at=(clock.now() + timedelta(hours=3)).isoformat())
    assert errors == {"visited_at": [{"code": "in-the-future", "max_ahead_minutes": 15}]}
    assert submit(world, task, visited_at=(clock.now() + timedelta(minutes=5)).isoformat()).report


# ---- the form format ------------------------------------------------------------------------------

def _t(text: str) -> dict:
    return {"zh": text, "en": text}


def _form(items: list[dict], **top) -> dict:
    return {"form_id": "rules_form", "version": 1, "title": _t("t"), "mode": "any", **top,
            "sections": [{"id": "main", "title": _t("m"), "items": items}]}


def test_the_format_refuses_an_exclusive_option_outside_a_multi_choice_and_a_form_of_too_many_items():
    single = {"id": "kind", "type": "single_choice", "label": _t("k"),
              "options": [{"value": "a", "label": _t("a"), "exclusive": True}, {"value": "b", "label": _t("b")}]}
    assert [(p.path, p.code) for p in check_form(_form([single]), "f.yaml")] == [
        ("sections[0].items[0].options[0].exclusive", "exclusive-not-multi-choice")]
    many = [{"id": f"i{n}", "type": "yes_no", "label": _t("q")} for n in range(100)]
    big = {**_form(many), "sections": [{"id": f"s{k}", "title": _t("s"),
                                        "items": [{**i, "id": f"{i['id']}_{k}"} for i in many]} for k in range(4)]}
    assert [p.code for p in check_form(big, "f.yaml")] == ["too-many-items"]
    assert check_form(_form([single | {"type": "multi_choice"}], problem_needs_finding=True), "f.yaml") == []


# ---- caps and linear checks -----------------------------------------------------------------------

def _choice_form(options: int) -> dict:
    """Built past the format's caps on purpose (50 options): the algorithm's own growth is measured."""
    return normalise(_form([{"id": "tags", "type": "multi_choice", "label": _t("t"), "required": False,
                             "options": [{"value": f"o{n}", "label": _t("o")} for n in range(options)]}]))


class Counted(str):
    """An answer value that counts every comparison and hash made on it: the checks' work, not their time."""

    ops = 0

    def __eq__(self, other):
        Counted.ops += 1
        return str.__eq__(self, other)

    def __hash__(self):
        Counted.ops += 1
        return str.__hash__(self)


def _ops(n: int) -> int:
    content = _choice_form(n)
    answer = [Counted(f"o{k}") for k in range(n)]
    answer[-1] = Counted("o0")  # one duplicate, so every value is compared with the others somehow
    Counted.ops = 0
    errors = validate_answers(content, {"tags": answer})
    assert errors == [{"item": "tags", "code": "duplicate-choice", "value": "o0"}]
    return Counted.ops


def test_checking_a_multi_choice_answer_costs_operations_linear_in_its_length():
    small, large = _ops(400), _ops(800)
    assert large <= 2.2 * small, (small, large)


def test_answers_bigger_than_the_pinned_form_allows_are_refused_before_anything_reads_them(world):
    task = task_in(world)
    content = form_content(task)
    options = next(len(i["options"]) for s in content["sections"] for i in s["items"] if i["id"] == "unrelated_activities")
    huge = ["none"] * 10_000
    errors = check_contents(content, answers_with(task, unrelated_activities=huge), [], [], 10**9)
    assert errors == [{"item": "unrelated_activities", "code": "too-many-choices", "max": options, "count": 10_000}]
    every = sum(len(s["items"]) for s in content["sections"])
    many = {f"item_{n}": True for n in range(every + 1)}
    assert check_contents(content, many, [], [], 10**9) == [
        {"item": "answers", "code": "too-many-answers", "max": every, "count": every + 1}]
    assert check_contents(content, answers_with(task, check_time=["2026-03-02T09:15:00+08:00"] * 5000), [], [],
                          10**9) == [{"item": "check_time", "code": "wrong-type",
                                      "expected": "ISO 8601 date-time with offset"}]
