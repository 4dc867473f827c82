"""Compatibility tests assert MongoDB's behaviour. On SecantusDB a difference that always shows is
``xfail(strict=True)`` (so a SecantusDB release that fixes it is noticed), and one that shows only
sometimes is skipped with the reason. With TEST_MONGODB_URI they all run against a real mongod."""
import pytest

from domain import storage


@pytest.fixture
def on_secantus(servers) -> bool:
    return not servers.real_mongod


@pytest.fixture
def db(settings):
    database = storage.database()
    yield database
    for name in database.list_collection_names():
        if name.startswith("compat_"):
            database.drop_collection(name)


def secantus_differs(request, on_secantus: bool, reason: str) -> None:
    if on_secantus:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"SecantusDB: {reason}"))
