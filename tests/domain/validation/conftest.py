"""Validation tests: corpus facts read once per session, and guarded children stopped at the end."""
from __future__ import annotations

import pytest

from domain.validation import guard
from domain.validation.facts import extract_facts_guarded

from .photos import CORPUS


@pytest.fixture(scope="session", autouse=True)
def _stop_guards():
    yield
    guard.shutdown()


@pytest.fixture(scope="session")
def corpus_facts():
    """Facts of a corpus file by relative path, read through the guard once per session."""
    cache = {}

    def read(relative: str):
        if relative not in cache:
            cache[relative] = extract_facts_guarded(CORPUS / relative)
        return cache[relative]
    return read
