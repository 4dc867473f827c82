"""Marshmallow fields every request schema uses for people's text, dates and integers (docs/text.md).

Shape only: which characters are refused is the domain's rule (``domain/text.py``), shared with
the CSV import; these fields turn it into a 422 that names the field, the character and where.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from marshmallow import fields, validate

from domain import text
from domain.errors import TextForbiddenCharacterError

# Plans, windows, visits and list filters lie in these years; anything else is a typo or an attack.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2101, 1, 1, tzinfo=timezone.utc)  # exclusive: 2100-12-31T23:59:59Z is the last accepted
INT64 = (-(2**63), 2**63 - 1)  # what MongoDB stores as an integer
INT64_MAX = INT64[1]
INT32_MAX = 2**31 - 1


class Text(fields.String):
    """Free text in NFC; control, bidi-override and surrogate characters refused.

    ``multiline=True`` keeps newlines and tabs (remarks, descriptions, instructions).
    """

    default_error_messages = {
        "forbidden": "contains {char} at position {position}: control and bidi-override characters "
                     "are not allowed (不允许控制字符和双向覆盖字符)",
    }

    def __init__(self, *args, multiline: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return text.clean(value, multiline=self.multiline, field=attr or "text")
        except TextForbiddenCharacterError as exc:
            raise self.make_error("forbidden", char=exc.params["char"], position=exc.params["position"]) from None


class Name(Text):
    """One line: a person's, unit's or account's name (shown to liaisons and printed in documents)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, multiline=False, **kwargs)


class Title(Name):
    """One line: a task's or document's title."""


class BoundedDateTime(fields.AwareDateTime):
    """An ISO 8601 time (no offset means UTC), loaded as UTC, in 2000-2100.

    ``bounded=False`` is for times a device reports (its clock, GNSS fixes): a phone reset to 1970
    must not strand a report, so those are accepted and flagged by the domain; only a value
    whose UTC conversion (or a day's arithmetic on it) overflows is refused.
    """

    default_error_messages = {
        "overflow": "the time is out of range once converted to UTC",
        "range": "must lie between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z",
    }

    def __init__(self, *args, bounded: bool = True, **kwargs):
        kwargs.setdefault("default_timezone", timezone.utc)
        super().__init__(*args, **kwargs)
        self.bounded = bounded
        if bounded:
            self.metadata.setdefault("x-range", "2000-01-01T00:00:00Z .. 2100-12-31T23:59:59Z")

    def _deserialize(self, value, attr, data, **kwargs):
        when = super()._deserialize(value, attr, data, **kwargs)
        try:
            when = when.astimezone(timezone.utc)
            when - timedelta(days=1), when + timedelta(days=1)
        except OverflowError:
            raise self.make_error("overflow") from None
        if self.bounded and not EARLIEST <= when < LATEST:
            raise self.make_error("range")
        return when


class BoundedInt(fields.Integer):
    """An integer no larger than storage holds: 64-bit by default, narrower where given."""

    def __init__(self, *args, min: int | None = None, max: int | None = None, **kwargs):
        low = INT64[0] if min is None else min
        high = INT64[1] if max is None else max
        validators = kwargs.pop("validate", None) or []
        validators = [validators] if callable(validators) else list(validators)
        super().__init__(*args, validate=[validate.Range(min=low, max=high), *validators], **kwargs)


__all__ = ["BoundedDateTime", "BoundedInt", "Name", "Text", "Title"]
