"""Access tokens (short-lived JWTs) and refresh tokens (opaque, stored only as a hash)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

import jwt

from ..config import get_settings
from ..errors import TokenExpiredError, TokenInvalidError

ALGORITHM = "HS256"
ACCESS = "access"
REQUIRED_CLAIMS = ["sub", "sid", "iat", "exp", "typ", "jti"]


def issue_access_token(account_id, session_id, now: datetime, jti: str | None = None) -> tuple[str, int]:
    """A signed JWT naming the account and its session; returns the token and its lifetime in seconds.
    The same arguments (``jti`` included) give the same token: a refresh retry gets its pair again."""
    ttl = get_settings().access_token_ttl
    claims = {
        "sub": str(account_id),
        "sid": str(session_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "typ": ACCESS,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, get_settings().secret_key, algorithm=ALGORITHM), ttl


def decode_access_token(token: str) -> dict:
    """The claims of a valid access token. Raises TokenExpiredError or TokenInvalidError."""
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=[ALGORITHM],
                            options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise TokenExpiredError() from None
    except jwt.InvalidTokenError:
        raise TokenInvalidError() from None
    if claims.get("typ") != ACCESS:
        raise TokenInvalidError()
    return claims


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the SHA-256 under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # A plain SHA-256 suffices: the token carries 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def successor(refresh_token: str) -> tuple[str, str, str]:
    """The refresh token that rotating ``refresh_token`` issues, its hash, and the jti of the access
    token issued with it. An HMAC of the old token, so a retry whose answer was lost is given the
    same pair again while the database keeps only hashes."""
    mac = hmac.new(get_settings().secret_key.encode(), b"refresh-successor:" + refresh_token.encode(),
                   hashlib.sha256).digest()
    token = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    return token, hash_refresh_token(token), hashlib.sha256(b"jti:" + mac).hexdigest()[:32]
