#!/usr/bin/env bash
# Install the platform with its test extras into .venv, make sure a Chromium is there for the browser tests
# (Debian's package, installed with apt if missing), then run the whole suite: lint, unit + UI + API tests, and the
# browser tests (a separate pytest run: Playwright's sync API and pytest-asyncio must not share a process).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

find_chromium() {
  for candidate in "${PLAYWRIGHT_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium || true)" \
                   "$(command -v chromium-browser || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}
if ! find_chromium >/dev/null; then
  echo "Chromium not found: installing Debian's chromium package for the browser tests..."
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! CHROMIUM="$(find_chromium)"; then
  echo "ERROR: no Chromium browser found. Install Debian's 'chromium' package or set PLAYWRIGHT_CHROMIUM." >&2
  exit 1
fi
export PLAYWRIGHT_CHROMIUM="$CHROMIUM"
echo "Browser tests use $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q --ignore=tests/e2e "$@"
.venv/bin/python -m pytest -q tests/e2e "$@"
