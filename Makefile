# The two commands: `make run` (paper daemon, offline, built-in market) and `make test` (ruff, mypy, pytest).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hedgebot run $(ARGS)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# the suite runs on every core (pytest-xdist); the slow end-to-end tests are spread over the workers
PYTEST_ARGS ?= -n auto --dist worksteal

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/estimators.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
