"""``ils-bridge serve --z3950-workers N``: the Z39.50 target in several processes sharing one
listening socket, as deployed (real processes, SQLite catalogue, our origin as the client).

Processes are found through Linux /proc and stopped by PID; a process is made the only one
able to accept by SIGSTOPping the others, so each process is shown to serve without relying
on how the kernel spreads connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ils_bridge.catalogue.store import Catalogue
from ils_bridge.cli import main
from ils_bridge.serve import Loads, SharedListener, bind_sockets, parse_workers
from ils_bridge.terminals import Terminals
from protocols.sip2 import CodecConfig, ItemInformationRequest, SessionConfig, Sip2Client
from protocols.z3950.apdu import External, ResponseRecords
from protocols.z3950.origin import Z3950Origin
from tests import procs
from tests.hub.conftest import SECRET

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # seconds to wait for a process to appear or go (a failure, not a measure)

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or not hasattr(os, "fork"),
    reason="needs fork and Linux /proc",
)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: several processes reading one WAL database is what this is about."""
    return f"sqlite:///{tmp_path / 'hub.sqlite3'}"


def _start_time(pid: int) -> str | None:
    """Process ``pid``'s start time (tells a process from a later one with its PID)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


@dataclass
class Server:
    proc: subprocess.Popen[str]
    ports: dict[str, int]
    seen: dict[int, str | None] = field(default_factory=dict)  # every worker seen → start time

    def workers(self, count: int, exclude: frozenset[int] = frozenset()) -> list[int]:
        """Wait until ``count`` worker processes (none in ``exclude``) run; their PIDs."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            pids = sorted(procs.child_pids(self.proc.pid))
            for pid in pids:
                self.seen.setdefault(pid, _start_time(pid))
            if len(pids) == count and not exclude & set(pids):
                return pids
            time.sleep(0.05)
        raise AssertionError(f"expected {count} workers, have {procs.child_pids(self.proc.pid)}")

    def alive(self) -> list[int]:
        """Workers seen during the test that still exist (the same processes)."""
        return [pid for pid, start in self.seen.items() if start is not None and _start_time(pid) == start]


@contextlib.contextmanager
def serving(tmp_path: Path, db_url: str, *args: str) -> Iterator[Server]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ILS_BRIDGE_DB": db_url,
        "ILS_BRIDGE_SECRET": SECRET.decode(),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ils_bridge", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    server = Server(proc, {})
    try:
        assert proc.stdout is not None
        for _ in range(sum(a in ("--z3950", "--sip2") for a in args)):
            line = proc.stdout.readline().strip()
            if not line.startswith("listening: "):
                proc.kill()
                pytest.fail(f"serve did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
            kind = line.split()[1]
            server.ports[kind] = int(line.rsplit(":", 1)[1])
        yield server
    finally:
        for pid in procs.child_pids(proc.pid):  # SIGSTOPped by a failed test: let it stop
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        if proc.poll() is None:  # the main process stops its workers and waits for them
            proc.terminate()
            try:
                proc.communicate(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        for pid in server.alive():  # only after a failure: the test asserts there are none
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _stop_server(server: Server) -> str:
    """SIGTERM to the main process only; its stderr once it has exited."""
    server.proc.send_signal(signal.SIGTERM)
    _out, err = server.proc.communicate(timeout=DEADLINE)
    assert server.proc.returncode == 0, err
    assert "Traceback" not in err, err
    return err


# --------------------------------------------------------------------------- the client side

EXPECTED = {
    "@attr 1=4 红楼": "红楼梦",
    "@attr 1=7 7020002218": "西游记",
    "@attr 1=1003 埃克尔": "Java编程思想",
    "@attr 1=4 art": "The art of computer programming",
}


async def _one_client(port: int, pqf: str, rounds: int) -> list[bytes]:
    out = []
    async with await Z3950Origin.connect("127.0.0.1", port, timeout=30) as z:
        assert (await z.init(charsets=())).result
        for _ in range(rounds):
            found = await z.search(pqf, databases=("union",))
            assert found.result_count == 1, (pqf, found)
            page = await z.present(1, 1, syntax="xml")
            assert isinstance(page.records, ResponseRecords), page
            (npr,) = page.records.records
            assert isinstance(npr.record, External) and isinstance(npr.record.encoding, bytes)
            out.append(npr.record.encoding)
    return out


def clients(port: int, count: int, rounds: int = 3) -> None:
    """``count`` simultaneous associations, each searching and presenting ``rounds`` times."""
    queries = list(EXPECTED.items())

    async def run() -> None:
        picks = [queries[i % len(queries)] for i in range(count)]
        results = await asyncio.gather(*(_one_client(port, q, rounds) for q, _ in picks))
        for (_q, title), records in zip(picks, results, strict=True):
            assert all(title.encode() in rec for rec in records), (title, records[0][:300])

    asyncio.run(asyncio.wait_for(run(), DEADLINE))


def served_by_each(server: Server, pids: list[int]) -> None:
    """Each process in ``pids`` answers on its own (the others SIGSTOPped meanwhile)."""
    for only in pids:
        others = [p for p in pids if p != only]
        for pid in others:
            os.kill(pid, signal.SIGSTOP)
        try:
            clients(server.ports["z3950"], 2, rounds=1)
        finally:
            for pid in others:
                os.kill(pid, signal.SIGCONT)


# --------------------------------------------------------------------------- tests


def test_workers_serve_restart_and_stop(tmp_path: Path, db_url: str, catalogue: Catalogue) -> None:
    with serving(tmp_path, db_url, "--z3950", "127.0.0.1:0", "--z3950-workers", "3") as server:
        workers = server.workers(2)
        main_pid = server.proc.pid
        for pid in workers:  # forked from the server: the same program, its children
            assert Path(f"/proc/{pid}/cmdline").read_bytes() == Path(
                f"/proc/{main_pid}/cmdline"
            ).read_bytes()
        clients(server.ports["z3950"], 12)
        served_by_each(server, [main_pid, *workers])

        # a worker killed outright is replaced; the service goes on meanwhile and after
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        clients(server.ports["z3950"], 6)
        after = server.workers(2, exclude=frozenset({victim}))
        assert workers[1] in after
        (fresh,) = set(after) - {workers[1]}
        served_by_each(server, [main_pid, *after])
        clients(server.ports["z3950"], 12)
        assert sorted(server.alive()) == sorted(after)

        # SIGTERM to the server stops it and every worker, all waited for
        err = _stop_server(server)
        assert server.alive() == [], server.alive()
        assert f"(pid {victim}) was killed by signal 9" in err, err
        assert f"pid {fresh}" not in err  # stopped as asked: nothing to report


def test_worker_stops_when_the_server_dies(tmp_path: Path, db_url: str, catalogue: Catalogue) -> None:
    """SIGKILL to the main process (no chance to stop anything): the workers notice and stop."""
    with serving(tmp_path, db_url, "--z3950", "127.0.0.1:0", "--z3950-workers", "2") as server:
        (worker,) = server.workers(1)
        start = _start_time(worker)
        server.proc.kill()
        server.proc.wait()
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if _start_time(worker) != start or state == "Z":  # gone (a zombie for init to reap)
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"worker {worker} outlived its server")


def test_workers_beside_sip2(tmp_path: Path, db_url: str, catalogue: Catalogue) -> None:
    Terminals(catalogue.store).add("sc-cen", password="machine-pw", library="CEN", allow=["127.0.0.0/8"])
    args = ("--sip2", "127.0.0.1:0", "--z3950", "127.0.0.1:0", "--z3950-workers", "2")
    with serving(tmp_path, db_url, *args) as server:
        assert set(server.ports) == {"sip2", "z3950"}
        (worker,) = server.workers(1)

        async def sip2() -> None:
            client = Sip2Client(
                "127.0.0.1", server.ports["sip2"], SessionConfig(codec=CodecConfig()), timeout=30
            )
            await client.connect()
            try:
                assert await client.login("sc-cen", "machine-pw", "")
                out = await client.request(
                    ItemInformationRequest.create(transaction_date="20261125    100000", AO="", AB="C0000001")
                )
                assert out.get("AJ") == "红楼梦", out
            finally:
                await client.close()

        asyncio.run(asyncio.wait_for(sip2(), DEADLINE))
        clients(server.ports["z3950"], 4)
        served_by_each(server, [server.proc.pid, worker])
        # SIP2 is the main process's alone: the worker holds no socket on the SIP2 port
        os.kill(worker, signal.SIGSTOP)
        try:
            asyncio.run(asyncio.wait_for(sip2(), DEADLINE))
        finally:
            os.kill(worker, signal.SIGCONT)
        _stop_server(server)
        assert server.alive() == []


# --------------------------------------------------------------------------- sharing out connections


class Counted(asyncio.Protocol):
    made: list[Counted]

    def __init__(self, made: list[Counted]) -> None:
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(self)


def test_connections_go_to_the_least_busy_process() -> None:
    """Two listeners on one socket (as two processes have it): one with more connections
    leaves new ones to the other; with no other to take them it accepts them after a while."""

    async def main() -> None:
        (sock,) = bind_sockets("127.0.0.1", 0)
        port = sock.getsockname()[1]
        loads = Loads(2)
        made_a: list[Counted] = []
        made_b: list[Counted] = []
        a = SharedListener([sock], lambda: Counted(made_a), loads, 0)
        b = SharedListener([sock.dup()], lambda: Counted(made_b), loads, 1)
        a.MAX_DEFER = b.MAX_DEFER = 3600.0  # the other one is always there to take it
        writers: list[asyncio.StreamWriter] = []

        async def connect(made: list[Counted], count: int) -> None:
            for _ in range(count):
                writers.append((await asyncio.open_connection("127.0.0.1", port))[1])
            while len(made) < count:
                await asyncio.sleep(0.01)

        try:
            a.start()  # alone: takes everything
            await connect(made_a, 2)
            assert loads.slots.tolist() == [2, -1]
            b.start()
            await connect(made_b, 2)  # b has fewer: a leaves them to b
            assert (len(made_a), len(made_b)) == (2, 2) and loads.slots.tolist() == [2, 2]
            for w in writers[:2]:  # a's two end: b now has more
                w.close()
            while any(c.fileno() != -1 for c in a.conns):
                await asyncio.sleep(0.01)
            await b.close()  # but b stops accepting, still counted: a takes them after a while
            loads.set(1, 0)
            a.MAX_DEFER = 0.05
            await connect(made_a, 4)
        finally:
            for w in writers:
                w.close()
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(main(), DEADLINE))


# --------------------------------------------------------------------------- refusals


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The CLI replaces the root logging handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", *args])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.usefixtures("keep_logging")
def test_refused_without_fork(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delattr(os, "fork")
    err = _refused(capsys, "--z3950", "127.0.0.1:0", "--z3950-workers", "4")
    assert err.startswith("Error: --z3950-workers 4: this platform cannot fork"), err
    assert "--z3950-workers 1" in err
    assert parse_workers("auto") == parse_workers("0") == 1  # auto: as many as can run here


@pytest.mark.usefixtures("keep_logging")
def test_workers_option_checked(capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, "--sip2", "127.0.0.1:0", "--z3950-workers", "2")
    assert "--z3950-workers needs the Z39.50 target" in err
    for bad in ("-1", "many"):
        err = _refused(capsys, "--z3950", "127.0.0.1:0", "--z3950-workers", bad)
        assert err.startswith(f"Error: --z3950-workers {bad!r}"), err
    assert parse_workers("auto") == parse_workers(" 0 ") == (os.cpu_count() or 1)
    assert parse_workers("3") == 3 and parse_workers("1") == 1
