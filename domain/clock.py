"""The clock port: services take a clock so tests can fix time without patching."""
from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock(Clock):
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


system_clock = Clock()


def utcnow() -> datetime:
    return system_clock.now()
