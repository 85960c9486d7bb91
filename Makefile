# Two commands do all the set-up: `make dev` runs the bot, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/expense-bot dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.callbacks
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.evaluation
	$(BIN)/python -m bench.audit_chain
	$(BIN)/python -m bench.audit_verify

clean:
	rm -rf $(VENV) var *.egg-info .mypy_cache .ruff_cache .pytest_cache
