"""Accounts for tests: written through storage.atomic like every other write."""
from __future__ import annotations

import factory
from argon2 import PasswordHasher

from domain import storage
from domain.access import Role
from domain.accounts.models import Account
from domain import clock

PASSWORD = "Factory@2026"
_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


class AccountFactory(factory.Factory):
    """An inspector by default; pass ``home_unit`` (an ObjectId). Traits: ``disabled``, ``locked``."""

    class Meta:
        model = Account

    username = factory.Sequence(lambda n: f"user{n:04d}")
    display_name = factory.Faker("name", locale="zh_CN")
    role = Role.INSPECTOR
    password_hash = _HASH
    pool_offices = factory.LazyFunction(list)

    class Params:
        disabled = factory.Trait(active=False)
        locked = factory.Trait(locked_until=factory.LazyFunction(
            lambda: clock.now().replace(year=clock.now().year + 1)))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        doc = model_class(*args, **kwargs)
        storage.atomic(lambda tx: tx.insert(doc))
        return doc
