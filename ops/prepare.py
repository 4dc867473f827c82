"""`python -m ops.prepare`: indexes, the system audit chain and the shipped forms, once before the
service starts on a real MongoDB (the compose file's `prepare` service). Idempotent; never seeds
demo data. `make run` does the same itself."""
from __future__ import annotations

import sys

from domain.config import ConfigError, Settings


def main() -> int:
    try:
        settings = Settings.from_env()
        settings.check_production()
        if not settings.mongodb_uri:
            raise ConfigError("MONGODB_URI is not set (`make run` prepares its embedded database itself)")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .cli import prepare_database

    prepare_database(settings)
    print(f"database {settings.mongodb_db} prepared", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
