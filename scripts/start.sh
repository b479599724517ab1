#!/usr/bin/env bash
# Install the platform into .venv and start it on its embedded defaults (SQLite + Milvus Lite in ./data).
# Settings come from the environment or .env (see .env.example). Needs Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/python app.py "$@"
