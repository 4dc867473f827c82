"""Every reason code has a zh-CN and an English title and detail whose {params} the verdict
supplies, and is documented in docs/validation.md."""
from __future__ import annotations

import re

import pytest

from api.messages import catalogue, text
from domain.validation.reasons import CODES, reason

from .photos import ROOT

DOC = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_each_reason_code_has_a_message_filled_from_its_params(locale, code):
    messages = catalogue(locale)
    assert messages.get(f"{code}|title")
    detail = messages.get(f"{code}|detail")
    assert detail
    _, params = CODES[code]
    assert set(re.findall(r"{(\w+)}", detail)) == set(params)
    filled = text(locale, f"{code}|detail", reason(code, **{p: f"<{p}>" for p in params}).params)
    assert "{" not in filled


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_reason_code_is_documented_with_its_outcome(code):
    outcome, _ = CODES[code]
    assert re.search(rf"^\| `{re.escape(code)}` \| {outcome} \|", DOC, re.M), code


def test_a_reason_refuses_missing_params():
    with pytest.raises(ValueError):
        reason("location.outside-geofence", distance_m=1)
