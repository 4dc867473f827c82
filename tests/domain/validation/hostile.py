"""Readers that behave like a hostile file does to a parser: run by the guard, never directly."""
from __future__ import annotations

import os
import re
import signal


def backtrack(path, **_):
    """A C-level loop: catastrophic regex backtracking inside _sre, where no Python timeout reaches."""
    return re.match(r"(a|aa)+$", "a" * 80 + "b")


def allocate_impossible(path, **_):
    return bytearray(10 ** 11)  # 100 GB in one request


def allocate_over_budget(path, **_):
    """2 GB: possible on this machine, but over the guard's memory budget in the test."""
    import numpy as np

    return np.ones(2 * 1024 ** 3 // 8).sum()


def segfault(path, **_):
    os.kill(os.getpid(), signal.SIGSEGV)


def raises(path, **_):
    raise ValueError("bad IFD offset")


def pid(*_, **__):
    return os.getpid()


def parts_then_result(n, **_):
    """A reader that streams: yields 0..n-1, then returns its own pid."""
    for i in range(n):
        yield i
    return os.getpid()


def one_part_then_loop(path, **_):
    """Sends its early part, then goes into the C-level loop."""
    yield "early"
    return backtrack(path)


def hashes_then_crash(path, **_):
    """Sends early hashes (made up: all zero bits), then dies the way a broken decoder does."""
    import hashlib
    from pathlib import Path

    from domain.validation.facts import EarlyHashes

    yield EarlyHashes(hashlib.sha256(Path(path).read_bytes()).hexdigest(), "0" * 16, "0" * 16)
    segfault(path)


class _Unloadable:
    """Pickles in the child, fails to unpickle in the parent."""

    def __reduce__(self):
        return (_refuse, ())


def _refuse():
    raise ValueError("cannot be rebuilt here")


def answer_that_does_not_unpickle(*_, **__):
    return _Unloadable()
