"""The whole judgement of one photo for the verdict job: guarded facts, reuse lookups, judge.

The evidence service saves the verdict with the facts and the pHash's band keys (the reuse index,
near_duplicates.py) on the evidence record, in one transaction with its audit event.

``assess_photo`` does it in order. ``PhotoAssessment`` does the same in steps the verdict job
interleaves with its own database round trips while the guarded child decodes (on SecantusDB
a round trip costs 0.5-2 ms, and a job has about ten; docs/validation.md "The verdict job").
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .facts import (
    GUARD_MEMORY_MB,
    GUARD_TIMEOUT_S,
    EarlyHashes,
    Facts,
    extract_facts_guarded,
    facts_after_failure,
    read_facts,
)
from .guard import GuardFailure, start_guarded
from .near_duplicates import find_exact_reuse, find_near_duplicates, lookup_reuse
from .verdict import ValidationContext, Verdict, judge


@dataclass(frozen=True)
class Assessment:
    facts: Facts
    verdict: Verdict


def assess_photo(path, context: ValidationContext, *, trust_anchors_pem: str | None = None,
                 timeout_s: float = GUARD_TIMEOUT_S, memory_mb: int = GUARD_MEMORY_MB) -> Assessment:
    """Facts of the photo at ``path`` (in the guarded child), the reuse lookups for
    ``context.report_id`` (database), and the verdict. The context's own match lists are replaced."""
    facts = extract_facts_guarded(path, max_pixels=context.thresholds.max_pixels, trust_anchors_pem=trust_anchors_pem,
                                  timeout_s=timeout_s, memory_mb=memory_mb)
    exact, near = lookup_reuse(facts, report_id=context.report_id or "", thresholds=context.thresholds)
    verdict = judge(facts, replace(context, exact_matches=exact, near_matches=near))
    return Assessment(facts, verdict)


class PhotoReading:
    """The guarded read of one photo, started at once and collected later. A context manager:
    leaving it before the facts are in lets the read finish (GuardedCall.close)."""

    def __init__(self, path, *, max_pixels: int, trust_anchors_pem: str | None = None,
                 timeout_s: float = GUARD_TIMEOUT_S, memory_mb: int = GUARD_MEMORY_MB, reader=read_facts):
        self.path, self.max_pixels, self._reader = path, max_pixels, reader
        self._options = dict(trust_anchors_pem=trust_anchors_pem, timeout_s=timeout_s, memory_mb=memory_mb)
        self._start()

    def _start(self) -> None:
        self._call = start_guarded(self._reader, str(self.path), max_pixels=self.max_pixels, **self._options)
        self._early: EarlyHashes | None = None
        self._facts: Facts | None = None

    def with_pixel_cap(self, max_pixels: int) -> None:
        """Read again under another pixel cap (an office with its own), unless started with it.
        The read starts before the office is loaded, under the default cap."""
        if max_pixels != self.max_pixels:
            self._call.kill()  # its answer is of no use; a fresh child costs ~10 ms, a decode more
            self.max_pixels = max_pixels
            self._start()

    def early_hashes(self) -> EarlyHashes | None:
        """The SHA-256 and perceptual hashes as soon as the child has them; None for a photo
        that does not decode."""
        if self._early is None and self._facts is None:
            part = self._call.next_part()
            if part is None:
                self.facts()
            else:
                self._early = part
        return self._early

    def facts(self) -> Facts:
        """The facts; when the child timed out, ran out of memory or died, the facts a failed
        read still gives (guard set), so the photo gets a verdict anyway."""
        if self._facts is None:
            result = self._call.result()
            self._facts = facts_after_failure(self.path, result) if isinstance(result, GuardFailure) else result
        return self._facts

    def __enter__(self) -> "PhotoReading":
        return self

    def __exit__(self, *exc) -> None:
        self._call.__exit__(*exc)


class PhotoAssessment:
    """The judgement of one photo in steps, each computed once (a retried transaction asks again):

    1. ``exact_matches``: the SHA-256 names the stored file, so this lookup needs no read;
    2. ``near_matches``: waits for the child's hashes, then looks up near-duplicates while the
       child makes the thumbnail;
    3. ``result``: waits for the facts and judges.

    Everything rests on the final facts: when they disagree with what was used early (the child
    failed after sending its hashes, or the file is not the bytes its name says), the lookups are
    done again from the facts.
    """

    def __init__(self, reading: PhotoReading, context: ValidationContext, *, sha256: str):
        self.reading, self.context, self.sha256 = reading, context, sha256
        self.report_id = str(context.report_id or "")
        self._exact: dict[str, tuple] = {}
        self._near: dict[tuple, tuple] = {}
        self._result: Assessment | None = None

    def exact_matches(self, sha256: str | None = None) -> tuple:
        sha256 = sha256 or self.sha256
        if sha256 not in self._exact:
            self._exact[sha256] = tuple(find_exact_reuse(sha256, report_id=self.report_id))
        return self._exact[sha256]

    def _near_matches(self, sha256: str, phash: str | None, dhash: str | None) -> tuple:
        key = (sha256, phash, dhash)
        if key not in self._near:
            if phash is None:
                self._near[key] = ()
            else:
                skip = frozenset(m.evidence_id for m in self.exact_matches(sha256))
                self._near[key] = tuple(find_near_duplicates(phash, dhash, report_id=self.report_id,
                                                             thresholds=self.context.thresholds, skip=skip))
        return self._near[key]

    def near_matches(self) -> tuple:
        """The near-duplicates, as soon as the child's hashes are in (the final ones when the read
        ends without early hashes)."""
        early = self.reading.early_hashes()
        if early is None:
            facts = self.reading.facts()
            return self._near_matches(facts.sha256, facts.phash, facts.dhash)
        return self._near_matches(early.sha256, early.phash, early.dhash)

    def result(self) -> Assessment:
        if self._result is None:
            facts = self.reading.facts()
            exact = self.exact_matches(facts.sha256)
            near = self._near_matches(facts.sha256, facts.phash, facts.dhash)
            verdict = judge(facts, replace(self.context, exact_matches=exact, near_matches=near))
            self._result = Assessment(facts, verdict)
        return self._result
