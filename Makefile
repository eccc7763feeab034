# The two commands of the Quick start: `make demo` and `make test`.
# Each creates .venv on first use and installs the project into it; nothing else is needed but Python 3.11+.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= icploop-demo
WORKSPACE ?= $(DEMO_DIR)/workspace

.PHONY: demo test test-full check lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

## The main job on the built-in demo company: generate, load, summarise (embedded stores only).
demo: $(STAMP)
	$(BIN)/icploop demo run --dir $(DEMO_DIR) --workspace $(WORKSPACE)

## The test suite: everything but the full matrices (a representative cut of each runs here).
test: $(STAMP)
	$(BIN)/pytest -q -m "not matrix"

## The test suite with the full matrices (data shapes, null-calibration runs).
test-full: $(STAMP)
	$(BIN)/pytest -q

## Lint, format check, types and the analytics/I-O boundary.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
