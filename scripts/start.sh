#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and starts avatar-care on its embedded default: one process, SQLite
# in ./data. Arguments go to `avatar-care serve`,
# e.g. scripts/start.sh --host 0.0.0.0 --port 8000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/avatar-care serve "$@"
