#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and starts avatar-care on its embedded default: one process, SQLite
# in ./data, and a demo room whose built-in operator replays a recorded session: open the printed
# customer URL. Arguments go to `avatar-care demo`,
# e.g. scripts/start.sh --host 0.0.0.0 --port 8000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/avatar-care demo "$@"
