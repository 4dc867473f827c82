"""Login, token refresh, logout and password change."""
from __future__ import annotations

from functools import partial

from flask import current_app, request
from flask.views import MethodView
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint

from domain.accounts import services
from domain.config import get_settings

from .accounts.schemas import LoginSchema, PasswordChangeSchema, RefreshSchema, TokenSchema
from .auth import guarded, public
from .problems import documents_problems
from .ratelimit import limiter

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Authentication 登录与令牌")

RATE_LIMIT_KEY = "LOGIN_RATE_LIMIT"
ADDRESS_LIMIT_KEY = "LOGIN_ADDRESS_RATE_LIMIT"


@blp.record_once
def _remember_limit(state) -> None:
    # Each app keeps the limits it was built with, so a test may lower them on one app only.
    state.app.config.setdefault(RATE_LIMIT_KEY, get_settings().login_rate_limit)
    state.app.config.setdefault(ADDRESS_LIMIT_KEY, get_settings().login_address_rate_limit)


def _limit() -> str:
    return current_app.config.get(RATE_LIMIT_KEY) or get_settings().login_rate_limit


def _address_limit() -> str:
    """Every username from one address: stops spraying many usernames, sized for the many phones
    that share one carrier NAT address (docs/security.md)."""
    return current_app.config.get(ADDRESS_LIMIT_KEY) or get_settings().login_address_rate_limit


def _login_key() -> str:
    """Client address plus the username tried: one guesser cannot lock others out of the limit,
    and one account is not hammered from one address."""
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    name = username.strip().lower()[:64] if isinstance(username, str) else ""
    return f"{get_remote_address()}|{name}"


_problem = partial(documents_problems, blp)


def _user_agent() -> str | None:
    return request.headers.get("User-Agent")


@blp.route("/login")
class Login(MethodView):
    @blp.doc(operationId="login")
    @limiter.limit(_limit, key_func=_login_key)
    @limiter.limit(_address_limit, key_func=get_remote_address, scope="login-address")
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @_problem(401, "auth.invalid-credentials", "auth.account-disabled")
    @_problem(429, "auth.login-throttled", "request.rate-limited")
    @public
    def post(self, data):
        """Sign in with username and password

        Returns an access token and a refresh token. Failed sign-ins make the next try for that
        username wait longer (429 with `Retry-After`, the same for unknown usernames); an account is
        never locked by them.
        """
        return services.login(data["username"], data["password"], user_agent=_user_agent(),
                              address=get_remote_address())


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.doc(operationId="refreshToken")
    @limiter.limit(_limit, key_func=get_remote_address)
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenSchema)
    @_problem(401, "auth.token-invalid", "auth.token-expired", "auth.token-revoked", "auth.refresh-token-reused",
              "auth.account-disabled")
    @_problem(429, "request.rate-limited")
    @public
    def post(self, data):
        """Exchange a refresh token for new tokens

        The refresh token is single use. A retry within a short grace (the answer was lost) gets the
        same new pair again; presenting a used one after that revokes the whole session.
        """
        return services.refresh(data["refresh_token"], user_agent=_user_agent())


@blp.route("/logout")
class Logout(MethodView):
    @blp.doc(operationId="logout")
    @guarded(blp, None)
    @blp.response(204)
    @_problem(401, "auth.unauthenticated", "auth.token-expired", "auth.token-revoked")
    def post(self, actor):
        """Sign out: this session's access and refresh tokens stop working at once"""
        services.logout(actor)


@blp.route("/password")
class Password(MethodView):
    @blp.doc(operationId="changePassword")
    # Limited too: a stolen access token must not become an unlimited oracle for the current password.
    @limiter.limit(_limit, key_func=get_remote_address)
    @guarded(blp, None)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @_problem(401, "auth.unauthenticated", "auth.token-expired", "auth.token-revoked")
    @_problem(422, "auth.wrong-current-password", "auth.weak-password", "request.invalid")
    @_problem(429, "request.rate-limited")
    def post(self, data, actor):
        """Change your own password

        Every other session of the account is signed out; this one stays.
        """
        services.change_password(actor, data["current_password"], data["new_password"])
