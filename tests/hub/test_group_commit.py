"""Group commit of the circulation transactions run by the SIP2 event loop (SQLite).

The write transactions that one loop iteration runs share one ``COMMIT``; each is a savepoint,
so one that fails rolls back alone, and its caller may answer only once the commit is done. A
failed ``COMMIT`` fails every transaction of the group. Observationally the hub must behave
exactly as with one commit per transaction: the property test runs the same random
circulation through both and compares every answer and the final loans.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select, update

from ils_bridge.circulation import Circulation, Ctx, GroupCommitFailed
from ils_bridge.cluster import Cluster
from ils_bridge.frontends.sip2_acs import Sip2Acs
from ils_bridge.store import migrate
from ils_bridge.store.engine import Store, open_store
from ils_bridge.store.schema import items, loans
from ils_bridge.terminals import Terminals
from protocols.sip2 import (
    AcsSession,
    CheckoutRequest,
    CheckoutResponse,
    ConnectionInfo,
    SessionConfig,
)

from .conftest import SECRET, fresh_pg_url, make_cluster

T0 = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
BARCODES = [f"X000000{i}" for i in range(1, 6)]


def _setup(cluster: Cluster) -> Circulation:
    cluster.add_library("CEN", name="市图书馆", kind="central")
    cluster.add_library("XT", name="新塍镇分馆")
    cluster.add_range("XT", "item", "X0000000", "X4999999")
    cluster.add_range("CEN", "patron", "P0000000", "P4999999")
    cluster.add_location("XT", "流通库")
    for i, barcode in enumerate(BARCODES):
        cluster.add_item(barcode, library="XT", title=f"书{i}")
    cluster.add_patron("P0000001", library="CEN", name="张三")
    cluster.add_patron("P0000002", library="CEN", name="李四")
    return Circulation(cluster.store, normalisers=cluster.normalisers, secret=SECRET, clock=lambda: T0)


def _open_loans(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(loans).where(loans.c.returned_at.is_(None))).scalar_one())


@pytest.fixture
def sqlite_cluster(tmp_path: Path) -> Cluster:
    store = open_store(f"sqlite:///{tmp_path / 'group.sqlite3'}")
    migrate.upgrade(store)
    return make_cluster(store)


def test_the_writes_of_one_loop_iteration_share_one_commit_and_are_answered_after_it(sqlite_cluster: Cluster) -> None:
    circ = _setup(sqlite_cluster)
    store = sqlite_cluster.store

    async def main() -> None:
        circ.enable_group_commit()
        commits = []
        for barcode in BARCODES[:3]:
            assert circ.checkout(Ctx("XT", now=T0), "P0000001", barcode).ok
            commits.append(circ.take_commit())
        assert all(c is not None for c in commits)
        assert len({id(c) for c in commits}) == 1  # one group
        assert circ.take_commit() is None  # taken once
        assert _open_loans(store) == 0  # not yet committed: nobody may have been answered
        await asyncio.gather(*[c for c in commits if c is not None])
        assert _open_loans(store) == 3
        # The next iteration starts a new group.
        assert circ.checkin(Ctx("XT", now=T0), BARCODES[0]).ok
        nxt = circ.take_commit()
        assert nxt is not None and nxt is not commits[0]
        await nxt

    asyncio.run(main())
    assert circ.group_stats == [2, 4]
    assert _open_loans(store) == 2


def test_a_transaction_that_fails_rolls_back_alone(sqlite_cluster: Cluster) -> None:
    circ = _setup(sqlite_cluster)
    store = sqlite_cluster.store

    def broken(conn: Connection) -> None:
        conn.execute(update(items).where(items.c.barcode == BARCODES[1]).values(properties="改坏了"))
        raise RuntimeError("a bug half-way through a transaction")

    async def main() -> None:
        circ.enable_group_commit()
        assert circ.checkout(Ctx("XT", now=T0), "P0000001", BARCODES[0]).ok
        first = circ.take_commit()
        with pytest.raises(RuntimeError):
            circ._write(broken, lambda: None)
        assert circ.take_commit() is None
        assert circ.checkout(Ctx("XT", now=T0), "P0000002", BARCODES[2]).ok
        assert circ.take_commit() is first
        assert first is not None
        await first

    asyncio.run(main())
    assert _open_loans(store) == 2
    with store.read() as conn:
        assert conn.execute(select(items.c.properties).where(items.c.barcode == BARCODES[1])).scalar_one() is None


class _FailingCommit:
    def __init__(self, tx: Any) -> None:
        self.tx = tx

    def commit(self) -> None:
        raise OSError("disk full")

    def rollback(self) -> None:
        self.tx.rollback()


def test_a_failed_commit_fails_every_transaction_and_the_machine_gets_ok_0(sqlite_cluster: Cluster) -> None:
    circ = _setup(sqlite_cluster)
    store = sqlite_cluster.store
    acs = Sip2Acs(circ, Terminals(store, sqlite_cluster.normalisers), anonymous_library="XT", clock=lambda: T0)

    def info(n: int) -> ConnectionInfo:
        return ConnectionInfo(n, "sip2", ("127.0.0.1", 40000 + n), AcsSession(SessionConfig(login_required=False)))

    def request(card: str, barcode: str) -> CheckoutRequest:
        return CheckoutRequest.create(sc_renewal_policy="N", no_block="N", transaction_date="20261125    100000",
                                      nb_due_date="20261125    100000", AO="XT", AA=card, AB=barcode, AC="")

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        original: Callable[..., Any] = loop.call_soon

        def sabotage(cb: Callable[..., Any], *args: Any, **kw: Any) -> Any:
            if args and type(args[0]).__name__ == "_Group":
                args[0].tx = _FailingCommit(args[0].tx)
            return original(cb, *args, **kw)

        loop.call_soon = sabotage  # type: ignore[method-assign]
        try:
            return await asyncio.gather(acs(info(1), request("P0000001", BARCODES[0])),
                                        acs(info(2), request("P0000002", BARCODES[1])))
        finally:
            loop.call_soon = original  # type: ignore[method-assign]

    answers = asyncio.run(main())
    for answer in answers:
        assert isinstance(answer, CheckoutResponse)
        assert answer.fixed_values()["ok"] == "0"
        assert "稍后再试" in (answer.get("AF") or "")
    assert _open_loans(store) == 0
    # The service recovers: the next transaction commits normally.

    async def again() -> None:
        answer = await acs(info(3), request("P0000001", BARCODES[0]))
        assert answer.fixed_values()["ok"] == "1", answer

    asyncio.run(again())
    assert _open_loans(store) == 1
    assert isinstance(GroupCommitFailed("x"), Exception)


def test_an_admin_write_on_the_loop_thread_commits_the_open_group_first(sqlite_cluster: Cluster) -> None:
    circ = _setup(sqlite_cluster)

    async def main() -> None:
        circ.enable_group_commit()
        assert circ.checkout(Ctx("XT", now=T0), "P0000001", BARCODES[0]).ok
        pending = circ.take_commit()
        # Would wait on SQLite's lock (held by the open group) without the flush.
        circ.set_policy("XT", "*", loan_days=7)
        assert pending is not None and pending.done()
        assert circ.checkout(Ctx("XT", now=T0), "P0000001", BARCODES[1]).due_at is not None
        last = circ.take_commit()
        assert last is not None
        await last

    asyncio.run(main())
    assert _open_loans(sqlite_cluster.store) == 2


@pytest.fixture
def pg_cluster() -> Iterator[Cluster]:
    urls = fresh_pg_url()  # skips (or fails in CI) without PostgreSQL
    store = open_store(next(urls))
    try:
        migrate.upgrade(store)
        yield make_cluster(store)
    finally:
        store.dispose()
        urls.close()  # drops the schema


def test_group_commit_is_off_on_postgresql(pg_cluster: Cluster) -> None:
    cluster = pg_cluster
    circ = _setup(cluster)

    async def main() -> None:
        circ.enable_group_commit()
        assert circ.checkout(Ctx("XT", now=T0), "P0000001", BARCODES[0]).ok
        assert circ.take_commit() is None

    asyncio.run(main())
    assert _open_loans(cluster.store) == 1


# A random circulation, grouped into loop iterations, run with and without group commit.
OP = st.tuples(st.sampled_from(["out", "in", "renew"]), st.sampled_from(["P0000001", "P0000002"]),
               st.sampled_from(BARCODES))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.lists(OP, min_size=1, max_size=6), min_size=1, max_size=6))
def test_group_commit_answers_exactly_as_one_commit_per_transaction(tmp_path_factory: pytest.TempPathFactory,
                                                                    rounds: list[list[tuple[str, str, str]]]) -> None:
    def run(grouped: bool) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        path = tmp_path_factory.mktemp("g") / "c.sqlite3"
        store = open_store(f"sqlite:///{path}")
        migrate.upgrade(store)
        circ = _setup(make_cluster(store))
        answers: list[tuple[Any, ...]] = []

        async def main() -> None:
            if grouped:
                circ.enable_group_commit()
            for ops in rounds:
                waits = []
                for op, card, barcode in ops:
                    ctx = Ctx("XT", now=T0)
                    if op == "out":
                        r: Any = circ.checkout(ctx, card, barcode)
                    elif op == "in":
                        r = circ.checkin(ctx, barcode)
                    else:
                        r = circ.renew(ctx, card, barcode)
                    answers.append((op, r.ok, r.reason, getattr(r, "alert_type", None)))
                    fut = circ.take_commit()
                    if fut is not None:
                        waits.append(fut)
                await asyncio.gather(*waits)
                await asyncio.sleep(0)

        asyncio.run(main())
        with store.read() as conn:
            final = [tuple(r) for r in conn.execute(
                select(loans.c.item_id, loans.c.patron_id, loans.c.returned_at.is_(None), loans.c.renewals)
                .order_by(loans.c.id))]
        store.dispose()
        return answers, final

    assert run(True) == run(False)
