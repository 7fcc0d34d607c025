# The two commands: `make demo` (install, then run the demo) and `make test` (install, then every
# test suite, mypy and ruff). Both create .venv on first use; later runs skip the install until a
# pyproject.toml changes.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-install
SDK := $(wildcard python_sdk/pyproject.toml)
CHROMIUM := /usr/bin/chromium
# The first interpreter that is Python 3.11 or newer (override with `make PYTHON=...`).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)

.PHONY: help install demo test lint mypy ruff skipped chromium js clean translations

help:
	@echo "make demo   install into .venv and run the demo on http://127.0.0.1:$${VITRINE_PORT:-8000}/"
	@echo "make test   install, then run pytest (all suites), mypy and ruff"
	@echo "make lint   mypy and ruff only"
	@echo "make clean  remove .venv, caches and var/"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "make: Vitrine needs Python 3.11 or newer (python3)"; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml $(SDK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' \
		$(if $(SDK),-e ./python_sdk)
	@touch $@

install: $(STAMP)

demo: install
	$(BIN)/vitrine demo

# Debian's chromium for the browser tests; Playwright never downloads a browser here.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	else \
		echo "No $(CHROMIUM) and not root: the browser tests will be skipped"; \
	fi

# sdk_js's build tools (esbuild), so the stale-build test can rebuild the committed counter.js.
js:
	@if [ sdk_js/node_modules/.package-lock.json -nt sdk_js/package-lock.json ]; then :; \
	elif command -v npm >/dev/null; then \
		npm ci --prefix sdk_js --no-audit --no-fund --loglevel=error; \
	else \
		echo "No npm: the stale-build test of sdk_js will be skipped (it fails on CI)"; \
	fi

# The suite runs on every core (pytest-xdist); a file's tests stay on one worker, so each browser
# module starts Chromium once. `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= auto

test: install chromium js
	@status=0; \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile || status=1; \
	$(MAKE) --no-print-directory -k mypy ruff || status=1; \
	$(MAKE) --no-print-directory skipped; \
	if [ $$status = 0 ]; then echo "make test: passed"; else echo "make test: FAILED"; fi; \
	exit $$status

lint: install
	@$(MAKE) --no-print-directory -k mypy ruff

mypy:
	$(BIN)/mypy

ruff:
	$(BIN)/ruff check .

# What pytest's "SKIPPED" lines mean in one line each.
skipped:
	@[ -n "$$VITRINE_TEST_POSTGRES_URL" ] || echo "PostgreSQL suite skipped: set VITRINE_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
	@[ -n "$$VITRINE_TEST_REDIS_URL" ] || echo "Redis suite skipped: set VITRINE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)"
	@[ -x $(CHROMIUM) ] || echo "Browser suite skipped: no $(CHROMIUM) (make test installs it when run as root)"

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache test-artifacts *.egg-info python_sdk/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# After changing user-facing text: refresh the template and both catalogs, then translate what
# `make test` reports as missing (fuzzy or empty) in widget_server/locale/{fr,ru}.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -o widget_server/locale/messages.pot \
		--no-location --omit-header --sort-output widget_server
	$(BIN)/pybabel update -i widget_server/locale/messages.pot -d widget_server/locale
