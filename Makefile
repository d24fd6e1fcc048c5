# The two commands of the README: `make run` (set up, then run Crier) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup run sandbox serve test lint
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The sandbox: the whole flow in a browser at http://127.0.0.1:8080, no Slack workspace needed.
run: setup
	$(BIN)/crier sandbox

sandbox: run

serve: setup
	$(BIN)/crier serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest
