#!/usr/bin/env bash
# README command (2): install everything the tests need, then run the whole suite
# (ruff, mypy --strict, pytest with the property, interop and PostgreSQL tests).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k sip2`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

# --- system packages: the real protocol peers (yaz-client, zoomsh, yaz-ztest, yaz-marcdump)
missing=()
command -v yaz-client >/dev/null 2>&1 || missing+=(yaz)
"$PY" -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "!! not root (or no apt-get): install ${missing[*]} yourself, e.g. sudo apt-get install ${missing[*]};" >&2
    echo "!! until then the tests that need them are skipped with that reason" >&2
  fi
fi

# --- PostgreSQL for the dual-database and race tests
export ILS_BRIDGE_TEST_PG="${ILS_BRIDGE_TEST_PG:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
if [ "${CI:-}" = "true" ]; then
  export ILS_BRIDGE_REQUIRE_PG=1   # in CI a missing PostgreSQL is a failure, not a skip
fi

# --- Python packages
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev,postgres]'

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy --strict (ils_bridge, protocols)"
.venv/bin/mypy
echo "== pytest"
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
exec .venv/bin/pytest -n 2 -m "not slow" "$@"
