#!/usr/bin/env bash
# The whole suite: lint, types, unit + integration + e2e on SQLite, PostgreSQL integration tests
# against a throwaway cluster, and Playwright browser tests in Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"

"$VENV/bin/ruff" check src lab tests benchmarks
"$VENV/bin/mypy"
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet  # docs: broken links or generators fail here

# Throwaway PostgreSQL on a private socket dir and port; stopped on exit.
source scripts/pg-cluster.sh

export SOBERPAY_TEST_REQUIRE_ALL=1  # in make test, a missing browser or database is a failure, not a skip
"$PY" -m pytest -q -m "not slow" "$@"
