"""Settings read once from the environment; the only place that knows variable names."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_SECRET = "dev-insecure-secret-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The environment does not describe a service that may start."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    data_dir: Path = PROJECT_ROOT / "var"
    mongodb_uri: str | None = None
    mongodb_db: str = "inspection"
    redis_url: str | None = None
    secret_key: str = DEFAULT_SECRET
    audit_key_file: Path | None = None
    audit_heads_dir: Path | None = None  # exported audit chain heads; production: another host's mount
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 7 * 24 * 3600
    # Log-in back-off (docs/security.md): never a lock-out a stranger could trigger, only a growing wait.
    login_free_failures: int = 5  # failures of one username from one address before the wait starts
    login_backoff_max_seconds: int = 15 * 60  # the longest wait for one username from one address
    login_username_free_failures: int = 50  # failures of one username from every address together
    login_username_backoff_max_seconds: int = 60  # so a stranger can slow its owner down, never lock it out
    login_failure_memory_seconds: int = 3600  # counters are forgotten this long after the last failure
    login_rate_limit: str = "20 per minute"
    login_address_rate_limit: str = "60 per minute;600 per hour"  # one address, every username (carrier NAT)
    refresh_grace_seconds: int = 30  # a retried refresh within this gets the same new pair
    max_upload_bytes: int = 200 * 1024 * 1024
    max_json_bytes: int = 2 * 1024 * 1024
    worker_heartbeat_max_age: int = 60
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 64 * 1024
    page_size_default: int = 50
    page_size_max: int = 200
    demo_password: str = "Inspect@2026"
    sync_submitted_days: int = 7  # a submitted task stays in the phone's sync set this many days
    proxy_hops: int = 0  # trusted reverse proxies in front of the API (X-Forwarded-For)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        data_dir = Path(os.environ.get("DATA_DIR") or (PROJECT_ROOT / "var")).resolve()
        values = dict(
            app_env=os.environ.get("APP_ENV", "development"),
            data_dir=data_dir,
            mongodb_uri=os.environ.get("MONGODB_URI") or None,
            mongodb_db=os.environ.get("MONGODB_DB", "inspection"),
            redis_url=os.environ.get("REDIS_URL") or None,
            secret_key=os.environ.get("SECRET_KEY", DEFAULT_SECRET),
            audit_key_file=Path(os.environ["AUDIT_KEY_FILE"]) if os.environ.get("AUDIT_KEY_FILE") else None,
            audit_heads_dir=Path(os.environ["AUDIT_HEADS_DIR"]) if os.environ.get("AUDIT_HEADS_DIR") else None,
            access_token_ttl=_int("ACCESS_TOKEN_TTL", 15 * 60),
            refresh_token_ttl=_int("REFRESH_TOKEN_TTL", 7 * 24 * 3600),
            login_free_failures=_int("LOGIN_FREE_FAILURES", 5),
            login_backoff_max_seconds=_int("LOGIN_BACKOFF_MAX_SECONDS", 15 * 60),
            login_username_free_failures=_int("LOGIN_USERNAME_FREE_FAILURES", 50),
            login_username_backoff_max_seconds=_int("LOGIN_USERNAME_BACKOFF_MAX_SECONDS", 60),
            login_failure_memory_seconds=_int("LOGIN_FAILURE_MEMORY_SECONDS", 3600),
            login_rate_limit=os.environ.get("LOGIN_RATE_LIMIT", "20 per minute"),
            login_address_rate_limit=os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "60 per minute;600 per hour"),
            refresh_grace_seconds=_int("REFRESH_GRACE_SECONDS", 30),
            max_upload_bytes=_int("MAX_UPLOAD_BYTES", 200 * 1024 * 1024),
            max_json_bytes=_int("MAX_JSON_BYTES", 2 * 1024 * 1024),
            worker_heartbeat_max_age=_int("WORKER_HEARTBEAT_MAX_AGE", 60),
            argon2_time_cost=_int("ARGON2_TIME_COST", 3),
            argon2_memory_cost=_int("ARGON2_MEMORY_COST", 64 * 1024),
            page_size_default=_int("PAGE_SIZE_DEFAULT", 50),
            page_size_max=_int("PAGE_SIZE_MAX", 200),
            demo_password=os.environ.get("DEMO_PASSWORD", "Inspect@2026"),
            proxy_hops=_int("PROXY_HOPS", 0),
            sync_submitted_days=_int("SYNC_SUBMITTED_DAYS", 7),
        )
        values.update(overrides)
        return cls(**values)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def resolved_audit_key_file(self) -> Path:
        return self.audit_key_file or (self.data_dir / "secrets" / "audit.key")

    @property
    def resolved_audit_heads_dir(self) -> Path:
        """Where the scheduled export appends audit chain heads (AUDIT_HEADS_DIR, default DATA_DIR/audit-heads)."""
        return self.audit_heads_dir or (self.data_dir / "audit-heads")

    def check_production(self) -> None:
        """Refuse, with the reason, to run production on development defaults."""
        if not self.is_production:
            return
        reasons = []
        if not self.mongodb_uri:
            reasons.append("MONGODB_URI is not set: production never runs on the embedded SecantusDB")
        if not self.redis_url:
            reasons.append("REDIS_URL is not set: production never runs on the embedded redis-server")
        if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
            reasons.append("SECRET_KEY is the development default or shorter than 32 characters")
        if not self.audit_key_file:
            reasons.append("AUDIT_KEY_FILE is not set: the audit HMAC key must live outside the data directory")
        if reasons:
            raise ConfigError("refusing to start with APP_ENV=production:\n  - " + "\n  - ".join(reasons))

    def audit_key(self) -> bytes:
        """The audit chain key, kept in a file outside the database (created on first use in development)."""
        path = self.resolved_audit_key_file
        if not path.exists():
            if self.is_production:
                raise ConfigError(f"audit key file {path} does not exist")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_hex(32))
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # first writer wins when several processes start at once
            except FileExistsError:
                pass
            tmp.unlink(missing_ok=True)
        key = path.read_text().strip()
        if len(key) < 32:
            raise ConfigError(f"audit key in {path} is shorter than 32 characters")
        return key.encode()

    def describe(self) -> list[tuple[str, str]]:
        return [(f.name, str(getattr(self, f.name))) for f in fields(self) if f.name not in {"secret_key", "extra"}]


_current: Settings | None = None


def get_settings() -> Settings:
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def set_settings(settings: Settings) -> None:
    global _current
    _current = settings
