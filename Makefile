# Two commands do all the set-up: `make dev` runs the bot, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
# Every dependency is pinned here; `make lock` refreshes it from pyproject.toml.
LOCK := requirements.lock

.PHONY: dev test test-fast lint bench bench-observability install lock clean browser

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/expense-bot dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest

# The auditor page's test drives Debian's chromium (never a downloaded browser build).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "The auditor page test needs Debian's chromium. Run: sudo apt-get install -y chromium" >&2; \
			exit 1; \
		fi; \
	fi

# The edit-test loop: domain, services and adapter tests; no API or worker processes.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e and not slow" -q -n 2

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --upgrade -o $(LOCK)

bench: $(STAMP)
	$(BIN)/python -m bench.callbacks
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.evaluation
	$(BIN)/python -m bench.audit_chain
	$(BIN)/python -m bench.audit_verify
	$(BIN)/python -m bench.audit_export

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# A 60 s load run watched by Prometheus (Debian's `prometheus`), drawn to observability/load-run.png.
bench-observability: $(BENCH_STAMP)
	$(BIN)/python -m bench.observability

clean:
	rm -rf $(VENV) var *.egg-info .mypy_cache .ruff_cache .pytest_cache
