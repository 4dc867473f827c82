"""The one clock (时钟): every service, model default and sweep takes "now" from here.

Deadlines, warnings, reminders and sync tokens all stand on it, so a test, the scheduler
and a time-travel check move time in one place: ``clock.using(FixedClock(at))`` in a
test, ``clock.set_clock(...)`` at a process's start. Nothing else in the domain reads the
system time.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator


def _ms(at: datetime) -> datetime:
    # MongoDB keeps milliseconds: truncating here keeps what we hash equal to what we read back.
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class Clock:
    """The port, and its production adapter: the system's UTC time, to the millisecond."""

    def now(self) -> datetime:
        return _ms(datetime.now(timezone.utc))


class FixedClock(Clock):
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = _ms(at.astimezone(timezone.utc))

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at = _ms(self.at + delta)
        return self.at


class OffsetClock(Clock):
    """The system time moved by a fixed offset: time travel for a whole running process."""

    def __init__(self, offset: timedelta):
        self.offset = offset

    def now(self) -> datetime:
        return _ms(datetime.now(timezone.utc) + self.offset)


_current: Clock = Clock()


def now() -> datetime:
    """The current UTC instant, from the clock in force."""
    return _current.now()


def current() -> Clock:
    return _current


def set_clock(clock: Clock) -> Clock:
    """Put ``clock`` in force for this process; returns the one it replaces."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Put ``clock`` in force for the ``with`` block (tests)."""
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)
