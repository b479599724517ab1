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

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

find_chromium() {
  for candidate in "${PLAYWRIGHT_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium || true)" \
                   "$(command -v chromium-browser || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}
if ! find_chromium >/dev/null; then
  echo "Chromium not found: installing Debian's chromium package for the browser tests..."
  apt_install chromium
fi
if ! CHROMIUM="$(find_chromium)"; then
  echo "ERROR: no Chromium browser found. Install Debian's 'chromium' package or set PLAYWRIGHT_CHROMIUM." >&2
  exit 1
fi
export PLAYWRIGHT_CHROMIUM="$CHROMIUM"
echo "Browser tests use $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

# the PostgreSQL tests start their own throwaway server from Debian's postgresql binaries
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  echo "PostgreSQL server binaries not found: installing Debian's postgresql package for the database tests..."
  apt_install postgresql
fi
# the scale-out tests start their own throwaway Redis from Debian's redis-server
if ! command -v redis-server >/dev/null; then
  echo "redis-server not found: installing Debian's redis-server package for the scale-out tests..."
  apt_install redis-server
fi
# ... and HAProxy running deploy/haproxy.cfg in front of two app processes
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  echo "haproxy not found: installing Debian's haproxy package for the scale-out tests..."
  apt_install haproxy
fi

# the accessibility test runs axe-core (from the npm registry) inside the pages: Node.js's npm installs it
if ! command -v npm >/dev/null; then
  echo "npm not found: installing Debian's npm package for the accessibility test..."
  apt_install npm
fi
if [ ! -f tests/e2e/axe/node_modules/axe-core/axe.min.js ]; then
  npm ci --prefix tests/e2e/axe --no-audit --no-fund --silent
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q --ignore=tests/e2e -m "not browser" "$@"
.venv/bin/python -m pytest -q tests/e2e "$@"
.venv/bin/python -m pytest -q -m browser tests/security "$@"  # its own run: one Playwright per process
