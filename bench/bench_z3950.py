"""Benchmark: our Z39.50 target over a 100,000-record catalogue, beside yaz-ztest (and Zebra).

Builds (or reuses, ``--db``) a SQLite catalogue of N synthetic records
(``bench_catalogue_import.record``: Chinese titles; the CNMARC ones, ISBN-10 in 010, as most
of a Chinese public library's catalogue is), then in the same run drives, with the same C client (``yaz-client -f script``, output
discarded) and the same query list:

1. ``ils-bridge serve --z3950 127.0.0.1:0`` over that catalogue (a separate process, as deployed),
   in one process, and for the parallel part also with ``--z3950-workers`` (``--workers``,
   default 2: this process plus forked workers sharing the socket, as yaz-ztest and zebrasrv
   fork one process per connection);
2. ``yaz-ztest`` (YAZ's dummy target in C: no database at all);
   and our own protocol stack with a no-op backend ("proto-floor"), to tell the cost of
   ``protocols.z3950`` from the cost of the catalogue;
3. ``zebrasrv`` over the same records indexed by ``zebraidx`` (``grs.marc`` with a small
   UNIMARC abstract syntax: 010 ISBN, 200 title, 701 author, 210 publisher), if
   ``idzebra-2.0`` is installed (``--no-zebra`` skips it). Zebra indexes the records' UTF-8
   bytes as they are, so its yaz-client scripts do not negotiate a character set (with UTF-8
   negotiated its terms are converted and nothing is found). Its default configuration then
   finds the author queries (a name is one word) but no Chinese word inside a longer title (a
   title is one word) and no ISBN (its word index splits the ISBN at its hyphens): about 30 %
   of this mix, so its figure is indicative only.

Workload: ``--ops`` (default 5,000) sequential search + present(3 records, UNIMARC) over one connection; then the same total split over ``--clients`` (default 8) parallel
connections. Queries: a 2–4 character CJK title prefix of a stored title (40 %), a stored
author's name (30 %), a stored ISBN in ISBN-10 or ISBN-13 form (30 %). Prints the time of each
server and the ratios (target: ours ≤ 1.2 × yaz-ztest), and each server's CPU time per operation
(user + system, read from ``/proc``; a forking server's children included), which unlike the
wall times does not move with other load on a shared machine.

    .venv/bin/python bench/bench_z3950.py [--records 100000] [--ops 5000] [--clients 8]
        [--workers 2] [--db PATH] [--no-zebra]

Everything listens on 127.0.0.1 with ephemeral ports; servers are stopped by PID.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_catalogue_import import record  # noqa: E402

from ils_bridge.catalogue.store import Catalogue  # noqa: E402
from ils_bridge.store import migrate  # noqa: E402
from ils_bridge.store.engine import open_store  # noqa: E402
from tests.procs import child_pids, listening_port, stop  # noqa: E402

ZEBRA_CFG = """\
profilePath: {zdir}:{tab}
modulePath: {modules}
recordType: grs.marc.unimarc
attset: bib1.att
register: {zdir}/reg:4G
shadow: {zdir}/shadow:1G
"""

#: A minimal Zebra abstract syntax for CNMARC/UNIMARC (Zebra ships MARC21 ones only).
UNIMARC_ABS = """\
name unimarc
reference UNIMARC
attset bib1.att
tagset usmarc.tag
marc usmarc.mar
esetname F @
esetname B @
all any
elm 010\t\tISBN\t-
elm 010/?\tISBN\t-
elm 010/?/a\tISBN\t!:w
elm 200\t\ttitle\t-
elm 200/?\ttitle\t-
elm 200/?/a\ttitle\t!:w,!:p
elm 701\t\tAuthor\t-
elm 701/?\tAuthor\t-
elm 701/?/a\tAuthor\t!:w,!:p
elm 210\t\tPublisher\t-
elm 210/?\tPublisher\t-
elm 210/?/c\tPublisher\t!:w
"""


def write_cnmarc(path: Path, n: int, seed: int = 20261125) -> None:
    """N distinct synthetic CNMARC records (the even ones of ``bench_catalogue_import``)."""
    rng = random.Random(seed)
    with path.open("wb") as fh:
        for i in range(n):
            fh.write(record(2 * i, rng))


def build(db: Path, n: int, workdir: Path) -> Path:
    """The catalogue at ``db`` with at least ``n`` records; returns the MARC file used."""
    store = open_store(f"sqlite:///{db}")
    migrate.upgrade(store)
    cat = Catalogue(store)
    marc = workdir / f"synthetic-cnmarc-{n}.mrc"
    if not marc.exists():
        write_cnmarc(marc, n)
    have = cat.count()
    if have >= n:
        print(f"reusing {db} ({have:,} records)")
    else:
        t0 = time.perf_counter()
        summary = cat.import_records([marc])
        took = time.perf_counter() - t0
        print(f"built {summary.new:,} records in {took:.1f} s")
    store.dispose()
    return marc


def queries(db: Path, count: int, seed: int = 7) -> list[str]:
    """PQF queries taken from stored records (each finds at least one)."""
    import sqlalchemy as sa

    store = open_store(f"sqlite:///{db}")
    with store.read() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT title, author, isbn FROM bibs WHERE marc IS NOT NULL "
                "ORDER BY id LIMIT 20000"
            )
        ).all()
    store.dispose()
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        title, author, isbn = rng.choice(rows)
        kind = rng.random()
        if kind < 0.4 or not (author or isbn):
            term = title[: rng.randint(2, 4)]
            out.append(f'@attr 1=4 "{term}"')
        elif kind < 0.7 and author:
            out.append(f'@attr 1=1003 "{author}"')
        elif isbn:
            if rng.random() < 0.5 and isbn.startswith("978"):
                body = isbn[3:12]
                c = (11 - sum((10 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
                isbn = body + ("X" if c == 10 else str(c))
            out.append(f"@attr 1=7 {isbn}")
        else:
            out.append(f'@attr 1=4 "{title[:2]}"')
    return out


def script(
    path: Path, port: int, database: str, qs: list[str], syntax: str, negotiate: bool = True
) -> Path:
    lines = ["charset UTF-8"] if negotiate else []
    lines += [f"open tcp:127.0.0.1:{port}/{database}", f"format {syntax}"]
    for q in qs:
        lines += [f"find {q}", "show 1+3"]
    lines += ["close", "quit"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and of its children, those it has waited for
    and those still running (yaz-ztest and zebrasrv fork one per connection, ours
    ``--z3950-workers`` - 1): unlike wall time, it does not count the client or other load on
    a shared machine."""
    total = 0.0
    for each in [pid, *child_pids(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            if each == pid:
                return float("nan")
            continue
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def own_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each of its running children, each on its own (not
    counting children waited for): the busiest one bounds a multi-process server's speed."""
    out = {}
    for each in [pid, *child_pids(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            out[each] = sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    return out


def drive(scripts: list[Path]) -> tuple[float, list[str]]:
    """Run one yaz-client per script at once; wall time and outputs (for a sanity check)."""
    tool = shutil.which("yaz-client")
    assert tool is not None
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [tool, "-f", str(s)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        for s in scripts
    ]
    outs = [p.communicate()[0].decode("utf-8", "replace") for p in procs]
    return time.perf_counter() - t0, outs


@contextlib.contextmanager
def ours(db: Path, workdir: Path, workers: int = 1) -> Iterator[tuple[int, int]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ILS_BRIDGE_DB": f"sqlite:///{db}",
        "XDG_DATA_HOME": str(workdir / "xdg"),
    }
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ils_bridge", "serve", "--z3950", "127.0.0.1:0",
            "--z3950-workers", str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("listening: z3950 on"):
            raise RuntimeError(f"ils-bridge serve said {line!r}")
        yield int(line.rsplit(":", 1)[1]), proc.pid
    finally:
        stop(proc, 10)


def serve_floor(marc: Path) -> None:
    """Our protocol stack with a no-op backend (fixed hits, records from ``marc``): the cost
    of ``protocols.z3950`` alone, without the catalogue."""
    import asyncio

    from protocols.z3950 import oids
    from protocols.z3950.target import (
        PresentResult,
        RetrievalRecord,
        SearchResult,
        TargetConfig,
        Z3950Target,
    )

    recs = [r + b"\x1d" for r in marc.read_bytes().split(b"\x1d")[:50] if r]

    class Floor:
        def databases(self) -> tuple[str, ...]:
            return ("union",)

        def record_syntaxes(self) -> tuple[str, ...]:
            return (oids.UNIMARC, oids.USMARC)

        async def init(self, context: object) -> None:
            return None

        async def search(self, query: object) -> SearchResult:
            return SearchResult(hits=10)

        async def present(self, q: Any) -> PresentResult:
            return PresentResult(
                tuple(RetrievalRecord(recs[i % len(recs)], q.syntax) for i in range(q.count))
            )

    async def main() -> None:
        target = Z3950Target(Floor(), TargetConfig(max_result_sets=100_000))
        await target.start("127.0.0.1", 0)
        print(f"listening: z3950 on 127.0.0.1:{target.port}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@contextlib.contextmanager
def floor(marc: Path) -> Iterator[tuple[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-floor", str(marc)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("listening: z3950 on"):
            raise RuntimeError(f"floor server said {line!r}")
        yield int(line.rsplit(":", 1)[1]), proc.pid
    finally:
        stop(proc, 10)


@contextlib.contextmanager
def ztest(workdir: Path) -> Iterator[tuple[int, int]]:
    tool = shutil.which("yaz-ztest")
    if tool is None:
        raise SystemExit("yaz-ztest is not installed (apt-get install yaz)")
    proc = subprocess.Popen(
        [tool, "-l", str(workdir / "ztest.log"), "tcp:127.0.0.1:0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield listening_port(proc.pid, time.monotonic() + 10), proc.pid
    finally:
        stop(proc, 10)


@contextlib.contextmanager
def zebra(marc: Path, workdir: Path) -> Iterator[tuple[int, int] | None]:
    zebraidx, zebrasrv = shutil.which("zebraidx"), shutil.which("zebrasrv")
    if zebraidx is None or zebrasrv is None:
        yield None
        return
    tab = Path("/usr/share/idzebra-2.0/tab")
    modules = next(Path("/usr/lib").glob("*/idzebra-2.0/modules"), None) or Path(
        "/usr/lib/idzebra-2.0/modules"
    )
    zdir = workdir / "zebra"
    if not (zdir / "done").exists():
        shutil.rmtree(zdir, ignore_errors=True)
        (zdir / "reg").mkdir(parents=True)
        (zdir / "shadow").mkdir()
        (zdir / "zebra.cfg").write_text(ZEBRA_CFG.format(zdir=zdir, tab=tab, modules=modules))
        (zdir / "unimarc.abs").write_text(UNIMARC_ABS)
        for step in (["init"], ["update", str(marc)], ["commit"]):
            subprocess.run(
                [zebraidx, "-c", "zebra.cfg", "-l", "/dev/null", *step], cwd=zdir, check=True
            )
        (zdir / "done").touch()
    proc = subprocess.Popen(
        [zebrasrv, "-c", "zebra.cfg", "-l", str(zdir / "srv.log"), "tcp:127.0.0.1:0"],
        cwd=zdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield listening_port(proc.pid, time.monotonic() + 20), proc.pid
    finally:
        stop(proc, 10)


class Result(NamedTuple):
    seq: float  # wall seconds, sequential
    par: float  # wall seconds, parallel clients
    sanity: str
    seq_cpu: float  # server CPU seconds, sequential
    par_cpu: float
    par_busiest: float  # CPU seconds of the busiest server process, parallel (ours only)


def run(
    name: str,
    server: tuple[int, int],
    database: str,
    qs: list[str],
    clients: int,
    workdir: Path,
    syntax: str = "unimarc",
    sequential: bool = True,
    negotiate: bool = True,
) -> Result:
    """Time the sequential part, then the parallel one. Without ``sequential`` the parallel
    part runs twice and the second run is timed: like the parallel part after a sequential
    one, it then finds the server's caches warm. The sanity line counts the sequential
    outputs, else the parallel ones."""
    port, pid = server
    seq, out = float("nan"), ""
    c0 = c1 = cpu_seconds(pid)
    if sequential:
        one = script(workdir / f"{name}-seq.cmd", port, database, qs, syntax, negotiate)
        seq, (out,) = drive([one])
        time.sleep(0.2)  # let a forking server reap the connection's child
        c1 = cpu_seconds(pid)
        (workdir / f"{name}-seq.out").write_text(out, encoding="utf-8")
    per = (len(qs) + clients - 1) // clients
    scripts = [
        script(
            workdir / f"{name}-par{i}.cmd",
            port,
            database,
            qs[i * per : (i + 1) * per],
            syntax,
            negotiate,
        )
        for i in range(clients)
    ]
    if not sequential:
        drive(scripts)  # warm-up (untimed)
        c1 = cpu_seconds(pid)
    before = own_cpu(pid)
    par, outs = drive(scripts)
    time.sleep(0.2)
    c2 = cpu_seconds(pid)
    after = own_cpu(pid)
    busiest = max((t - before[p] for p, t in after.items() if p in before), default=float("nan"))
    if not sequential:
        out = "".join(outs)
    hits = out.count("Number of hits: ") - out.count("Number of hits: 0,")
    records = out.count("Record type: ")
    diag = out.count("Diagnostic message")
    sanity = f"{hits:,} searches with hits, {records:,} records, {diag:,} diagnostics"
    return Result(seq, par, sanity, c1 - c0, c2 - c1, busiest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--ops", type=int, default=5_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument(
        "--workers", type=int, default=2,
        help="--z3950-workers of our target in the parallel part, besides 1 (default 2)",
    )
    ap.add_argument("--db", type=Path, help="catalogue to build or reuse (default: a temp dir)")
    ap.add_argument("--no-zebra", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep scripts and client outputs in this directory")
    ap.add_argument("--serve-floor", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return
    with tempfile.TemporaryDirectory(prefix="bench-z3950-") as tmp:
        workdir = Path(tmp) if args.keep is None else args.keep
        workdir.mkdir(parents=True, exist_ok=True)
        db = args.db or workdir / "catalogue.sqlite3"
        cache = db.parent
        marc = build(db, args.records, cache)
        qs = queries(db, args.ops)
        print(
            f"{args.ops:,} search+present(3) ops, sequential on one connection, "
            f"then over {args.clients} parallel connections"
        )
        results: dict[str, Result] = {}
        with ztest(workdir) as server:
            results["yaz-ztest"] = run("ztest", server, "Default", qs, args.clients, workdir)
        with floor(marc) as server:
            results["proto-floor"] = run("floor", server, "union", qs, args.clients, workdir)
        with ours(db, workdir) as server:
            results["ils-bridge"] = run("ours", server, "union", qs, args.clients, workdir)
        multi = f"ils-bridge w{args.workers}"
        if args.workers > 1:
            with ours(db, workdir, args.workers) as server:
                results[multi] = run(
                    f"ours-w{args.workers}", server, "union", qs, args.clients, workdir,
                    sequential=False,
                )
        if not args.no_zebra:
            with zebra(marc, cache) as zserver:
                if zserver is None:
                    print("zebrasrv: not installed (apt-get install idzebra-2.0)")
                else:
                    # Zebra's grs.marc filter presents what it indexed as USMARC. It indexes
                    # the records' UTF-8 bytes as they are: a client that negotiates UTF-8 gets
                    # its terms converted and finds nothing, so the yaz-client scripts for
                    # zebrasrv do not negotiate (the terms then go as the same UTF-8 bytes).
                    results["zebrasrv"] = run(
                        "zebra", zserver, "Default", qs, args.clients, workdir,
                        syntax="usmarc", negotiate=False,
                    )
        if multi in results:
            print(
                f"{multi}: ils-bridge serve --z3950-workers {args.workers} "
                "(parallel part only, timed after an untimed warm-up run)"
            )
        for name, r in results.items():
            seq = (
                f"sequential {r.seq:7.2f} s ({args.ops / r.seq:7,.0f} ops/s)"
                if r.seq == r.seq
                else f"sequential {'-':>7}   {'':15}"
            )
            print(
                f"{name:13} {seq}   "
                f"{args.clients} clients {r.par:7.2f} s ({args.ops / r.par:7,.0f} ops/s)   "
                f"[{r.sanity}]"
            )
        for name, r in results.items():
            seq_cpu = f"{1e6 * r.seq_cpu / args.ops:6.0f} us" if r.seq == r.seq else f"{'-':>6}   "
            print(
                f"{name:13} server CPU per op: sequential {seq_cpu}, "
                f"{args.clients} clients {1e6 * r.par_cpu / args.ops:6.0f} us"
            )
        for name in ("ils-bridge", multi):
            if name in results:
                r = results[name]
                print(
                    f"{name:13} busiest server process, {args.clients} clients: "
                    f"{r.par_busiest:5.2f} s CPU of {r.par_cpu:5.2f} s (a bound on its wall time "
                    "that other load on the machine does not move)"
                )
        base = results["yaz-ztest"]
        mine = results["ils-bridge"]
        print(
            f"ratio ils-bridge / yaz-ztest: sequential {mine.seq / base.seq:.2f}x (1 process), "
            f"parallel {mine.par / base.par:.2f}x with 1 process"
            + (
                f", {results[multi].par / base.par:.2f}x with --z3950-workers {args.workers}"
                if multi in results
                else ""
            )
            + " (target <= 1.2x)"
        )
        f = results["proto-floor"]
        print(
            f"ratio proto-floor / yaz-ztest: sequential {f.seq / base.seq:.2f}x, "
            f"parallel {f.par / base.par:.2f}x (our protocol stack with a no-op backend)"
        )
        print(
            f"catalogue share of ils-bridge time: sequential "
            f"{(mine.seq - f.seq) / mine.seq:.0%}, parallel {(mine.par - f.par) / mine.par:.0%}"
        )
        if "zebrasrv" in results:
            z = results["zebrasrv"]
            print(
                f"ratio ils-bridge / zebrasrv:  sequential {mine.seq / z.seq:.2f}x, "
                f"parallel {mine.par / z.par:.2f}x"
            )

if __name__ == "__main__":
    main()
