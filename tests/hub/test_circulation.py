"""Circulation services: check-out, check-in routing (domain.md §6.3), renewals, holds, fees.

Every test runs on SQLite and on PostgreSQL (the ``cluster3`` fixture). The cluster is CEN
(central) + XT + WZ; items belong to XT unless said otherwise, patrons to CEN.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update

from ils_bridge.circulation import Circulation, Ctx, hash_password, verify_password
from ils_bridge.cluster import Cluster
from ils_bridge.codes import ean13_check_digit
from ils_bridge.errors import InvalidInput, NotFound
from ils_bridge.store.schema import events, fees, holds, items, loans, patrons, transits

from .conftest import SECRET

UTC = dt.UTC
CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@dataclass
class World:
    cluster: Cluster
    circ: Circulation
    clock: list[dt.datetime]

    def at(self, library: str, *, after: dt.timedelta = dt.timedelta(0), terminal: str | None = "sc-1") -> Ctx:
        return Ctx(library=library, terminal=terminal, now=self.clock[0] + after)

    def tick(self, **delta: float) -> None:
        self.clock[0] += dt.timedelta(**delta)

    def ctx(self, library: str, terminal: str | None = "sc-1") -> Ctx:
        return Ctx(library=library, terminal=terminal, now=self.clock[0])

    def item(self, barcode: str) -> dict[str, Any]:
        with self.cluster.store.read() as conn:
            row = conn.execute(select(items).where(items.c.barcode == barcode)).mappings().one()
            return dict(row)

    def open_transits(self, barcode: str) -> list[dict[str, Any]]:
        with self.cluster.store.read() as conn:
            iid = conn.execute(select(items.c.id).where(items.c.barcode == barcode)).scalar_one()
            return [dict(r) for r in conn.execute(
                select(transits).where(transits.c.item_id == iid, transits.c.received_at.is_(None),
                                       transits.c.cancelled_at.is_(None))
            ).mappings()]

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        with self.cluster.store.read() as conn:
            q = select(events).order_by(events.c.id)
            if type_:
                q = q.where(events.c.type == type_)
            return [dict(r) for r in conn.execute(q).mappings()]

    def set_item(self, barcode: str, **values: Any) -> None:
        with self.cluster.store.write() as conn:
            conn.execute(update(items).where(items.c.barcode == barcode).values(**values))


@pytest.fixture
def world(cluster3: Cluster) -> World:
    c = cluster3
    c.add_range("CEN", "item", "30000000", "30999999")
    # One batch: the two copies of 红楼梦 share one bibliographic record.
    c.import_items([
        {"barcode": "X0000001", "title": "红楼梦", "author": "曹雪芹", "location": "流通库"},
        {"barcode": "X0000002", "title": "红楼梦", "author": "曹雪芹"},
    ], library="XT")
    assert world_bib_shared(c)
    c.add_item("X0000003", library="XT", title="西游记")
    c.add_item("X0000004", library="XT", title="水浒传")
    c.add_item("C0000001", library="CEN", title="三国演义")
    c.add_item("30000001", library="CEN", title="呐喊")
    c.add_patron("P0000001", library="CEN", name="张三")
    c.add_patron("P0000002", library="CEN", name="李四")
    c.add_patron("W0000001", library="WZ", name="王五")
    c.add_patron("11010519491231002X", library="XT", name="赵六")
    clock = [T0]
    circ = Circulation(c.store, normalisers=c.normalisers, secret=SECRET, clock=lambda: clock[0])
    return World(c, circ, clock)


def world_bib_shared(c: Cluster) -> bool:
    with c.store.read() as conn:
        bibs_ = set(conn.execute(select(items.c.bib_id).where(items.c.barcode.in_(["X0000001", "X0000002"]))).scalars())
    return len(bibs_) == 1


def _bib(world: World, barcode: str) -> int:
    bib = world.item(barcode)["bib_id"]
    assert bib is not None
    return int(bib)


# --------------------------------------------------------------------------- check-out


def test_checkout_due_date_policy_of_home_library_and_event(world: World) -> None:
    r = world.circ.checkout(world.ctx("CEN"), "P0000001", "X0000001")
    assert r.ok, r.screen_message
    # 30 days from 25 Nov (Beijing), end of day, in UTC.
    assert r.due_at == dt.datetime(2026, 12, 25, 23, 59, 59, tzinfo=CST)
    assert r.screen_message == "借书成功：《红楼梦》，请于2026年12月25日前归还。"
    assert (r.title, r.owner, r.home, r.current, r.patron_home, r.policy_library) == (
        "红楼梦", "XT", "XT", "CEN", "CEN", "XT")
    assert r.desensitize and not r.renewal
    assert world.item("X0000001")["status"] == "on-loan"
    (ev,) = world.events("checkout")
    assert (ev["library_code"], ev["item_home_code"], ev["patron_home_code"], ev["terminal"]) == (
        "CEN", "XT", "CEN", "sc-1")
    assert json.loads(ev["detail"])["policy_library"] == "XT"


def test_checkout_refusals(world: World) -> None:
    co = world.circ.checkout
    ctx = world.ctx("CEN")
    assert co(ctx, "P9999999", "X0000001").reason == "unknown-patron"
    assert co(ctx, "X0000001", "X0000001").reason == "is-item-barcode"
    assert co(ctx, "P0000001", "P0000002").reason == "is-patron-card"
    assert co(ctx, "P0000001", "X9999999").reason == "unknown-item"
    assert co(ctx, "P0000001", "a bad code!").reason == "invalid-barcode"
    assert co(Ctx(library="NOPE"), "P0000001", "X0000001").reason == "unknown-library"
    # The item is lent to someone else.
    assert co(ctx, "P0000002", "X0000001").ok
    r = co(ctx, "P0000001", "X0000001")
    assert (r.ok, r.reason) == (False, "on-loan") and "其他读者" in r.screen_message
    # Not loanable.
    for status in ("lost", "missing", "withdrawn", "damaged"):
        world.set_item("X0000003", status=status)
        assert co(ctx, "P0000001", "X0000003").reason == "not-loanable"
    world.set_item("X0000003", status="available")
    # Blocked, expired and closed patrons.
    world.circ.block_patron(ctx, "P0000001", "逾期未还")
    r = co(ctx, "P0000001", "X0000003")
    assert r.reason == "patron-blocked" and "逾期未还" in r.screen_message
    world.circ.unblock_patron(ctx, "P0000001")
    with world.cluster.store.write() as conn:
        conn.execute(update(patrons).where(patrons.c.card == "P0000001").values(expires_on=dt.date(2026, 11, 24)))
    assert co(ctx, "P0000001", "X0000003").reason == "patron-expired"
    with world.cluster.store.write() as conn:
        conn.execute(update(patrons).where(patrons.c.card == "P0000001").values(expires_on=None, status="closed"))
    assert co(ctx, "P0000001", "X0000003").reason == "patron-closed"
    # Nothing was lent by any refusal.
    with world.cluster.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(loans)).scalar_one() == 1


def test_checkout_limits_fines_overdues_and_loans(world: World) -> None:
    circ = world.circ
    circ.set_policy("XT", max_loans=2)
    ctx = world.ctx("CEN")
    assert circ.checkout(ctx, "P0000001", "X0000001").ok
    assert circ.checkout(ctx, "P0000001", "X0000002").ok
    r = circ.checkout(ctx, "P0000001", "X0000003")
    assert r.reason == "too-many-loans" and "2册" in r.screen_message
    # Max loans is counted per library context: CEN's items have their own limit.
    assert circ.checkout(ctx, "P0000001", "C0000001").ok
    # Overdues: with max_overdues 0 one overdue loan stops borrowing.
    circ.set_policy("*", max_overdues=0)
    late = world.at("CEN", after=dt.timedelta(days=40))
    assert circ.checkout(late, "P0000001", "30000001").reason == "too-many-overdue"
    # Fines: returning the items late charges fines; above max_fines_cents borrowing stops.
    for b in ("X0000001", "X0000002", "C0000001"):
        assert circ.checkin(late, b).ok
    st = circ.patron_status(late, "P0000001")
    assert st.fines_cents == 3 * 10 * 10  # 10 days late x 10 cents, three items
    circ.set_policy("*", max_fines_cents=200)
    r = circ.checkout(late, "P0000001", "30000001")
    assert r.reason == "excessive-fines" and "3.00" in r.screen_message
    assert circ.patron_status(late, "P0000001").excessive_outstanding_fees


def test_same_patron_checkout_is_a_renewal_or_a_repeat(world: World) -> None:
    circ = world.circ
    first = circ.checkout(world.ctx("CEN"), "P0000001", "X0000001")
    # A terminal retrying at once: answered like the first check-out, nothing renewed.
    again = circ.checkout(world.ctx("CEN"), "P0000001", "X0000001")
    assert again.ok and again.due_at == first.due_at and again.renewals == 0
    # Ten days later the same scan renews.
    later = world.at("CEN", after=dt.timedelta(days=10))
    r = circ.checkout(later, "P0000001", "X0000001")
    assert r.ok and r.renewal and r.renewal_ok and r.renewals == 1
    assert r.due_at == dt.datetime(2027, 1, 4, 23, 59, 59, tzinfo=CST)
    no = circ.checkout(later, "P0000001", "X0000001", renew_if_same_patron=False)
    assert no.ok and no.reason == "already-yours" and no.renewals == 1


def test_scanner_noise_resolves_and_isbn_is_refused(world: World) -> None:
    """domain.md §6.5 #19."""
    circ = world.circ
    ctx = world.ctx("CEN")
    for noisy in ("A30000001B", "30000001\r\n", "３００００００１", "3000\u200b0001\t", " 30000001 "):
        info = circ.item_information(ctx, noisy)
        assert info.ok and info.barcode == "30000001", noisy
    assert circ.checkout(ctx, "P0000001", "c30000001d").ok
    assert circ.checkin(world.at("CEN", after=dt.timedelta(minutes=1)), "３００００００１").ok
    isbn = "978702000220"
    ean = isbn + ean13_check_digit(isbn)
    r = circ.checkout(ctx, "P0000001", ean)
    assert r.reason == "looks-like-isbn" and "ISBN" in r.screen_message
    # A resident ID used as a card, typed with a lower-case x and full-width digits.
    assert circ.checkout(ctx, "１１０１０５１９４９１２３１００２x", "X0000003").ok


# --------------------------------------------------------------------------- check-in routing


def test_return_elsewhere_goes_home_in_transit(world: World) -> None:
    """domain.md §6.5 #5: A's item returned at C → CV=04 CT=A; scanned at A → available."""
    circ = world.circ
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000001").ok
    world.tick(days=3)
    r = circ.checkin(world.ctx("WZ", terminal="wz-return"), "X0000001")
    assert r.ok and r.alert and r.alert_type == "04" and r.destination == "XT"
    assert r.loan_closed and r.patron_home == "CEN"
    assert "新塍镇分馆" in r.screen_message and "还书箱" in r.screen_message
    assert world.item("X0000001")["status"] == "in-transit"
    info = circ.item_information(world.ctx("CEN"), "X0000001")
    assert (info.circulation_status, info.destination, info.current_location) == ("10", "XT", "WZ")
    # Not lendable while travelling.
    assert circ.checkout(world.ctx("WZ"), "P0000002", "X0000001").reason == "in-transit"
    world.tick(days=1)
    got = circ.checkin(world.ctx("XT"), "X0000001")
    assert got.ok and not got.alert and got.item_status == "available"
    assert world.item("X0000001")["current_library_id"] == world.item("X0000003")["home_library_id"]
    assert world.open_transits("X0000001") == []
    types = [e["type"] for e in world.events() if e["item_id"] == world.item("X0000001")["id"]]
    assert types == ["checkout", "return", "transit-sent", "checkin", "transit-received", "checkin"]
    (ret,) = world.events("return")
    assert (ret["library_code"], ret["item_home_code"], ret["patron_home_code"], ret["terminal"]) == (
        "WZ", "XT", "CEN", "wz-return")


def test_return_at_home_shelves_and_not_on_loan_still_ok(world: World) -> None:
    circ = world.circ
    r = circ.checkin(world.ctx("XT"), "X0000003")
    assert r.ok and not r.alert and not r.loan_closed and "未在借出状态" in r.screen_message
    r = circ.checkin(world.ctx("CEN"), "X0000004")  # not on loan, at another library: still routed
    assert r.ok and r.alert_type == "04" and r.destination == "XT"


def test_unknown_and_withdrawn_items_on_checkin(world: World) -> None:
    r = world.circ.checkin(world.ctx("CEN"), "X7777777")
    assert (r.ok, r.alert, r.alert_type, r.reason) == (False, True, "99", "unknown-item")
    world.set_item("X0000004", status="withdrawn")
    r = world.circ.checkin(world.ctx("XT"), "X0000004")
    assert (r.ok, r.reason) == (False, "withdrawn")
    r = world.circ.checkin(world.ctx("XT"), "P0000001")
    assert r.reason == "is-patron-card"


def test_return_with_hold_here_and_elsewhere(world: World) -> None:
    """domain.md §6.5 #6."""
    circ = world.circ
    bib = _bib(world, "X0000001")
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000001").ok
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000002").ok
    h1 = circ.place_hold(world.ctx("CEN"), "P0000002", bib_id=bib)  # pickup defaults to CEN
    assert h1.ok and h1.pickup == "CEN" and h1.queue_position == 1 and not h1.available
    h2 = circ.place_hold(world.ctx("CEN"), "W0000001", barcode="X0000001", pickup="WZ")
    assert h2.ok and h2.queue_position == 2
    assert circ.place_hold(world.ctx("CEN"), "P0000002", bib_id=bib).reason == "already-held"
    assert circ.place_hold(world.ctx("CEN"), "P0000001", bib_id=bib).reason == "already-on-loan"
    assert circ.item_information(world.ctx("CEN"), "X0000001").hold_queue_length == 2
    world.tick(days=2)
    # First hold (pickup CEN) is filled by a return at CEN: hold shelf, CV 01.
    r = circ.checkin(world.ctx("CEN"), "X0000001")
    assert r.ok and r.alert_type == "01" and r.destination is None
    assert r.hold_patron == "P0****02" and r.hold_pickup == "CEN"
    assert r.hold_expires_at == dt.datetime(2026, 12, 4, 23, 59, 59, tzinfo=CST)  # 7 days
    assert world.item("X0000001")["status"] == "on-hold-shelf"
    assert circ.item_information(world.ctx("CEN"), "X0000001").circulation_status == "08"
    # Second hold (pickup WZ): returned at CEN → in transit to WZ, CV 02 CT WZ.
    r = circ.checkin(world.ctx("CEN"), "X0000002")
    assert r.ok and r.alert_type == "02" and r.destination == "WZ" and "王江泾镇分馆" in r.screen_message
    # Someone else may not take the hold-shelf copy; the holder may.
    assert circ.checkout(world.ctx("CEN"), "P0000001", "X0000001").reason == "on-hold-for-other"
    pi = circ.patron_information(world.ctx("CEN"), "P0000002")
    assert pi.hold_items == ["X0000001"] and pi.hold_available_count == 1
    assert circ.checkout(world.ctx("CEN"), "P0000002", "X0000001").ok
    with world.cluster.store.read() as conn:
        assert conn.execute(select(holds.c.status).where(holds.c.id == h1.hold_id)).scalar_one() == "filled"
    # The WZ copy arrives: onto WZ's hold shelf.
    r = circ.checkin(world.ctx("WZ"), "X0000002")
    assert r.alert_type == "01" and r.hold_patron == "W0****01"
    assert world.item("X0000002")["status"] == "on-hold-shelf"


def test_item_level_holds_come_first(world: World) -> None:
    circ = world.circ
    bib = _bib(world, "X0000001")
    assert circ.place_hold(world.ctx("XT"), "P0000001", bib_id=bib, pickup="XT").ok
    world.tick(minutes=1)
    assert circ.place_hold(world.ctx("XT"), "P0000002", barcode="X0000002", item_level=True, pickup="XT").ok
    r = circ.checkin(world.ctx("XT"), "X0000002")
    assert r.alert_type == "01" and r.hold_patron == "P0****02"
    r = circ.checkin(world.ctx("XT"), "X0000001")
    assert r.alert_type == "01" and r.hold_patron == "P0****01"


def test_floating_group_and_an_excluded_branch(world: World) -> None:
    """domain.md §6.5 #7."""
    circ = world.circ
    circ.set_policy("*", return_policy="float", float_group="嘉兴北")
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000001").ok
    r = circ.checkin(world.ctx("WZ"), "X0000001")
    assert r.ok and not r.alert and r.home == "WZ" and r.owner == "XT" and "流动馆藏" in r.screen_message
    it = world.item("X0000001")
    assert it["status"] == "available" and it["home_location_id"] is None
    assert world.open_transits("X0000001") == []
    (fl,) = world.events("item-floated")
    assert json.loads(fl["detail"]) == {"from": "XT", "to": "WZ", "float_group": "嘉兴北"}
    # WZ leaves the group: an XT item returned there goes home.
    circ.set_policy("WZ", float_group="独立")
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000002").ok
    r = circ.checkin(world.ctx("WZ"), "X0000002")
    assert r.alert_type == "04" and r.destination == "XT"


def test_return_to_issuing_library(world: World) -> None:
    circ = world.circ
    circ.set_policy("XT", return_policy="return-to-issuing")
    assert circ.checkout(world.ctx("CEN"), "P0000001", "X0000001").ok
    r = circ.checkin(world.ctx("WZ"), "X0000001")
    assert r.alert_type == "04" and r.destination == "CEN"
    r = circ.checkin(world.at("CEN", after=dt.timedelta(hours=1)), "X0000001")
    assert r.ok and not r.alert and world.item("X0000001")["status"] == "available"


def test_third_library_scan_reroutes_and_double_scans_are_ignored(world: World) -> None:
    """domain.md §6.5 #8."""
    circ = world.circ
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000001").ok
    first = circ.checkin(world.ctx("WZ"), "X0000001")
    assert first.alert_type == "04" and first.destination == "XT"
    n_events = len(world.events())
    # The same scan at the sender 5 s later: the same answer, nothing written.
    again = circ.checkin(world.at("WZ", after=dt.timedelta(seconds=5)), "X0000001")
    assert again.double_scan and again.ok and again.alert_type == "04" and again.destination == "XT"
    assert again.screen_message == first.screen_message
    assert len(world.events()) == n_events
    # A third library scans it: still in transit to XT, intermediate scan recorded.
    mid = circ.checkin(world.at("CEN", after=dt.timedelta(hours=2)), "X0000001")
    assert mid.ok and mid.alert_type == "04" and mid.destination == "XT" and not mid.double_scan
    assert "运送途中" in mid.screen_message
    (tr,) = world.open_transits("X0000001")
    assert tr["last_scan_library_id"] == world.item("C0000001")["home_library_id"]
    assert world.item("X0000001")["status"] == "in-transit"
    (rr,) = world.events("transit-rerouted")
    assert rr["library_code"] == "CEN" and json.loads(rr["detail"])["to"] == "XT"
    # Scanned at the sender again much later: still in transit (re-routed, not received).
    late = circ.checkin(world.at("WZ", after=dt.timedelta(hours=3)), "X0000001")
    assert late.alert_type == "04" and not late.double_scan
    # A double scan at the destination receives once.
    got = circ.checkin(world.at("XT", after=dt.timedelta(days=1)), "X0000001")
    dup = circ.checkin(world.at("XT", after=dt.timedelta(days=1, seconds=3)), "X0000001")
    assert got.ok and dup.double_scan and dup.screen_message == got.screen_message
    assert len(world.events("transit-received")) == 1
    # After the interval a scan is processed again (and finds nothing to do).
    assert not circ.checkin(world.at("XT", after=dt.timedelta(days=1, seconds=30)), "X0000001").double_scan


def test_checkout_between_scans_is_not_a_double_scan(world: World) -> None:
    circ = world.circ
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000001").ok
    assert circ.checkin(world.ctx("XT"), "X0000001").loan_closed
    assert circ.checkout(world.at("XT", after=dt.timedelta(seconds=2)), "P0000002", "X0000001").ok
    r = circ.checkin(world.at("XT", after=dt.timedelta(seconds=4)), "X0000001")
    assert r.loan_closed and not r.double_scan


def test_hold_vanished_in_transit_is_retargeted_on_receipt(world: World) -> None:
    """domain.md §6.5 #18: the hold is cancelled en route; at B the next local hold wins."""
    circ = world.circ
    bib = _bib(world, "X0000001")
    assert circ.place_hold(world.ctx("WZ"), "W0000001", bib_id=bib).ok  # pickup WZ
    r = circ.checkin(world.ctx("XT"), "X0000001")
    assert r.alert_type == "02" and r.destination == "WZ"
    assert circ.cancel_hold(world.ctx("WZ"), "W0000001", bib_id=bib).ok
    world.tick(minutes=5)
    assert circ.place_hold(world.ctx("WZ"), "P0000002", bib_id=bib, pickup="WZ").ok
    world.tick(hours=5)
    got = circ.checkin(world.ctx("WZ"), "X0000001")
    assert got.ok and got.alert_type == "01" and got.hold_patron == "P0****02"
    # Without another hold the item goes home instead of sitting at B.
    assert circ.cancel_hold(world.ctx("WZ"), "P0000002", bib_id=bib).ok
    assert world.item("X0000001")["status"] == "available"  # off the hold shelf
    r = circ.checkin(world.at("WZ", after=dt.timedelta(minutes=1)), "X0000001")
    assert r.alert_type == "04" and r.destination == "XT"


def test_hold_refusals_and_cancel(world: World) -> None:
    circ = world.circ
    ctx = world.ctx("CEN")
    assert circ.place_hold(ctx, "P0000001").reason == "no-target"
    assert circ.place_hold(ctx, "P0000001", bib_id=999999).reason == "unknown-bib"
    assert circ.place_hold(ctx, "P0000001", barcode="X0000001", pickup="NOWHERE").reason == "unknown-pickup"
    assert circ.cancel_hold(ctx, "P0000001", barcode="X0000001").reason == "no-hold"
    circ.block_patron(ctx, "P0000001", "test")
    assert circ.place_hold(ctx, "P0000001", barcode="X0000001").reason == "patron-blocked"
    h = circ.place_hold(ctx, "P0000002", barcode="X0000001")
    assert h.ok and h.available  # X0000002, the other copy, is on a shelf
    assert circ.cancel_hold(ctx, "P0000002", barcode="X0000002").ok
    (ev,) = world.events("hold-cancelled")
    assert ev["patron_home_code"] == "CEN" and ev["library_code"] == "CEN"


# --------------------------------------------------------------------------- renewals


def test_renewal_limits_and_holds_block_renewal(world: World) -> None:
    circ = world.circ
    assert circ.checkout(world.ctx("CEN"), "P0000001", "X0000001").ok
    assert circ.checkout(world.ctx("CEN"), "P0000001", "X0000003").ok
    assert circ.renew(world.ctx("CEN"), "P0000002", "X0000001").reason == "not-on-loan-to-you"
    assert circ.renew(world.ctx("CEN"), "P0000001", "X0000001").reason == "too-soon"
    for n in (1, 2):
        r = circ.renew(world.at("CEN", after=dt.timedelta(days=10 * n)), "P0000001", "X0000001")
        assert r.ok and r.renewals == n and r.renewals_left == 2 - n
    r = circ.renew(world.at("CEN", after=dt.timedelta(days=30)), "P0000001", "X0000001")
    assert r.reason == "too-many-renewals"
    assert circ.place_hold(world.ctx("CEN"), "P0000002", barcode="X0000003").ok
    r = circ.renew(world.at("CEN", after=dt.timedelta(days=10)), "P0000001", "X0000003")
    assert r.reason == "held-by-other" and "预约" in r.screen_message
    world.tick(days=35)
    all_ = circ.renew_all(world.ctx("XT"), "P0000001")
    assert all_.ok and all_.renewed == () and set(all_.unrenewed) == {"X0000001", "X0000003"}
    assert circ.cancel_hold(world.ctx("CEN"), "P0000002", barcode="X0000003").ok
    all_ = circ.renew_all(world.ctx("XT"), "P0000001")
    assert all_.renewed == ("X0000003",) and all_.unrenewed == ("X0000001",)
    assert "too-many" not in all_.why["X0000001"] and "续借" in all_.why["X0000001"]
    assert circ.renew_all(world.ctx("XT"), "P0000002").screen_message == "您当前没有借阅的图书。"
    assert len(world.events("renew")) == 3


def test_holidays_move_due_dates(world: World) -> None:
    circ = world.circ
    circ.add_holiday("XT", dt.date(2026, 12, 25), "闭馆")
    circ.add_holiday("*", dt.date(2026, 12, 26), "全馆群闭馆")
    circ.add_holiday("CEN", dt.date(2026, 12, 27))  # not the item's library: no effect
    circ.add_holiday("XT", dt.date(2026, 12, 25), "闭馆日")  # idempotent, renames
    r = circ.checkout(world.ctx("CEN"), "P0000001", "X0000001")
    assert r.due_at == dt.datetime(2026, 12, 27, 23, 59, 59, tzinfo=CST)
    # A CEN item lent at XT: XT's closed day does not matter, CEN's rules and calendar do.
    r = circ.checkout(world.ctx("XT"), "P0000001", "C0000001")
    assert r.due_at == dt.datetime(2026, 12, 25, 23, 59, 59, tzinfo=CST)
    circ.add_holiday("CEN", dt.date(2026, 12, 25))
    r = circ.checkout(world.ctx("XT"), "P0000001", "30000001")
    assert r.due_at == dt.datetime(2026, 12, 28, 23, 59, 59, tzinfo=CST)
    assert [h["name"] for h in circ.list_holidays("XT")] == ["闭馆日"]
    assert circ.remove_holiday("CEN", dt.date(2026, 12, 27))
    with pytest.raises(NotFound):
        circ.add_holiday("NOPE", dt.date(2026, 1, 1))


def test_policy_inheritance_from_central(world: World) -> None:
    circ = world.circ
    base = circ.effective_policy("XT", "book")
    assert (base.loan_days, base.renewals_max, base.max_loans, base.return_policy) == (30, 2, 20, "return-home")
    assert base.origin["loan_days"] == "default" and base.renewal_days == 30
    circ.set_policy("*", "dvd", loan_days=7)
    circ.set_policy("CEN", loan_days=14, max_loans=10)
    p = circ.effective_policy("XT", "book")
    assert (p.loan_days, p.origin["loan_days"], p.max_loans) == (14, "CEN/*", 10)
    # (central, *) comes before (*, type) in the lookup order.
    assert circ.effective_policy("XT", "dvd").loan_days == 14
    circ.set_policy("CEN", "dvd", loan_days=3)
    assert circ.effective_policy("XT", "dvd").origin["loan_days"] == "CEN/dvd"
    circ.set_policy("XT", loan_days=21)
    assert circ.effective_policy("XT", "book").loan_days == 21
    assert circ.effective_policy("WZ", "book").loan_days == 14
    star = circ.effective_policy("*", "dvd")
    assert (star.loan_days, star.origin["loan_days"], star.max_loans) == (7, "*/dvd", 20)
    circ.set_policy("XT", loan_days=None)  # NULL inherits again
    assert circ.effective_policy("XT", "book").loan_days == 14
    r = circ.checkout(world.ctx("WZ"), "P0000001", "X0000001")
    assert r.due_at == dt.datetime(2026, 12, 9, 23, 59, 59, tzinfo=CST)
    for bad in ({"loan_days": 0}, {"max_loans": -1}, {"return_policy": "somewhere"}, {"colour": 1}):
        with pytest.raises(InvalidInput):
            circ.set_policy("XT", **bad)
    with pytest.raises(NotFound):
        circ.set_policy("NOPE", loan_days=3)
    assert {(p["library"], p["item_type"]) for p in circ.list_policies()} == {
        ("*", "dvd"), ("CEN", "*"), ("CEN", "dvd"), ("XT", "*")}


# --------------------------------------------------------------------------- patrons and fees


def test_patron_status_information_and_password(world: World) -> None:
    circ = world.circ
    ctx = world.ctx("CEN")
    assert not circ.patron_status(ctx, "P7777777").valid_patron
    st = circ.patron_status(ctx, "P0000001")
    assert st.valid_patron and st.valid_password and not st.charge_privileges_denied
    assert (st.name, st.home_library, st.card) == ("张三", "CEN", "P0****01")
    circ.set_patron_password("P0000001", "1234")
    assert circ.patron_status(ctx, "P0000001", password="1234").valid_password
    bad = circ.patron_status(ctx, "P0000001", password="0000")
    assert not bad.valid_password and bad.screen_message == "密码错误，请重新输入。"
    assert circ.checkout(ctx, "P0000001", "X0000001").ok
    assert circ.place_hold(ctx, "P0000001", barcode="C0000001").ok
    late = world.at("CEN", after=dt.timedelta(days=45))
    pi = circ.patron_information(late, "P0000001", password="1234")
    assert pi.charged_items == ["X0000001"] and pi.overdue_items == ["X0000001"]
    assert pi.unavailable_holds == ["三国演义"] and pi.hold_waiting_count == 1
    assert pi.charge_limit == 20 and pi.hold_limit == 10
    assert circ.patron_information(late, "P0000001", password="0000").charged_items == []
    blocked = circ.block_patron(ctx, "P0000001", "证件挂失")
    assert blocked.charge_privileges_denied and blocked.hold_privileges_denied and blocked.card_reported_lost
    assert world.events("patron-blocked")[0]["patron_home_code"] == "CEN"
    assert not circ.unblock_patron(ctx, "P0000001").charge_privileges_denied
    stored = hash_password("x")
    assert stored.startswith("scrypt$") and verify_password("x", stored) and not verify_password("y", stored)
    with pytest.raises(NotFound):
        circ.set_patron_password("P7777777", "1")


def test_overdue_fine_once_and_fee_payment_idempotent(world: World) -> None:
    circ = world.circ
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000001").ok
    assert circ.checkout(world.ctx("XT"), "P0000001", "X0000002").ok
    # Returned 5 and 2 days late (due 25 Dec, Beijing).
    r1 = circ.checkin(world.ctx("XT"), "X0000001", returned_at=dt.datetime(2026, 12, 30, 10, tzinfo=CST))
    assert r1.fee_cents == 50 and "逾期5天" in r1.screen_message
    r2 = circ.checkin(world.at("XT", after=dt.timedelta(days=32)), "X0000002")
    assert r2.fee_cents == 20
    # A second check-in of a returned item charges nothing more.
    assert circ.checkin(world.at("XT", after=dt.timedelta(days=33)), "X0000001").fee_cents == 0
    ctx = world.ctx("XT")
    st = circ.patron_status(ctx, "P0000001")
    assert (st.fines_cents, st.fee_amount, st.currency) == (70, "0.70", "CNY")
    assert circ.fee_paid(ctx, "P0000001", 0).reason == "bad-amount"
    assert circ.fee_paid(ctx, "P0000001", -5).reason == "bad-amount"
    assert circ.fee_paid(ctx, "P0000001", 71).reason == "overpayment"
    p = circ.fee_paid(ctx, "P0000001", 60, transaction_id="T-1")
    assert p.ok and p.outstanding_cents == 10 and len(p.fee_ids) == 2
    again = circ.fee_paid(ctx, "P0000001", 60, transaction_id="T-1")
    assert again.ok and again.duplicate and again.outstanding_cents == 10
    assert circ.fee_paid(ctx, "P0000001", 5, transaction_id="T-1").reason == "transaction-reused"
    assert circ.patron_status(ctx, "P0000001").fines_cents == 10
    with world.cluster.store.read() as conn:
        rows = conn.execute(select(fees.c.id, fees.c.status, fees.c.paid_cents).order_by(fees.c.id)).all()
    assert [(s, c) for _, s, c in rows] == [("paid", 50), ("open", 10)]
    assert circ.fee_paid(ctx, "P0000001", 10, fee_id=rows[0][0]).reason == "no-fees"
    done = circ.fee_paid(ctx, "P0000001", 10, fee_id=rows[1][0], transaction_id="T-2")
    assert done.ok and done.outstanding_cents == 0 and "已无欠费" in done.screen_message
    assert len(world.events("fee-paid")) == 2


def test_item_information_and_status_update(world: World) -> None:
    circ = world.circ
    info = circ.item_information(world.ctx("WZ"), "X0000001")
    assert (info.circulation_status, info.owner, info.home, info.current_location, info.permanent_location) == (
        "03", "XT", "XT", "XT", "XT-流通库")
    assert circ.checkout(world.ctx("WZ"), "P0000001", "X0000001").ok
    info = circ.item_information(world.ctx("WZ"), "X0000001")
    assert info.circulation_status == "04" and info.due_at is not None and info.current_location == "WZ"
    world.set_item("X0000003", status="lost")
    assert circ.item_information(world.ctx("WZ"), "X0000003").circulation_status == "12"
    up = circ.item_status_update(world.ctx("XT"), "X0000004", "RFID:AFI=07")
    assert up.ok and up.properties == "RFID:AFI=07"
    assert circ.item_information(world.ctx("WZ"), "nonsense!").reason == "invalid-barcode"
    # A lost item that turns up is found on check-in.
    r = circ.checkin(world.ctx("XT"), "X0000003")
    assert r.ok and "找回" in r.screen_message and world.item("X0000003")["status"] == "available"
    assert circ.library_exists("xt") and not circ.library_exists("NOPE")
    assert circ.library_name("WZ") == "王江泾镇分馆"


def test_every_circulation_event_carries_the_four_library_facts(world: World) -> None:
    circ = world.circ
    bib = _bib(world, "X0000001")
    circ.checkout(world.ctx("CEN"), "W0000001", "X0000001")
    circ.place_hold(world.ctx("CEN"), "P0000001", bib_id=bib, pickup="WZ")
    circ.renew(world.at("CEN", after=dt.timedelta(days=5)), "W0000001", "X0000003")
    circ.checkin(world.at("CEN", after=dt.timedelta(days=6)), "X0000001")
    circ.checkin(world.at("WZ", after=dt.timedelta(days=7)), "X0000001")
    circ.checkout(world.at("WZ", after=dt.timedelta(days=7, minutes=1)), "P0000001", "X0000001")
    kinds = set()
    for ev in world.events():
        if ev["type"] in ("items-registered", "patrons-registered", "library-added", "range-added",
                          "location-added", "policy-set"):
            continue
        kinds.add(ev["type"])
        assert ev["library_code"] and ev["terminal"] == "sc-1", ev
        if ev["item_id"] is not None:
            assert ev["item_home_code"] == "XT", ev
        if ev["patron_id"] is not None:
            assert ev["patron_home_code"] in ("CEN", "WZ"), ev
    assert {"checkout", "hold-placed", "return", "checkin", "transit-sent", "transit-received",
            "hold-trapped", "hold-filled"} <= kinds


def test_lost_race_is_answered_politely(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import IntegrityError

    circ = world.circ
    calls = []

    def always_races(*_a: object, **_k: object) -> Iterator[None]:
        calls.append(1)
        raise IntegrityError("insert", None, Exception("duplicate key"))

    monkeypatch.setattr(circ, "_due", always_races)
    r = circ.checkout(world.ctx("CEN"), "P0000001", "X0000001")
    assert (r.ok, r.reason) == (False, "busy") and len(calls) == 3
    assert world.item("X0000001")["status"] == "available"


def test_hold_shelf_expiry_and_a_misplaced_hold_shelf_copy(world: World) -> None:
    circ = world.circ
    bib = _bib(world, "X0000001")
    assert circ.place_hold(world.ctx("XT"), "P0000001", bib_id=bib, pickup="XT").ok
    assert circ.checkin(world.ctx("XT"), "X0000001").alert_type == "01"
    # The copy wanders off the hold shelf and is returned at WZ: back to XT for the hold.
    r = circ.checkin(world.at("WZ", after=dt.timedelta(hours=1)), "X0000001")
    assert r.alert_type == "02" and r.destination == "XT" and r.hold_patron == "P0****01"
    r = circ.checkin(world.at("XT", after=dt.timedelta(hours=5)), "X0000001")
    assert r.alert_type == "01"
    # Nobody collects it: after the shelf days the hold expires and staff pull the copy.
    assert circ.expire_holds(world.at("XT", after=dt.timedelta(days=3))) == []
    assert circ.expire_holds(world.at("XT", after=dt.timedelta(days=9))) == ["X0000001"]
    assert world.item("X0000001")["status"] == "available"
    with world.cluster.store.read() as conn:
        assert conn.execute(select(holds.c.status)).scalars().all() == ["expired"]
    assert world.events("hold-expired")[0]["library_code"] == "XT"


def test_patron_information_without_a_pin_and_cancelled_shelf_hold(world: World) -> None:
    circ = world.circ
    ctx = world.ctx("xt")  # library codes are normalised too
    circ.set_patron_password("P0000001", "2468")
    assert circ.checkout(ctx, "P0000001", "X0000004").ok
    pi = circ.patron_information(ctx, "P0000001")  # the terminal did not ask for the PIN
    assert not pi.valid_password and pi.charged_items == ["X0000004"]
    assert circ.place_hold(ctx, "P0000002", barcode="X0000003", pickup="XT").ok
    assert circ.checkin(ctx, "X0000003").alert_type == "01"
    r = circ.cancel_hold(ctx, "P0000002", barcode="X0000003")
    assert r.ok and "预约书架" in r.screen_message
    it = world.item("X0000003")
    assert it["status"] == "available" and it["last_scan_at"] is None
    # Damaged copies are kept aside when returned.
    assert circ.checkin(world.at("XT", after=dt.timedelta(minutes=1)), "X0000004").loan_closed
    world.set_item("X0000004", status="damaged")
    back = circ.checkin(world.at("XT", after=dt.timedelta(minutes=2)), "X0000004")
    assert back.ok and back.alert_type == "99" and world.item("X0000004")["status"] == "damaged"


def test_any_input_is_answered_never_raised(world: World) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    circ = world.circ
    codes = st.one_of(st.text(max_size=40), st.sampled_from(["X0000001", "P0000001", "", "９７８７０２０００２２０７", "A12B"]))

    @settings(max_examples=40, deadline=None)
    @given(lib=st.one_of(st.sampled_from(["CEN", "xt", "WZ"]), st.text(max_size=8)), card=codes, barcode=codes)
    def run(lib: str, card: str, barcode: str) -> None:
        ctx = Ctx(library=lib, now=T0)
        for r in (circ.checkout(ctx, card, barcode), circ.checkin(ctx, barcode), circ.renew(ctx, card, barcode),
                  circ.place_hold(ctx, card, barcode=barcode), circ.item_information(ctx, barcode),
                  circ.patron_status(ctx, card, password=barcode), circ.fee_paid(ctx, card, 10)):
            assert isinstance(r.ok, bool) and r.screen_message
            if not r.ok:
                assert r.reason

    run()


def test_raw_scans_are_kept_masked_in_the_audit_trail(world: World) -> None:
    assert world.circ.checkout(world.ctx("CEN"), "P0000001", "A30000001B\r").ok
    (ev,) = world.events("checkout")
    assert json.loads(ev["detail"])["raw"] == "A30000001B\r"
