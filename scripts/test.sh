#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh --dev), then runs the whole check: lint, types, the pages'
# unit tests, all Python tests.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/rigging -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
. .venv/bin/activate
ruff check .
ruff format --check rigging rooms avatar_care tests benchmarks scripts
mypy
mypy benchmarks/retarget.py
(cd web_client && npm test --silent)   # the pages' own unit tests (node --test)
# two workers: the Chromium tests on one, one after the other; every other file whole on either (tests/conftest.py)
pytest -n "${TEST_WORKERS:-2}" --dist loadscope "$@"
