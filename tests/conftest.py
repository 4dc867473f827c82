"""One set of real servers per test session; collections and Redis emptied before each test.

With TEST_MONGODB_URI (never MONGODB_URI) the tests use that MongoDB, whose database
name must end in ``_test`` because the tests empty it; otherwise an embedded SecantusDB.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis as redis_lib

from domain import bootstrap, storage
from domain.config import Settings, set_settings
from ops.embedded import EmbeddedServer, mongo_spec, redis_spec

TEST_DB = "inspection_test"


@dataclass
class Servers:
    data_dir: Path
    mongo_url: str
    mongo_db: str
    redis_url: str
    mongo: EmbeddedServer | None
    redis: EmbeddedServer | None
    real_mongod: bool


def _external_mongo() -> tuple[str, str] | None:
    uri = os.environ.get("TEST_MONGODB_URI")
    if not uri:
        return None
    db = urlparse(uri).path.lstrip("/") or os.environ.get("TEST_MONGODB_DB", "")
    if not db.endswith("_test"):
        raise pytest.UsageError(f"TEST_MONGODB_URI must name a database ending in _test (got {db!r}): tests empty it")
    return uri, db


def pytest_collection_modifyitems(config, items):
    """Tests marked ``mongod`` run only against a real MongoDB (TEST_MONGODB_URI)."""
    if os.environ.get("TEST_MONGODB_URI"):
        return
    skip = pytest.mark.skip(reason="needs a real mongod: set TEST_MONGODB_URI (a database whose name ends in _test)")
    for item in items:
        if "mongod" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> Servers:
    data_dir = tmp_path_factory.mktemp("data")
    external = _external_mongo()
    mongo = None
    if external:
        mongo_url, mongo_db = external
    else:
        mongo = EmbeddedServer(mongo_spec(data_dir, db=TEST_DB)).start()
        mongo_url, mongo_db = mongo.url, TEST_DB
    redis_srv = EmbeddedServer(redis_spec(data_dir)).start()
    yield Servers(data_dir, mongo_url, mongo_db, redis_srv.url, mongo, redis_srv, external is not None)
    redis_srv.stop()
    if mongo:
        mongo.stop()


@pytest.fixture(scope="session")
def settings(servers) -> Settings:
    s = Settings.from_env(
        app_env="test",
        data_dir=servers.data_dir,
        mongodb_uri=servers.mongo_url,
        mongodb_db=servers.mongo_db,
        redis_url=servers.redis_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        audit_key_file=servers.data_dir / "audit.key",
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        login_rate_limit="1000 per minute",
    )
    set_settings(s)
    s.audit_key()  # created once up front, not by whichever test audits first
    storage.connect(s.mongodb_uri, s.mongodb_db)
    bootstrap.wire()  # the same composition root as the app, the workers and the CLI
    storage.ensure_indexes()
    return s


@pytest.fixture(scope="session")
def redis_conn(settings) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(settings.redis_url)


@pytest.fixture(autouse=True)
def clean_state(request, settings, redis_conn):
    """Every test starts from empty collections (indexes kept) and an empty Redis."""
    db = storage.database()
    for name in db.list_collection_names():
        if not name.startswith("system."):
            db[name].delete_many({})
    redis_conn.flushdb()
    from api.messages import catalogue  # noqa: F401
    yield


@pytest.fixture(scope="session")
def app(settings):
    from api.app import create_app

    application = create_app(settings)
    application.testing = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


from tests.personas import world  # noqa: E402,F401  (the shared persona world fixture)
