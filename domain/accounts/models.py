"""Accounts, login sessions (refresh-token families) and refresh tokens."""
from __future__ import annotations

import mongoengine as me

from ..access import Role
from ..storage import Doc


class Account(Doc):
    username = me.StringField(required=True, max_length=64)  # stored lower-case
    display_name = me.StringField(max_length=100)
    role = me.EnumField(Role, required=True)
    home_unit = me.ObjectIdField(required=True)
    office = me.ObjectIdField()  # supervisors and leaders: their supervision office
    pool_offices = me.ListField(me.ObjectIdField())  # inspectors: offices whose pool they are enrolled in
    password_hash = me.StringField(required=True)
    active = me.BooleanField(default=True)
    failed_logins = me.IntField(default=0)
    locked_until = me.DateTimeField()
    password_changed_at = me.DateTimeField()
    last_login_at = me.DateTimeField()

    meta = {"collection": "accounts", "indexes": [
        {"fields": ["username"], "unique": True}, "home_unit", "office", "pool_offices", "role"]}


class AuthSession(Doc):
    """One login: the family of refresh tokens it issues. Revoking it ends every token of the family."""

    account = me.ObjectIdField(required=True)
    expires_at = me.DateTimeField(required=True)
    revoked_at = me.DateTimeField()
    revoked_reason = me.StringField()
    user_agent = me.StringField(max_length=300)

    meta = {"collection": "auth_sessions", "indexes": ["account", {"fields": ["expires_at"],
                                                                      "expireAfterSeconds": 30 * 24 * 3600}]}


class RefreshToken(Doc):
    token_hash = me.StringField(required=True)  # SHA-256 of the opaque token; the token itself is never stored
    session = me.ObjectIdField(required=True)
    account = me.ObjectIdField(required=True)
    expires_at = me.DateTimeField(required=True)
    used_at = me.DateTimeField()

    meta = {"collection": "refresh_tokens", "indexes": [{"fields": ["token_hash"], "unique": True}, "session",
                                                        {"fields": ["expires_at"], "expireAfterSeconds": 30 * 24 * 3600}]}
