"""The in-process rule cache and the one-round-trip reads of the hot circulation path.

Two :class:`Circulation` instances on one database stand for two hub processes: a policy or
holiday change made through one must govern the very next transaction of the other (the
version token in ``meta``), on SQLite and on PostgreSQL. Library changes made behind the
service (the cluster's ``branch`` commands) are seen because the library rows are read in
every transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from ils_bridge.circulation import Circulation, Ctx
from ils_bridge.cluster import Cluster
from ils_bridge.policies import RULES_VERSION_KEY
from ils_bridge.store.schema import circ_policies, libraries, meta

from .conftest import SECRET

T0 = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


def _pair(c: Cluster) -> tuple[Circulation, Circulation]:
    def make() -> Circulation:
        return Circulation(c.store, normalisers=c.normalisers, secret=SECRET, clock=lambda: T0)

    c.add_item("X0000001", library="XT", title="红楼梦")
    c.add_item("X0000002", library="XT", title="西游记")
    c.add_patron("P0000001", library="CEN", name="张三")
    return make(), make()


def _days(due: dt.datetime | None) -> int:
    assert due is not None
    start = T0.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    return (due.astimezone(dt.timezone(dt.timedelta(hours=8))).date() - start).days


def _cycle(circ: Circulation, barcode: str) -> int:
    r = circ.checkout(Ctx("XT", now=T0), "P0000001", barcode)
    assert r.ok, r
    assert circ.checkin(Ctx("XT", now=T0), barcode).ok
    return _days(r.due_at)


def test_a_policy_set_by_one_process_governs_the_next_checkout_of_another(cluster3: Cluster) -> None:
    a, b = _pair(cluster3)
    assert _cycle(b, "X0000001") == 30  # b has the defaults cached now
    a.set_policy("XT", "*", loan_days=14)
    assert _cycle(b, "X0000002") == 14
    a.set_policy("CEN", "*", loan_days=21)  # inherited only where XT says nothing
    a.set_policy("XT", "*", loan_days=None)
    assert _cycle(b, "X0000001") == 21
    assert b.effective_policy("XT", "book").origin["loan_days"] == "CEN/*"


def test_holidays_added_and_removed_elsewhere_move_the_due_date(cluster3: Cluster) -> None:
    a, b = _pair(cluster3)
    assert _cycle(b, "X0000001") == 30
    due_day = T0.astimezone(dt.timezone(dt.timedelta(hours=8))).date() + dt.timedelta(days=30)
    a.add_holiday("*", due_day, "闭馆")
    assert _cycle(b, "X0000001") == 31
    a.add_holiday("XT", due_day + dt.timedelta(days=1))
    assert _cycle(b, "X0000001") == 32
    assert a.remove_holiday("*", due_day)
    assert _cycle(b, "X0000001") == 30


def test_every_rule_change_writes_a_new_version_token(cluster3: Cluster) -> None:
    a, _b = _pair(cluster3)

    def token() -> str | None:
        with cluster3.store.read() as conn:
            return conn.execute(select(meta.c.value).where(meta.c.key == RULES_VERSION_KEY)).scalar()

    seen = {token()}
    a.set_policy("XT", "book", renewals_max=1)
    seen.add(token())
    a.add_holiday("XT", dt.date(2027, 1, 1))
    seen.add(token())
    a.remove_holiday("XT", dt.date(2027, 1, 1))
    seen.add(token())
    assert len(seen) == 4 and None in seen


def test_rules_changed_behind_the_service_are_picked_up_after_the_ttl(cluster3: Cluster) -> None:
    a, b = _pair(cluster3)
    a.set_policy("XT", "*", loan_days=14)
    assert _cycle(b, "X0000001") == 14
    with cluster3.store.write() as conn:  # hand-written SQL: no version token
        conn.execute(update(circ_policies).where(circ_policies.c.library == "XT").values(loan_days=7))
    assert _cycle(b, "X0000001") == 14  # still cached
    b._rules.ttl = 0.0
    assert _cycle(b, "X0000001") == 7


def test_library_changes_are_seen_at_once(cluster3: Cluster) -> None:
    _a, b = _pair(cluster3)
    assert _cycle(b, "X0000001") == 30
    b.set_policy("WZ", "*", loan_days=10)
    with cluster3.store.write() as conn:  # make WZ the parent of XT behind the service's back
        wz = conn.execute(select(libraries.c.id).where(libraries.c.code == "WZ")).scalar_one()
        conn.execute(update(libraries).where(libraries.c.code == "XT").values(parent_id=wz))
    assert _cycle(b, "X0000001") == 10
    with cluster3.store.write() as conn:
        conn.execute(update(libraries).where(libraries.c.code == "XT").values(status="removed"))
    r = b.checkout(Ctx("XT", now=T0), "P0000001", "X0000002")
    assert not r.ok and r.reason == "unknown-library"
