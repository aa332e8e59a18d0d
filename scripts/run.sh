#!/usr/bin/env bash
# The README's first command: install Module Gaze into ./.venv and run the dashboard on embedded
# defaults — SQLite and files under ./data, port 3002, and a simulated classroom labelled "demo data"
# (kept under ./data/demo, never in MODULEFETCH_LOG_DIR). Settings from the environment still apply:
# e.g. MODULEGAZE_DEMO=auto to follow this machine's oc4d journal instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements.txt
export MODULEGAZE_DEMO="${MODULEGAZE_DEMO:-on}"
export MODULEFETCH_LOG_DIR="${MODULEFETCH_LOG_DIR:-data/logs}"
exec .venv/bin/python main.py "$@"
