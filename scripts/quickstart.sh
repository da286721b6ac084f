#!/usr/bin/env bash
# README command (1): install ils-bridge into .venv and run it on the embedded default
# (an SQLite file under the user data directory; no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv || {
    echo "python3 -m venv failed: on Debian/Ubuntu install it with: apt-get install python3-venv" >&2
    exit 1
  }
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet .
echo "== ils-bridge $(.venv/bin/ils-bridge --version | awk '{print $NF}') installed in .venv"
.venv/bin/ils-bridge init
.venv/bin/ils-bridge demo
echo "== the cluster"
.venv/bin/ils-bridge branch list
.venv/bin/ils-bridge item list --limit 6
echo "== health"
.venv/bin/ils-bridge doctor
