#!/usr/bin/env bash
# Install what the tests need (Debian packages, a virtualenv with requirements-dev.txt) and run them.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k sessions`.
set -euo pipefail
cd "$(dirname "$0")/.."

installed() { [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]; }  # a Debian package
need=()
[ -x /lib/systemd/systemd-journal-remote ] || need+=(systemd-journal-remote)
command -v journalctl >/dev/null || need+=(systemd)
[ -x /usr/bin/chromium ] || need+=(chromium)
# Playwright's driver (a node binary in its wheel) needs libatomic.so.1, which a minimal Debian
# lacks and chromium does not bring (scripts/fresh-root-check.sh checks the list on such a root).
installed libatomic1 || need+=(libatomic1)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

bash scripts/venv.sh requirements-dev.txt
if [ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && [ -z "${PYTHONPYCACHEPREFIX:-}" ]; then
  # No __pycache__ in the source tree, as asked, but bytecode kept in .venv: compiling every module
  # (and pytest rewriting every test file) again in each test process costs seconds a run.
  unset PYTHONDONTWRITEBYTECODE
  export PYTHONPYCACHEPREFIX="$PWD/.venv/pycache"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy --strict gaze/
.venv/bin/mypy main.py pages components bench
exec .venv/bin/python -m pytest "$@"
