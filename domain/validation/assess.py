"""The whole judgement of one photo for the verdict job: guarded facts, reuse lookups, judge.

The evidence service calls this, then saves the verdict, the facts and the fingerprint
(near_duplicates.record_fingerprint) in one transaction with its audit event.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .facts import GUARD_MEMORY_MB, GUARD_TIMEOUT_S, Facts, extract_facts_guarded
from .near_duplicates import PhotoFingerprint, fingerprint_of, lookup_reuse
from .verdict import ValidationContext, Verdict, judge


@dataclass(frozen=True)
class Assessment:
    facts: Facts
    verdict: Verdict

    def fingerprint(self, *, evidence_id: str, report_id: str, task_id: str | None = None) -> PhotoFingerprint:
        return fingerprint_of(self.facts, evidence_id=evidence_id, report_id=report_id, task_id=task_id)


def assess_photo(path, context: ValidationContext, *, trust_anchors_pem: str | None = None,
                 timeout_s: float = GUARD_TIMEOUT_S, memory_mb: int = GUARD_MEMORY_MB) -> Assessment:
    """Facts of the photo at ``path`` (in the guarded child), the reuse lookups for
    ``context.report_id`` (database), and the verdict. The context's own match lists are replaced."""
    facts = extract_facts_guarded(path, max_pixels=context.thresholds.max_pixels, trust_anchors_pem=trust_anchors_pem,
                                  timeout_s=timeout_s, memory_mb=memory_mb)
    exact, near = lookup_reuse(facts, report_id=context.report_id or "", thresholds=context.thresholds)
    verdict = judge(facts, replace(context, exact_matches=exact, near_matches=near))
    return Assessment(facts, verdict)
