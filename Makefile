# The two commands a newcomer needs: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check clean bench screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## the whole system: Temporal dev server, worker, API (SQLite read model)
	$(BIN)/oms up

test: $(STAMP)  ## the test suite: domain, activities, workflows, API over real HTTP
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	@echo "== the workflow suites again, with the worker's workflow cache disabled (every step replays)"
	OMS_TEST_MAX_CACHED_WORKFLOWS=0 $(BIN)/python -m pytest -q -m "not load" tests/workflows tests/api

screenshots: $(STAMP)  ## refresh the README's console screenshots (docs/screenshots/) on purpose
	OMS_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/console/test_browser.py

bench: $(STAMP)  ## the benchmark (docs/performance.md); BENCH_ARGS="--orders 100" for a short one
	$(BIN)/python -m bench run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
