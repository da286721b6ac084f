"""A hypothesis state machine over check-out, check-in, renewal and holds at random libraries,
plus a real race between two writers; the ledger's invariants hold after every step.

Invariants: at most one open loan and one open transit per item; the item's status agrees
with its open loan / open transit / hold-shelf hold; an in-transit hold rides an open transit
of its item; the open loans are exactly those of a simple model (lent → returned).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from ils_bridge.circulation import Circulation, Ctx
from ils_bridge.cluster import Cluster
from ils_bridge.store.schema import fees, holds, items, loans, patrons, transits

from .conftest import SECRET

LIBS = ("CEN", "XT", "WZ")
T0 = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
TICKS = (1, 4, 30, 3600, 3 * 86400, 20 * 86400)


@pytest.fixture
def ring(cluster3: Cluster) -> Cluster:
    c = cluster3
    c.add_range("WZ", "item", "W1000000", "W1999999")
    c.add_range("XT", "patron", "R0000000", "R0999999")
    # XT items go home; WZ items float between WZ and CEN (XT is outside the group).
    circ = Circulation(c.store, normalisers=c.normalisers, secret=SECRET)
    circ.set_policy("WZ", return_policy="float", float_group="南片")
    circ.set_policy("CEN", float_group="南片")
    circ.set_policy("XT", float_group="北片", max_loans=3)
    circ.set_policy("*", renewals_max=1)
    return c


def _check_invariants(c: Cluster, item_ids: list[int]) -> None:
    with c.store.read() as conn:
        for iid in item_ids:
            status = conn.execute(select(items.c.status).where(items.c.id == iid)).scalar_one()
            n_loans = conn.execute(select(func.count()).select_from(loans).where(
                loans.c.item_id == iid, loans.c.returned_at.is_(None))).scalar_one()
            open_transits = conn.execute(select(transits).where(
                transits.c.item_id == iid, transits.c.received_at.is_(None), transits.c.cancelled_at.is_(None)
            )).mappings().all()
            shelf = conn.execute(select(holds).where(holds.c.item_id == iid, holds.c.status == "on-shelf")).mappings().all()
            assert n_loans <= 1 and len(open_transits) <= 1 and len(shelf) <= 1
            assert (status == "on-loan") == (n_loans == 1), (iid, status, n_loans)
            assert (status == "in-transit") == (len(open_transits) == 1), (iid, status, open_transits)
            assert (status == "on-hold-shelf") == (len(shelf) == 1), (iid, status, shelf)
            for h in conn.execute(select(holds).where(holds.c.item_id == iid, holds.c.status == "in-transit")).mappings():
                assert open_transits and open_transits[0]["hold_id"] == h["id"], (iid, dict(h), open_transits)
            if shelf:
                current = conn.execute(select(items.c.current_library_id).where(items.c.id == iid)).scalar_one()
                assert current == shelf[0]["pickup_library_id"]


def _machine(c: Cluster) -> type[RuleBasedStateMachine]:
    serial = itertools.count()

    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            n = next(serial)
            self.clock = [T0]
            self.circ = Circulation(c.store, normalisers=c.normalisers, secret=SECRET, clock=lambda: self.clock[0])
            self.items = [f"X{n:04d}{k:03d}" for k in range(3)] + [f"W1{n:03d}{k:03d}" for k in range(2)]
            c.import_items([{"barcode": b, "title": "围城"} for b in self.items[:2]]
                           + [{"barcode": self.items[2], "title": "边城"}], library="XT")
            c.import_items([{"barcode": b, "title": "围城"} for b in self.items[3:]], library="WZ")
            self.cards = [f"P{n:04d}{k:03d}" for k in range(2)] + [f"R{n:04d}{k:03d}"[:8] for k in range(1)]
            c.import_patrons([{"card": k, "name": f"读者{k}"} for k in self.cards[:2]], library="CEN")
            c.import_patrons([{"card": self.cards[2], "name": "镇读者"}], library="XT")
            with c.store.read() as conn:
                self.item_ids = list(conn.execute(select(items.c.id).where(items.c.barcode.in_(self.items))).scalars())
                self.patron_ids = {
                    card: pid for card, pid in conn.execute(
                        select(patrons.c.card, patrons.c.id).where(patrons.c.card.in_(self.cards)))
                }
            assert len(self.item_ids) == 5 and len(self.patron_ids) == 3
            self.lent: dict[str, str] = {}  # model: barcode → card

        def ctx(self, lib: str) -> Ctx:
            return Ctx(library=lib, terminal=f"sm-{lib}", now=self.clock[0])

        @rule(seconds=st.sampled_from(TICKS))
        def tick(self, seconds: int) -> None:
            self.clock[0] += dt.timedelta(seconds=seconds)

        @rule(lib=st.sampled_from(LIBS), p=st.integers(0, 2), i=st.integers(0, 4))
        def checkout(self, lib: str, p: int, i: int) -> None:
            card, barcode = self.cards[p], self.items[i]
            r = self.circ.checkout(self.ctx(lib), card, barcode)
            holder = self.lent.get(barcode)
            if holder is not None and holder != card:
                assert not r.ok and r.reason == "on-loan"
            if r.ok:
                self.lent[barcode] = card
                assert r.due_at is not None and r.due_at > self.clock[0]

        @rule(lib=st.sampled_from(LIBS), i=st.integers(0, 4))
        def checkin(self, lib: str, i: int) -> None:
            barcode = self.items[i]
            r = self.circ.checkin(self.ctx(lib), barcode)
            assert r.ok, r.screen_message
            if r.double_scan:
                assert barcode not in self.lent
                return
            assert r.loan_closed == (barcode in self.lent), (barcode, r)
            self.lent.pop(barcode, None)
            if r.alert_type in ("02", "04"):
                assert r.destination and r.destination != lib and r.item_status == "in-transit"
            elif r.alert_type == "01":
                assert r.item_status == "on-hold-shelf" and r.hold_pickup == lib and r.hold_patron

        @precondition(lambda self: bool(self.lent))
        @rule(lib=st.sampled_from(LIBS), data=st.data())
        def renew(self, lib: str, data: st.DataObject) -> None:
            barcode = data.draw(st.sampled_from(sorted(self.lent)))
            r = self.circ.renew(self.ctx(lib), self.lent[barcode], barcode)
            assert r.ok or r.reason in ("too-soon", "too-many-renewals", "held-by-other", "patron-blocked")

        @rule(lib=st.sampled_from(LIBS), p=st.integers(0, 2))
        def renew_all(self, lib: str, p: int) -> None:
            r = self.circ.renew_all(self.ctx(lib), self.cards[p])
            mine = {b for b, k in self.lent.items() if k == self.cards[p]}
            assert set(r.renewed) | set(r.unrenewed) == mine

        @rule(lib=st.sampled_from(LIBS), p=st.integers(0, 2), i=st.integers(0, 4), pickup=st.sampled_from(LIBS))
        def place_hold(self, lib: str, p: int, i: int, pickup: str) -> None:
            r = self.circ.place_hold(self.ctx(lib), self.cards[p], barcode=self.items[i], pickup=pickup)
            assert r.ok or r.reason in ("already-held", "already-on-loan"), r

        @rule(lib=st.sampled_from(LIBS), p=st.integers(0, 2), i=st.integers(0, 4))
        def cancel_hold(self, lib: str, p: int, i: int) -> None:
            r = self.circ.cancel_hold(self.ctx(lib), self.cards[p], barcode=self.items[i])
            assert r.ok or r.reason == "no-hold"

        @invariant()
        def ledger_is_consistent(self) -> None:
            _check_invariants(c, self.item_ids)
            with c.store.read() as conn:
                open_loans = {
                    (b, k) for b, k in conn.execute(
                        select(items.c.barcode, patrons.c.card)
                        .select_from(loans.join(items, loans.c.item_id == items.c.id)
                                     .join(patrons, loans.c.patron_id == patrons.c.id))
                        .where(loans.c.returned_at.is_(None), items.c.id.in_(self.item_ids))
                    )
                }
            assert open_loans == set(self.lent.items())

    return Ledger


def test_state_machine_keeps_the_ledger_consistent(ring: Cluster, db_url: str) -> None:
    pg = not db_url.startswith("sqlite")
    run_state_machine_as_test(
        _machine(ring),
        settings=settings(max_examples=6 if pg else 25, stateful_step_count=25, deadline=None),
    )


def test_two_writers_race_for_one_item(ring: Cluster) -> None:
    """Two terminals lend the same item at the same instant: exactly one loan results."""
    c = ring
    c.import_items([{"barcode": "X0000900", "title": "家"}], library="XT")
    c.import_patrons([{"card": "P0000900", "name": "甲"}, {"card": "P0000901", "name": "乙"}], library="CEN")
    start = threading.Barrier(2)
    results: list[object] = []

    def lend(card: str, lib: str) -> None:
        circ = Circulation(c.store, normalisers=c.normalisers, secret=SECRET)
        start.wait()
        results.append(circ.checkout(Ctx(library=lib), card, "X0000900"))

    threads = [threading.Thread(target=lend, args=a) for a in (("P0000900", "XT"), ("P0000901", "WZ"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    oks = [r for r in results if getattr(r, "ok", False)]
    assert len(results) == 2 and len(oks) == 1
    loser = next(r for r in results if not getattr(r, "ok", False))
    assert getattr(loser, "reason", None) in ("on-loan", "busy")
    with c.store.read() as conn:
        iid = conn.execute(select(items.c.id).where(items.c.barcode == "X0000900")).scalar_one()
    _check_invariants(c, [iid])


def test_two_returns_of_one_loan_close_it_once(ring: Cluster) -> None:
    """The same late item dropped in two return machines at once: one return, one fine."""
    c = ring
    c.import_items([{"barcode": "X0000901", "title": "春"}], library="XT")
    c.import_patrons([{"card": "P0000902", "name": "丙"}], library="CEN")
    circ = Circulation(c.store, normalisers=c.normalisers, secret=SECRET)
    assert circ.checkout(Ctx(library="XT", now=T0), "P0000902", "X0000901").ok
    start = threading.Barrier(2)
    results: list[object] = []
    late = T0 + dt.timedelta(days=40)

    def give_back(lib: str) -> None:
        mine = Circulation(c.store, normalisers=c.normalisers, secret=SECRET)
        start.wait()
        results.append(mine.checkin(Ctx(library=lib, now=late), "X0000901"))

    threads = [threading.Thread(target=give_back, args=(lib,)) for lib in ("CEN", "WZ")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2 and all(getattr(r, "ok", False) for r in results)
    assert sorted(bool(getattr(r, "loan_closed", False)) for r in results) == [False, True]
    with c.store.read() as conn:
        iid = conn.execute(select(items.c.id).where(items.c.barcode == "X0000901")).scalar_one()
        n_fees = conn.execute(select(func.count()).select_from(fees).where(fees.c.item_id == iid)).scalar_one()
    assert n_fees == 1
    _check_invariants(c, [iid])
