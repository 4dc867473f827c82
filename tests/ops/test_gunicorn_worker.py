"""The gunicorn worker's own refusals: a code for each, with text in both languages."""
import json

import pytest
from gunicorn.http import errors as http_errors

from api.messages import LOCALES, text
from ops import gunicorn_conf
from ops.gunicorn_worker import CODES, SlowClientWorker, problem_response, refusal_code


def test_the_production_config_runs_the_slow_client_worker():
    assert gunicorn_conf.worker_class == f"{SlowClientWorker.__module__}.{SlowClientWorker.__name__}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_refusal_code_has_a_title_and_detail_in_chinese_and_english(code):
    for locale in LOCALES:
        assert text(locale, f"{code}|title") and text(locale, f"{code}|detail"), (code, locale)


@pytest.mark.parametrize("exc, code", [
    (http_errors.LimitRequestLine(5000, 4094), "request.line-too-long"),
    (http_errors.LimitRequestHeaders("too many"), "request.headers-too-large"),
    (http_errors.InvalidHeaderName("x y"), "request.unparsable"),
    (http_errors.InvalidRequestLine("garbage"), "request.unparsable"),
    (http_errors.UnsupportedTransferCoding("gzip"), None),  # gunicorn's own 501 stays
    (RuntimeError("app bug"), None),
])
def test_refused_heads_map_to_stable_codes_and_other_errors_stay_gunicorn_s(exc, code):
    assert refusal_code(exc) == code


def test_a_refusal_is_a_complete_problem_json_response_that_closes_the_connection():
    head, _, body = problem_response("request.headers-too-large", english=True).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"Connection: close" in head
    assert b"Content-Length: %d" % len(body) in head
    problem = json.loads(body)
    assert problem["type"].endswith("/request.headers-too-large") and problem["status"] == 431
