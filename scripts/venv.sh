#!/usr/bin/env bash
# Make ./.venv (once) and install a requirements file into it: `bash scripts/venv.sh requirements.txt`.
# A fresh Debian / Raspberry Pi OS has python3 without its venv module (package python3-venv):
# then that package is installed first (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/pip ]; then
  if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "python3-venv is missing: installing it with apt-get" >&2
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
  fi
  rm -rf .venv  # a half-made one (venv without pip) from an earlier failed try
  python3 -m venv .venv
fi

# pip takes seconds even when everything is installed: skip it while the requirements (the file and
# the files it includes with -r) are the ones last installed into this .venv.
requirements="${1:-requirements.txt}"
included=$(sed -n 's/^-r[[:space:]]*//p' "$requirements" | sed "s|^|$(dirname "$requirements")/|")
digest=$(cat "$requirements" $included | sha256sum | cut -d' ' -f1)
stamp=".venv/.installed-$(basename "$requirements").sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
  echo "$digest" >"$stamp"
fi
