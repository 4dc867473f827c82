"""Accounts, sign-in sessions and tokens: use cases in ``services``, reads in ``queries``."""
from .models import Account, AuthSession, RefreshToken  # noqa: F401
