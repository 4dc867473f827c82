# The two commands: `make run` (the whole service with demo data) and `make test`.
# Both create the virtual environment themselves from pyproject.toml; nothing else is needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench clean-data help

help:
	@echo "make run    - start MongoDB/Redis (embedded unless MONGODB_URI/REDIS_URL), API, worker, scheduler, demo data"
	@echo "make test   - run the whole test suite"
	@echo "make bench  - run the benchmarks under bench/"

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s); set PYTHON=" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.deps: pyproject.toml $(VENV)/.python-ok
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.deps-test: pyproject.toml $(VENV)/.deps
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

run: $(VENV)/.deps
	$(PY) -m ops.run

# Two workers, each taking whole files (module-scoped services stay in one process); each worker
# starts its own SecantusDB and redis-server. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: $(VENV)/.deps-test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(VENV)/.deps-test
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-data:
	rm -rf var
