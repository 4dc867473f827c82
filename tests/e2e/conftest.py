"""End-to-end fixtures: the whole service, started as `make run` starts it."""
from tests.e2e.harness import service  # noqa: F401
