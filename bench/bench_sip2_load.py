"""Load benchmark: N lock-step self-check terminals doing checkout+checkin cycles.

In one run it measures, each server in its own process:
  1. `ils-bridge serve --sip2` on SQLite (the hub: terminal login, codes, loans, routing, events);
  2. bench/sip2_ceiling.py: a bare asyncio SIP2 responder using our codec, no hub (the ceiling).
It prints transactions/s, p50/p99 latency, the server's peak RSS, the ratio hub/ceiling, and the
RSS cost of 1,000 idle connections to the hub. The load generator is a separate process of
raw asyncio sockets using our codec, so its own cost is the same for both servers.

    .venv/bin/python bench/bench_sip2_load.py [--terminals 50] [--seconds 10] [--idle 1000] [--profile] [--cpu]
        [--no-group-commit]

With --profile the hub runs under cProfile (slower: compare ratios without it) and the top of
its profile is printed after the numbers.

Targets (issue 3): ≥3,000 tx/s with 50 terminals, p99 ≤ 25 ms, ≥ 0.15 of the ceiling; 1,000
idle connections < 200 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from protocols.sip2 import (  # noqa: E402
    CheckinRequest,
    CheckoutRequest,
    CodecConfig,
    LoginRequest,
    decode,
    encode,
)

CFG = CodecConfig()
DATE = "20261125    120000"


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
    return proc, int(line.rsplit(":", 1)[1])


async def terminal(port: int, n: int, items: list[str], card: str, clock: Clock, lat: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def call(msg_bytes: bytes) -> bytes:
        writer.write(msg_bytes)
        return await reader.readuntil(b"\r")

    resp = await call(encode(LoginRequest.create(uid_algorithm="0", pwd_algorithm="0", CN=f"sc{n}", CO="secret99",
                                                 CP="XT", sequence=0), CFG))
    if decode(resp, CFG).ok != "1":  # type: ignore[attr-defined]
        raise SystemExit(f"login of sc{n} refused")
    deadline = await clock.ready()
    done, seq, i = 0, 1, 0
    while time.perf_counter() < deadline:
        item = items[i % len(items)]
        i += 1
        for msg in (
            CheckoutRequest.create(sc_renewal_policy="N", no_block="N", transaction_date=DATE, nb_due_date=DATE,
                                   AO="XT", AA=card, AB=item, sequence=seq % 10),
            CheckinRequest.create(no_block="N", transaction_date=DATE, return_date=DATE, AP="XT", AO="XT",
                                  AB=item, sequence=(seq + 1) % 10),
        ):
            t0 = time.perf_counter()
            data = await call(encode(msg, CFG))
            lat.append(time.perf_counter() - t0)
            if data[2:3] != b"1":
                raise SystemExit(f"transaction refused: {data[:200]!r}")
            done += 1
        seq += 2
    writer.close()
    return done


class Clock:
    """The timed window starts when every terminal has logged in (a login is not a circulation
    transaction; terminal passwords are a deliberately slow scrypt) and lasts ``seconds``."""

    def __init__(self, terminals: int, seconds: float, pid: int | None = None) -> None:
        self.waiting, self.seconds, self.pid = terminals, seconds, pid
        self.go = asyncio.Event()
        self.start = self.deadline = self.cpu = 0.0

    async def ready(self) -> float:
        self.waiting -= 1
        if self.waiting == 0:
            self.start = time.perf_counter()
            self.deadline = self.start + self.seconds
            self.cpu = cpu_seconds(self.pid) if self.pid else 0.0
            self.go.set()
        await self.go.wait()
        return self.deadline


async def load(port: int, terminals: int, seconds: float, per_terminal: dict[int, tuple[str, list[str]]],
               pid: int | None = None) -> dict[str, float]:
    lat: list[float] = []
    clock = Clock(terminals, seconds, pid)
    counts = await asyncio.gather(*(terminal(port, n, per_terminal[n][1], per_terminal[n][0], clock, lat)
                                    for n in range(terminals)))
    elapsed = time.perf_counter() - clock.start
    cpu = (cpu_seconds(pid) - clock.cpu) / sum(counts) if pid else 0.0
    lat.sort()
    return {"tps": sum(counts) / elapsed, "p50": lat[len(lat) // 2] * 1000, "p99": lat[int(len(lat) * 0.99)] * 1000,
            "n": float(sum(counts)), "cpu": cpu}


async def idle(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    for _ in range(count):
        _r, w = await asyncio.open_connection("127.0.0.1", port)
        writers.append(w)
    await asyncio.sleep(1.0)
    return writers


def setup_hub(env: dict[str, str], terminals: int, items_per_terminal: int, tmp: Path) -> dict[int, tuple[str, list[str]]]:
    def cli(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "ils_bridge", *args], env=env, check=True, capture_output=True, cwd=REPO)

    cli("init")
    cli("branch", "add", "CEN", "--name", "总馆", "--kind", "central")
    cli("branch", "add", "XT", "--name", "新塍")
    per: dict[int, tuple[str, list[str]]] = {}
    items_csv, patrons_csv = tmp / "items.csv", tmp / "patrons.csv"
    with items_csv.open("w", newline="") as f1, patrons_csv.open("w", newline="") as f2:
        wi, wp = csv.writer(f1), csv.writer(f2)
        wi.writerow(["barcode", "title"])
        wp.writerow(["card", "name"])
        for n in range(terminals):
            card = f"R{n:06d}"
            codes = [f"X{n:03d}{k:04d}" for k in range(items_per_terminal)]
            per[n] = (card, codes)
            wp.writerow([card, f"读者{n}"])
            for code in codes:
                wi.writerow([code, f"书{code}"])
    cli("item", "import", str(items_csv), "--library", "XT")
    cli("patron", "import", str(patrons_csv), "--library", "XT")
    for n in range(terminals):
        cli("terminal", "add", f"sc{n}", "--password", "secret99", "--library", "XT")
    return per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--terminals", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--profile", action="store_true", help="run the hub under cProfile and print the top")
    ap.add_argument("--no-group-commit", action="store_true",
                    help="also run the hub with --no-sip2-group-commit (one commit per transaction)")
    ap.add_argument("--cpu", action="store_true",
                    help="also print each server's CPU time per transaction (stable on a busy machine)")
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = {**os.environ, "PYTHONPATH": str(REPO), "ILS_BRIDGE_DB": f"sqlite:///{tmp / 'hub.sqlite3'}",
               "ILS_BRIDGE_SECRET": "bench-secret-0123456789abcdef"}
        env.pop("ILS_BRIDGE_DISABLE_PLUGINS", None)
        per = setup_hub(env, args.terminals, 20, tmp)

        ceiling_proc, cport = start_server([sys.executable, "bench/sip2_ceiling.py"], env)
        try:
            ceiling = asyncio.run(load(cport, args.terminals, args.seconds, per, ceiling_proc.pid))
            ceiling_rss = rss_kb(ceiling_proc.pid, "VmHWM")
        finally:
            ceiling_proc.kill()

        prof_path = tmp / "hub.prof"
        profiler = [sys.executable, "-m", "cProfile", "-o", str(prof_path)] if args.profile else [sys.executable]

        def run_hub(extra: list[str], idle_conns: int) -> tuple[dict[str, float], int, int, int]:
            hub_proc, hport = start_server([*profiler, "-m", "ils_bridge", "serve", "--sip2", "127.0.0.1:0", *extra], env)
            try:
                hub = asyncio.run(load(hport, args.terminals, args.seconds, per, hub_proc.pid))
                hub_rss = rss_kb(hub_proc.pid, "VmHWM")
                before = rss_kb(hub_proc.pid)

                async def idle_run() -> int:
                    writers = await idle(hport, idle_conns)
                    after = rss_kb(hub_proc.pid)
                    for w in writers:
                        w.close()
                    return after

                after = asyncio.run(idle_run())
            finally:
                if args.profile:  # cProfile writes its file when the server stops on SIGINT
                    hub_proc.send_signal(signal.SIGINT)
                    try:
                        hub_proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        hub_proc.kill()
                hub_proc.kill()
            return hub, hub_rss, before, after

        hub, hub_rss, before, after = run_hub([], args.idle)
        single = run_hub(["--no-sip2-group-commit"], 0) if args.no_group_commit else None
        stats = pstats.Stats(str(prof_path)) if args.profile and prof_path.exists() else None

    print(f"{args.terminals} terminals, {args.seconds:.0f} s, checkout+checkin cycles (each counted as 2 transactions)")
    for name, r, rss in (("hub (ils-bridge serve, SQLite)", hub, hub_rss), ("ceiling (bare codec responder)", ceiling, ceiling_rss)):
        print(f"  {name:32} {r['tps']:8,.0f} tx/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms   peak RSS {rss / 1024:6.1f} MB")
    if single is not None:
        r, rss = single[0], single[1]
        print(f"  {'hub, one commit per transaction':32} {r['tps']:8,.0f} tx/s   p50 {r['p50']:6.2f} ms   "
              f"p99 {r['p99']:6.2f} ms   peak RSS {rss / 1024:6.1f} MB")
    print(f"  ratio hub/ceiling: {hub['tps'] / ceiling['tps']:.2f}")
    print(f"  {args.idle} idle connections: +{(after - before) / 1024:.1f} MB RSS on the hub ({after / 1024:.1f} MB total)")
    if args.cpu:  # over the timed window (after the logins)
        extra = f", hub with one commit per transaction {single[0]['cpu'] * 1e6:.0f} µs" if single is not None else ""
        print(f"  server CPU per transaction: hub {hub['cpu'] * 1e6:.0f} µs, ceiling {ceiling['cpu'] * 1e6:.0f} µs{extra}")
    if stats is not None:
        print("\nhub profile (cProfile, whole run):")
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
