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

# The main job: the hub serving self-check machines. Start it on a free loopback port, let a
# (simulated) self-check machine at the 新塍 branch lend and take back a book of the central
# library — the answer tells the machine to send it home (CV 04, CT CEN) — then stop it.
echo "== ils-bridge serve, with a self-check machine at XT"
.venv/bin/ils-bridge terminal list --json | grep -q '"demo-xt"' ||
  .venv/bin/ils-bridge terminal add demo-xt --password demo-pass --library XT --allow 127.0.0.1/32
log="$(mktemp)"
.venv/bin/ils-bridge serve --sip2 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "listening: sip2" "$log" && break; sleep 0.1; done
port="$(grep -o 'sip2 on 127.0.0.1:[0-9]*' "$log" | cut -d: -f2)"
[ -n "$port" ] || { cat "$log" >&2; exit 1; }
cat "$log"
sc=(--to "127.0.0.1:$port" --login demo-xt --password demo-pass)
.venv/bin/ils-bridge sip2 checkout "${sc[@]}" P0000001 C0000003
.venv/bin/ils-bridge sip2 checkin "${sc[@]}" C0000003
kill "$pid"; wait "$pid" 2>/dev/null || true
echo "== done. Run the hub for real with:  .venv/bin/ils-bridge serve   (SIP2 on port 6001)"
