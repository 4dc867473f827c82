"""Problems of POST /reports carry what a phone acts on as extension members (the existing report's id),
a submission-id conflict does not hide the request's other errors, and the worst body the caps allow is
refused cheaply: bounded memory, and operations linear in its size."""
from __future__ import annotations

import sys
import tracemalloc
from datetime import timedelta

import pytest

from domain import clock
from domain.forms import load_shipped_forms
from tests.factories.reports import clean_answers, form_content, photos_for, report_body
from tests.factories.tasks import task_in
from tests.api.problems import problem

URL = "/api/v1/reports"


@pytest.fixture(autouse=True)
def forms(settings):
    load_shipped_forms()


def post(client, world, body, lang=None):
    return client.post(URL, json=body, headers=world.headers("inspector_east", lang))


def test_a_second_report_for_the_task_is_409_with_the_existing_reports_id_as_a_member(client, world):
    task = task_in(world)
    photos = photos_for(task)
    first = post(client, world, report_body(task, photos)).get_json()
    body = problem(post(client, world, report_body(task, photos)), 409, "report.already-submitted")
    assert body["report_id"] == first["id"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_submission_id_conflict_names_the_report_and_still_lists_the_other_errors(client, world, lang):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    first = post(client, world, body).get_json()
    answers, _ = clean_answers(form_content(task))
    answers["civil_language"] = "yes"
    changed = {**body, "answers": answers, "visited_at": (clock.now() + timedelta(hours=4)).isoformat()}
    conflict = problem(post(client, world, changed, lang=lang), 409, "report.submission-conflict")
    assert conflict["report_id"] == first["id"] and conflict["title"] and first["id"] in conflict["detail"]
    assert conflict["errors"] == {"civil_language": [{"code": "wrong-type", "expected": "boolean"}],
                                  "visited_at": [{"code": "in-the-future", "max_ahead_minutes": 15}]}


def test_a_valid_changed_payload_under_a_used_submission_id_is_a_plain_409(client, world):
    task = task_in(world)
    body = report_body(task, photos_for(task))
    post(client, world, body)
    changed = {**body, "device_time": (clock.now() + timedelta(seconds=5)).isoformat()}
    conflict = problem(post(client, world, changed), 409, "report.submission-conflict")
    assert "errors" not in conflict


def _calls_and_peak(client, world, body) -> tuple[int, int, dict]:
    calls = 0

    def count(_frame, event, _arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    tracemalloc.start()
    sys.setprofile(count)
    try:
        resp = post(client, world, body)
    finally:
        sys.setprofile(None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return calls, peak, problem(resp, 422, "report.invalid")


def test_the_worst_answer_body_is_refused_with_bounded_memory_and_linear_work(client, world):
    """An 800 KB multi_choice answer once cost minutes of CPU (a count per value). Now the pinned form caps
    it before it is checked: the calls made at 2n values are at most twice those at n, and memory stays
    small. (The quadratic comparisons themselves are counted in tests/domain/test_report_form_rules.py.)"""
    task = task_in(world)
    answers, _ = clean_answers(form_content(task))
    photos = photos_for(task)
    results = []
    # Past the raw-body count (api/body_rules.py: at most 1,000 entries in one array) a body is refused
    # before it is even parsed; below it, the pinned form's cap refuses it after linear work.
    huge = report_body(task, photos, answers={**answers, "unrelated_activities": ["phone_games"] * 20_000})
    problem(post(client, world, huge), 422, "request.too-many-items")
    for n in (100, 450, 900):  # the first warms up imports and caches
        body = report_body(task, photos, answers={**answers, "unrelated_activities": ["phone_games"] * n})
        results.append(_calls_and_peak(client, world, body))
    _, (calls_n, peak_n, refused), (calls_2n, peak_2n, _) = results
    assert refused["errors"] == {"unrelated_activities": [{"code": "too-many-choices", "max": 6, "count": 450}]}
    # Linear, with a small constant: only the payload's canonical hash (idempotency) reads every value.
    assert calls_2n <= 2.1 * calls_n and (calls_2n - calls_n) / 450 <= 10, (calls_n, calls_2n)
    assert peak_2n < 48 * 2**20, peak_2n  # the parsed body itself is a few MB
