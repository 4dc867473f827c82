"""Evidence validation: what one photo says about itself, and the verdict on it.

facts.py reads a photo in one guarded pass; verdict.judge() turns facts and the task's
context into pass / review / fail with stable reason codes (reasons.py, docs/validation.md);
near_duplicates.py holds the reuse lookups; working_copies.py the thumbnail and preview.
"""
from __future__ import annotations

from .assess import Assessment, PhotoAssessment, PhotoReading, assess_photo  # noqa: F401
from .facts import FACTS_VERSION, Facts, extract_facts, extract_facts_guarded  # noqa: F401
from .guard import GuardFailure, run_guarded, start_guarded  # noqa: F401
from .near_duplicates import band_keys, find_exact_reuse, find_near_duplicates, lookup_reuse  # noqa: F401
from .reasons import CODES, Outcome, Reason  # noqa: F401
from .thresholds import DEFAULT_THRESHOLDS, Thresholds, thresholds_for  # noqa: F401
from .verdict import VALIDATOR_VERSION, DeviceFix, ReuseMatch, Site, ValidationContext, Verdict, judge  # noqa: F401
from .working_copies import make_preview  # noqa: F401
