"""Password hashing (argon2id, cost from settings) and the password policy."""
from __future__ import annotations

import string
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..config import get_settings
from ..errors import WeakPasswordError

MIN_LENGTH = 8
MIN_CLASSES = 3
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a hostile 1 MB "password" from costing CPU


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    # parallelism 1: a gthread worker hashes for one request on one core; several lanes would
    # only compete with the other requests on a 2-core host.
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)


def hasher() -> PasswordHasher:
    s = get_settings()
    return _hasher(s.argon2_time_cost, s.argon2_memory_cost)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int) -> str:
    return _hasher(time_cost, memory_cost).hash("dummy-password-for-unknown-users")


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_verify(password: str) -> None:
    """Spend the time of one verification, so an unknown username answers as slowly as a wrong password."""
    s = get_settings()
    verify_password(_dummy_hash(s.argon2_time_cost, s.argon2_memory_cost), password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and symbols (anything else) the password uses."""
    lower = any(c in string.ascii_lowercase for c in password)
    upper = any(c in string.ascii_uppercase for c in password)
    digit = any(c.isdigit() for c in password)
    symbol = any(not (c in string.ascii_letters or c.isdigit()) for c in password)
    return lower + upper + digit + symbol


def check_policy(password: str) -> None:
    """等保 2.0 第三级 (GB/T 22239-2019 8.1.4.1): at least 8 characters from 3 of the 4 classes."""
    if (not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH
            or character_classes(password) < MIN_CLASSES):
        raise WeakPasswordError(min_length=MIN_LENGTH, min_classes=MIN_CLASSES)
