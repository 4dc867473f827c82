"""The verdict on one photo: judge(facts, context) -> pass / review / fail with reasons.

Pure and deterministic: the same facts and context give the same verdict, with no clock, no
database and no file access (the reuse lookups are done beforehand, by near_duplicates.py, and
handed in through the context). VALIDATOR_VERSION changes with any rule, code or outcome
change, so stored evidence judged by an older version can be found and judged again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import checks
from .facts import Facts
from .reasons import Outcome, Reason, worst
from .thresholds import DEFAULT_THRESHOLDS, Thresholds

VALIDATOR_VERSION = 2  # 2: time.after-file-time


@dataclass(frozen=True)
class Site:
    lat: float  # WGS-84
    lon: float
    radius_m: float


@dataclass(frozen=True)
class DeviceFix:
    """A position the inspection app recorded during the visit (WGS-84, time in UTC)."""

    lat: float
    lon: float
    accuracy_m: float
    time: datetime


@dataclass(frozen=True)
class ReuseMatch:
    """Another report's photo: the same bytes (distance None) or a near-duplicate."""

    evidence_id: str
    report_id: str
    distance: int | None = None


@dataclass(frozen=True)
class ValidationContext:
    site: Site | None = None
    starts_at: datetime | None = None  # the task window (aware datetimes)
    ends_at: datetime | None = None
    tolerance_s: int | None = None  # overrides thresholds.window_tolerance_s for this task
    device_fixes: tuple[DeviceFix, ...] = ()
    device_clock_offset_s: float | None = None  # the device's clock minus true time, when measured
    received_at: datetime | None = None  # when the server received the photo: nothing is captured later
    report_id: str | None = None
    task_id: str | None = None
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    exact_matches: tuple[ReuseMatch, ...] = ()
    near_matches: tuple[ReuseMatch, ...] = ()


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    validator_version: int = VALIDATOR_VERSION
    facts_digest: str | None = None

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def reason(self, code: str) -> Reason | None:
        return next((r for r in self.reasons if r.code == code), None)

    def to_dict(self) -> dict:
        return {"outcome": str(self.outcome), "reasons": [r.to_dict() for r in self.reasons],
                "validator_version": self.validator_version, "facts_digest": self.facts_digest}


def judge(facts: Facts, context: ValidationContext) -> Verdict:
    """Judge one photo's facts against its task. The outcome is the worst of the reasons."""
    reasons: list[Reason] = []
    if facts.guard:
        # The read never finished: nothing is known beyond the bytes' hash, so a person looks.
        reasons += checks.guard_reasons(facts)
    else:
        reasons += checks.file_reasons(facts, context.thresholds)
        if not reasons:  # a file that failed as a file is not judged on its metadata
            reasons += checks.metadata_reasons(facts)
            reasons += checks.time_reasons(facts, context)
            reasons += checks.location_reasons(facts, context)
            reasons += checks.edit_reasons(facts, context.thresholds)
            reasons += checks.c2pa_reasons(facts)
    reasons += checks.reuse_reasons(context)
    return Verdict(worst(r.outcome for r in reasons), tuple(reasons), VALIDATOR_VERSION, facts.digest)
