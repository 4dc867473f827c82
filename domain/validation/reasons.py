"""Outcomes and the catalogue of reason codes a verdict can carry.

A code is stable English for machines; its zh-CN and English texts live in
api/messages/*/validation.po as ``<code>|title`` and ``<code>|detail`` (the detail is filled
from the reason's params). docs/validation.md documents each code with its numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    PASS = "pass"
    REVIEW = "review"  # a person looks at it
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Outcome.PASS: 0, Outcome.REVIEW: 1, Outcome.FAIL: 2}


def worst(outcomes) -> Outcome:
    """The most severe outcome; PASS when there is none."""
    return max(outcomes, key=lambda o: o.rank, default=Outcome.PASS)


# code -> (outcome, params the message uses). The outcome is part of the code's meaning: a rule
# change that alters it bumps VALIDATOR_VERSION.
CODES: dict[str, tuple[Outcome, tuple[str, ...]]] = {
    # The file itself
    "file.format-not-allowed": (Outcome.FAIL, ("format", "allowed")),
    "file.unreadable": (Outcome.FAIL, ("detail",)),
    "file.truncated": (Outcome.FAIL, ("detail",)),
    "file.too-many-pixels": (Outcome.FAIL, ("pixels", "max_pixels")),
    # The guarded read could not finish: nothing is known, a person looks
    "metadata.parser-timeout": (Outcome.REVIEW, ("timeout_s",)),
    "metadata.parser-memory": (Outcome.REVIEW, ("memory_mb",)),
    "metadata.parser-crash": (Outcome.REVIEW, ("detail",)),
    "metadata.invalid-values": (Outcome.REVIEW, ("fields",)),
    # When
    "time.unverifiable": (Outcome.REVIEW, ()),
    "time.inside-window": (Outcome.PASS, ("capture_time", "source")),
    "time.outside-window": (Outcome.FAIL, ("capture_time", "starts_at", "ends_at", "tolerance_min", "source")),
    "time.in-future": (Outcome.FAIL, ("capture_time", "received_at")),
    "time.zone-mismatch": (Outcome.REVIEW, ("offset", "expected", "zone")),
    "time.gps-mismatch": (Outcome.REVIEW, ("exif_time", "gps_time", "difference_s", "tolerance_s")),
    "time.no-device-fix": (Outcome.REVIEW, ("capture_time", "gap_s", "max_gap_s")),
    "time.after-file-time": (Outcome.REVIEW, ("capture_local", "file_time_local", "difference_s")),
    # Where
    "location.unverifiable": (Outcome.REVIEW, ()),
    "location.inside-geofence": (Outcome.PASS, ("distance_m", "allowed_m")),
    "location.outside-geofence": (Outcome.FAIL, ("distance_m", "allowed_m", "radius_m")),
    "location.device-fix-mismatch": (Outcome.REVIEW, ("distance_m", "allowed_m", "fix_time")),
    "location.device-fix-outside-geofence": (Outcome.REVIEW, ("distance_m", "allowed_m", "fix_time")),
    # Edited
    "edit.editor-software": (Outcome.REVIEW, ("software",)),
    "edit.transfer-software": (Outcome.REVIEW, ("software",)),
    "edit.thumbnail-mismatch": (Outcome.REVIEW, ("distance", "max_distance")),
    # Reused
    "reuse.exact-copy": (Outcome.FAIL, ("other_evidence_id", "other_report_id")),
    "reuse.near-duplicate": (Outcome.REVIEW, ("other_evidence_id", "other_report_id", "distance", "max_distance")),
    # Content credentials (C2PA)
    "c2pa.valid": (Outcome.PASS, ("signer",)),
    "c2pa.trusted": (Outcome.PASS, ("signer",)),
    "c2pa.invalid": (Outcome.FAIL, ("failures",)),
}


@dataclass(frozen=True)
class Reason:
    code: str
    outcome: Outcome
    params: dict = field(default_factory=dict, compare=True, hash=False)

    def to_dict(self) -> dict:
        return {"code": self.code, "outcome": str(self.outcome), "params": dict(self.params)}


def reason(code: str, **params) -> Reason:
    """A reason of a catalogued code, with the outcome the catalogue gives it."""
    outcome, names = CODES[code]
    missing = set(names) - set(params)
    if missing:
        raise ValueError(f"reason {code} needs params {sorted(missing)}")
    return Reason(code, outcome, params)
