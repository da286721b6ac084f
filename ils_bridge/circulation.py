"""Circulation services of the hub: check-out, check-in routing, renewals, holds, fees.

One ledger for the whole cluster (通借通还): an item of any library may be lent and returned at
any library. Every public method is one database transaction and answers with a result whose
``ok``/``screen_message`` a SIP2 terminal can show as is; bad input, unknown codes and business
refusals are answers, never exceptions. The administrative methods for the CLI
(:meth:`Circulation.set_policy`, :meth:`~Circulation.add_holiday`,
:meth:`~Circulation.set_patron_password`) raise :class:`~ils_bridge.errors.HubError` instead.

Choices (domain.md §1.2, §6.3):

* **Whose rules govern a loan**: the item's *home* library (Koha's CircControl =
  ItemHomeLibrary), inheriting from its ancestors up to the central library, then ``*``
  (:mod:`ils_bridge.policies`). The loan records it as ``policy_library_id``.
* **Max loans** are counted per library context (dp2): a check-out is refused when the patron
  already holds ``max_loans`` open loans whose policy library is the item's home library.
  Overdues and fines count cluster-wide.
* **Due dates** end at 23:59:59 local time and move past the closed days of the item's home
  library and of the whole cluster (``*``).
* **Check-in** follows domain.md §6.3: unknown → refuse; in transit → receive here or re-route;
  close the loan (fine once per loan); fill a hold (here ``CV=01``, elsewhere ``CV=02``);
  then the return policy of the item's home library (``return-home`` / ``float`` /
  ``return-to-issuing``, ``CV=04``); else shelve here. A second scan at the same library
  within ``double_scan_seconds`` repeats the first answer and writes nothing.
* Concurrency: the item (and patron) rows are locked ``FOR UPDATE`` on PostgreSQL; SQLite
  writers are serialised by ``BEGIN IMMEDIATE``. The invariants (≤1 open loan, ≤1 open transit
  per item, one overdue fine per loan) are database constraints; a transaction that loses a race
  is retried, and after three losses the terminal gets a polite "try again".
* Speed (the self-check path, issue 3): check-out and check-in run prebuilt statements
  (:mod:`ils_bridge.store.statements`; on SQLite straight on the DBAPI connection of the
  transaction), read the item with its title, location, open loan (and its patron), open
  transit and a waiting-hold flag in one joined query, the patron's money/overdue/loan counts in
  another, and write their events in one batch at the end. Policies and holidays come from an
  in-process :class:`~ils_bridge.policies.RuleCache` checked once per transaction against a
  version token in ``meta`` that :meth:`Circulation.set_policy`, ``add_holiday`` and
  ``remove_holiday`` change in the same transaction; the library rows are read afresh in every
  transaction (the first statement, which also carries the token).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple, TypeAlias, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    RowMapping,
    Transaction,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from . import policies, privacy
from .cluster import CIRC, Cluster
from .codes import CodeError, CodeKind, Normalisers
from .errors import InvalidInput, NotFound
from .passwords import hash_password, verify_password
from .policies import Policy
from .store.engine import Store
from .store.schema import (
    bibs,
    circ_policies,
    events,
    fees,
    holds,
    holidays,
    identifiers,
    items,
    libraries,
    loans,
    locations,
    meta,
    patrons,
    transits,
)
from .store.statements import Stmt

__all__ = [
    "CheckinResult",
    "CheckoutResult",
    "Circulation",
    "Ctx",
    "FeeResult",
    "HoldResult",
    "ItemInfo",
    "PatronInfo",
    "PatronStatus",
    "RenewAllResult",
    "hash_password",
    "verify_password",
]

log = logging.getLogger(__name__)

R = TypeVar("R")

#: A row read from the database (SQLAlchemy's ``RowMapping`` or a plain dict).
Row: TypeAlias = Mapping[str, Any] | RowMapping

#: SIP2 circulation status (item information, 18) for each item status.
SIP_STATUS: Mapping[str, str] = {
    "available": "03",
    "on-loan": "04",
    "on-hold-shelf": "08",
    "in-transit": "10",
    "lost": "12",
    "missing": "13",
    "damaged": "01",
    "withdrawn": "01",
}

ACTIVE_HOLD = ("waiting", "in-transit", "on-shelf")
RETRIES = 3
BUSY = "系统繁忙，此书刚被其他终端处理，请稍后再试。"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC (SQLite hands datetimes back naive; they were stored as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _opt_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(value)


def yuan(cents: int) -> str:
    """``350`` → ``"3.50"`` (SIP2 BV)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


# --------------------------------------------------------------------------- requests/results


@dataclass(frozen=True)
class Ctx:
    """Where a request comes from: the transaction library (where the terminal stands), the
    terminal's login, and optionally the time it happened (offline uploads, tests)."""

    library: str
    terminal: str | None = None
    now: dt.datetime | None = None


@dataclass(frozen=True)
class CheckoutResult:
    """Answer to a check-out or a renewal (SIP2 12 / 30)."""

    ok: bool
    screen_message: str
    print_line: str | None = None
    reason: str | None = None  # a stable token for programs when ok is False
    barcode: str | None = None
    title: str | None = None
    due_at: dt.datetime | None = None
    renewal: bool = False  # the patron already had the item: this check-out renewed it
    renewals: int = 0
    renewals_left: int | None = None
    magnetic_media: bool = False
    desensitize: bool = False
    fee_cents: int = 0
    owner: str | None = None
    home: str | None = None
    current: str | None = None
    patron_home: str | None = None
    policy_library: str | None = None

    @property
    def renewal_ok(self) -> bool:
        return self.renewal


@dataclass(frozen=True)
class RenewAllResult:
    ok: bool
    screen_message: str
    print_line: str | None = None
    reason: str | None = None
    renewed: tuple[str, ...] = ()
    unrenewed: tuple[str, ...] = ()
    why: Mapping[str, str] = field(default_factory=dict)  # unrenewed barcode → message


@dataclass(frozen=True)
class CheckinResult:
    """Answer to a check-in (SIP2 10 with Evergreen's CV/CT extensions)."""

    ok: bool
    screen_message: str
    print_line: str | None = None
    reason: str | None = None
    barcode: str | None = None
    title: str | None = None
    alert: bool = False
    alert_type: str | None = None  # "01" hold here, "02" hold elsewhere, "04" send, "99" other
    destination: str | None = None  # library code → CT
    destination_name: str | None = None
    hold_patron: str | None = None  # masked card of the patron the hold is for
    hold_patron_id: str | None = None
    hold_patron_name: str | None = None  # masked name
    hold_pickup: str | None = None
    hold_expires_at: dt.datetime | None = None
    owner: str | None = None
    home: str | None = None
    current: str | None = None
    permanent_location: str | None = None
    patron_home: str | None = None  # of the patron whose loan was closed
    item_status: str | None = None
    loan_closed: bool = False
    due_at: dt.datetime | None = None  # of the loan closed
    fee_cents: int = 0  # overdue fine charged by this return
    resensitize: bool = False
    magnetic_media: bool = False
    double_scan: bool = False  # a repeat within the interval: nothing was done


@dataclass(frozen=True)
class HoldResult:
    ok: bool
    screen_message: str
    print_line: str | None = None
    reason: str | None = None
    available: bool = False
    queue_position: int | None = None
    pickup: str | None = None
    title: str | None = None
    bib_id: int | None = None
    hold_id: int | None = None
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class PatronStatus:
    """SIP2 patron status (24): the 14 flags as booleans, plus counts and money."""

    ok: bool
    screen_message: str
    print_line: str | None = None
    reason: str | None = None
    valid_patron: bool = False
    valid_password: bool = False
    name: str | None = None
    card: str | None = None  # masked
    home_library: str | None = None
    status: str | None = None
    charge_privileges_denied: bool = True
    renewal_privileges_denied: bool = True
    recall_privileges_denied: bool = True
    hold_privileges_denied: bool = True
    card_reported_lost: bool = False
    too_many_items_charged: bool = False
    too_many_items_overdue: bool = False
    too_many_renewals: bool = False
    too_many_claims_of_items_returned: bool = False
    too_many_items_lost: bool = False
    excessive_outstanding_fines: bool = False
    excessive_outstanding_fees: bool = False
    recall_overdue: bool = False
    too_many_items_billed: bool = False
    fines_cents: int = 0  # all open fees and fines
    currency: str = "CNY"
    charged_count: int = 0
    overdue_count: int = 0
    hold_available_count: int = 0
    hold_waiting_count: int = 0
    charge_limit: int = 0
    hold_limit: int = policies.HOLD_LIMIT
    expires_on: dt.date | None = None

    @property
    def fee_amount(self) -> str:
        return yuan(self.fines_cents)


@dataclass(frozen=True)
class PatronInfo(PatronStatus):
    """SIP2 patron information (64): the status plus the item lists (whole lists; the SIP2
    layer slices BP..BQ)."""

    hold_items: list[str] = field(default_factory=list)  # on the hold shelf: barcodes
    unavailable_holds: list[str] = field(default_factory=list)  # waiting / in transit: titles
    overdue_items: list[str] = field(default_factory=list)  # barcodes
    charged_items: list[str] = field(default_factory=list)  # barcodes
    fine_items: list[str] = field(default_factory=list)  # "F12 3.50 逾期 《题名》"


@dataclass(frozen=True)
class ItemInfo:
    ok: bool
    screen_message: str
    print_line: str | None = None
    reason: str | None = None
    barcode: str | None = None
    title: str | None = None
    circulation_status: str = "01"
    status: str | None = None
    item_type: str | None = None
    owner: str | None = None
    home: str | None = None
    current_location: str | None = None
    permanent_location: str | None = None
    due_at: dt.datetime | None = None
    hold_queue_length: int = 0
    destination: str | None = None
    hold_pickup: str | None = None
    properties: str | None = None
    magnetic_media: bool = False


@dataclass(frozen=True)
class FeeResult:
    ok: bool
    screen_message: str
    print_line: str | None = None
    reason: str | None = None
    paid_cents: int = 0
    outstanding_cents: int = 0
    transaction_id: str | None = None
    duplicate: bool = False  # the transaction id was already applied; nothing changed
    fee_ids: tuple[int, ...] = ()


class Refusal(NamedTuple):
    reason: str
    message: str


class _Race(Exception):
    """Another process changed the rows under us: retry the transaction."""


class _Abort(Exception):
    """Roll the transaction back and answer ``result``."""

    def __init__(self, result: object) -> None:
        super().__init__("abort")
        self.result = result


#: ``json.dumps(detail, ensure_ascii=False, default=str)`` without building an encoder per call.
_DETAIL_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _raw(raw: str, value: str) -> dict[str, str]:
    """The scanned text for the audit trail, when it differs from the canonical code."""
    return {"raw": privacy.mask_text(raw[:64])} if raw != value else {}


def _fillable(item: Row) -> Any:
    """Holds that ``item`` can fill: on this copy, or on its title without a copy named."""
    if item["bib_id"] is None:
        return holds.c.item_id == item["id"]
    return or_(holds.c.item_id == item["id"], and_(holds.c.item_id.is_(None), holds.c.bib_id == item["bib_id"]))


def _lock_item(conn: Connection, item_id: int) -> Row:
    return conn.execute(select(items).where(items.c.id == item_id).with_for_update()).mappings().one()


def _is_race(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in ("40001", "40P01")


# ------------------------------------------------------------------- prebuilt statements
# Built once (see ils_bridge.store.statements): the hot check-out / check-in path constructs no
# SQL per call.

#: Every library row, with the rules version token (policies.RULES_VERSION_KEY) alongside:
#: the first statement of every circulation transaction.
_LIBS = Stmt(
    select(
        libraries,
        select(meta.c.value).where(meta.c.key == policies.RULES_VERSION_KEY).scalar_subquery().label("_rules_version"),
    ).order_by(libraries.c.id)
)
_RULES_VERSION = Stmt(select(meta.c.value).where(meta.c.key == policies.RULES_VERSION_KEY))

_LOAN_PREFIX, _TRANSIT_PREFIX, _LOAN_PATRON_PREFIX = "_loan_", "_transit_", "_lpatron_"
_loan_patron = patrons.alias("loan_patron")
_waiting_hold = exists().where(
    holds.c.status == "waiting",
    or_(holds.c.item_id == items.c.id, and_(holds.c.item_id.is_(None), holds.c.bib_id == items.c.bib_id)),
)
#: The item with everything a check-out or check-in reads about it, in one round trip: title,
#: home location, the open loan and its patron, the open transit, and whether any waiting hold
#: could take it. (At most one open loan and one open transit per item: unique indexes.)
_ITEM_FULL = (
    select(
        items,
        bibs.c.title.label("_title"),
        locations.c.code.label("_loc_code"),
        locations.c.library_id.label("_loc_library_id"),
        locations.c.loanable.label("_loc_loanable"),
        *[c.label(_LOAN_PREFIX + c.name) for c in loans.c],
        *[c.label(_TRANSIT_PREFIX + c.name) for c in transits.c],
        *[c.label(_LOAN_PATRON_PREFIX + c.name) for c in _loan_patron.c],
        _waiting_hold.label("_waiting_hold"),
    )
    .select_from(
        items.outerjoin(bibs, bibs.c.id == items.c.bib_id)
        .outerjoin(locations, locations.c.id == items.c.home_location_id)
        .outerjoin(loans, and_(loans.c.item_id == items.c.id, loans.c.returned_at.is_(None)))
        .outerjoin(_loan_patron, _loan_patron.c.id == loans.c.patron_id)
        .outerjoin(transits, and_(transits.c.item_id == items.c.id, transits.c.received_at.is_(None),
                                  transits.c.cancelled_at.is_(None)))
    )
)
_ITEM_FULL_BY_BARCODE = Stmt(_ITEM_FULL.where(items.c.barcode == bindparam("barcode")))
_ITEM_FULL_BY_ID = Stmt(_ITEM_FULL.where(items.c.id == bindparam("item_id")))
#: PostgreSQL: lock the item row first, then read the joined row on a fresh snapshot (a locking
#: read of a join would see the other tables as of before the wait).
_LOCK_ITEM_BY_BARCODE = Stmt(select(items.c.id).where(items.c.barcode == bindparam("barcode")).with_for_update())
_PATRON_BY_CARD = Stmt(select(patrons).where(patrons.c.card == bindparam("card")))
_PATRON_BY_CARD_LOCK = Stmt(select(patrons).where(patrons.c.card == bindparam("card")).with_for_update())

_pid: Any = bindparam("patron_id")
#: What a check-out checks about the patron, in one round trip: open fees, overdue loans, open
#: loans under the item's home library, and the patron's own waiting hold this item fills.
_CHECKOUT_FACTS = Stmt(
    select(
        select(func.coalesce(func.sum(fees.c.amount_cents - fees.c.paid_cents), 0))
        .where(fees.c.patron_id == _pid, fees.c.status == "open").scalar_subquery().label("fees_total"),
        select(func.count()).select_from(loans)
        .where(loans.c.patron_id == _pid, loans.c.returned_at.is_(None), loans.c.due_at < bindparam("now"))
        .scalar_subquery().label("overdue"),
        select(func.count()).select_from(loans)
        .where(loans.c.patron_id == _pid, loans.c.returned_at.is_(None),
               loans.c.policy_library_id == bindparam("policy_library_id"))
        .scalar_subquery().label("held"),
        select(holds.c.id)
        .where(holds.c.patron_id == _pid, holds.c.status == "waiting",
               or_(holds.c.item_id == bindparam("item_id"),
                   and_(holds.c.item_id.is_(None), holds.c.bib_id == bindparam("bib_id"))))
        .order_by(holds.c.placed_at, holds.c.id).limit(1).scalar_subquery().label("own_hold_id"),
    )
)
_HOLD_BY_ID = Stmt(select(holds).where(holds.c.id == bindparam("hold_id")))
_INSERT_LOAN = Stmt(
    insert(loans).values({c: bindparam("p_" + c) for c in (
        "item_id", "patron_id", "checkout_library_id", "policy_library_id", "terminal", "checked_out_at", "due_at",
        "renewals")}).returning(loans.c.id)
)
_ITEM_LENT = Stmt(
    update(items).where(items.c.id == bindparam("p_id")).values(
        status="on-loan", current_library_id=bindparam("p_current"), last_scan_at=None, last_scan_library_id=None)
)
_CLOSE_LOAN = Stmt(
    update(loans).where(loans.c.id == bindparam("p_id"), loans.c.returned_at.is_(None))
    .values(returned_at=bindparam("p_when"), return_library_id=bindparam("p_library"))
)
_EVENT_COLUMNS = ("at", "type", "library_id", "library_code", "item_id", "patron_id", "item_home_code",
                  "patron_home_code", "terminal", "detail")
_INSERT_EVENT = Stmt(insert(events).values({c: bindparam("p_" + c) for c in _EVENT_COLUMNS}))
_ITEM_UPDATES: dict[frozenset[str], Stmt] = {}


def _item_update(keys: frozenset[str]) -> Stmt:
    """``UPDATE items SET <keys> WHERE id = :p_id``, built once per set of columns."""
    stmt = _ITEM_UPDATES.get(keys)
    if stmt is None:
        stmt = _ITEM_UPDATES[keys] = Stmt(
            update(items).where(items.c.id == bindparam("p_id")).values({k: bindparam("p_" + k) for k in sorted(keys)})
        )
    return stmt


_ITEM_KEYS = tuple(c.name for c in items.c)
_LOAN_KEYS = tuple((_LOAN_PREFIX + c.name, c.name) for c in loans.c)
_TRANSIT_KEYS = tuple((_TRANSIT_PREFIX + c.name, c.name) for c in transits.c)
_LOAN_PATRON_KEYS = tuple((_LOAN_PATRON_PREFIX + c.name, c.name) for c in _loan_patron.c)


def _split(keys: tuple[tuple[str, str], ...], row: Row) -> dict[str, Any] | None:
    """The columns ``keys`` (label, column) of ``row`` as their own row (None when absent)."""
    if row[keys[0][0]] is None:  # the id (first column) of an outer-joined row that is not there
        return None
    return {name: row[label] for label, name in keys}


class _Full(NamedTuple):
    """An item read with :data:`_ITEM_FULL`, split into its parts."""

    item: dict[str, Any]
    title: str
    location: Row  # code / library_id / loanable of the home location (values None when none)
    loan: dict[str, Any] | None
    loan_patron: dict[str, Any] | None
    transit: dict[str, Any] | None
    waiting_hold: bool


def _full(row: Row) -> _Full:
    item = {k: row[k] for k in _ITEM_KEYS}
    title = row["_title"]
    return _Full(
        item=item,
        title=str(title) if title else str(item["barcode"]),
        location={"code": row["_loc_code"], "library_id": row["_loc_library_id"], "loanable": row["_loc_loanable"]},
        loan=_split(_LOAN_KEYS, row),
        loan_patron=_split(_LOAN_PATRON_KEYS, row),
        transit=_split(_TRANSIT_KEYS, row),
        waiting_hold=bool(row["_waiting_hold"]),
    )


class GroupCommitFailed(Exception):
    """The ``COMMIT`` of a group of circulation transactions failed: none of them happened."""


class _Group:
    """An open group commit: one SQLite transaction holding the savepoints of many."""

    __slots__ = ("fut", "kept", "size", "tx")

    def __init__(self, tx: Transaction, fut: asyncio.Future[None],
                 kept: tuple[int, Connection, Callable[[], Any]]) -> None:
        self.tx = tx
        self.fut = fut
        self.kept = kept
        self.size = 0


class _TxState:
    """What one transaction read once: the library rows and the rules snapshot."""

    __slots__ = ("by_code", "libs", "libs_key", "rules", "tx")

    def __init__(self, tx: Transaction | None, libs: dict[int, Row], by_code: dict[str, Row], libs_key: Any,
                 rules: Any) -> None:
        self.tx = tx
        self.libs = libs
        self.by_code = by_code
        self.libs_key = libs_key
        self.rules = rules


# ------------------------------------------------------------------------------ the service


class Circulation:
    """The circulation services over one store (see the module docstring for the rules)."""

    def __init__(
        self,
        store: Store,
        *,
        normalisers: Normalisers | None = None,
        secret: bytes,
        clock: Callable[[], dt.datetime] = _utcnow,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.store = store
        self.normalisers = normalisers or Normalisers.default()
        self._cluster = Cluster(store, normalisers=self.normalisers, secret=secret)
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        self._rules = policies.RuleCache()
        self._local = threading.local()  # .state: the _TxState of the thread's current transaction
        self._library_codes: dict[tuple[str, int], str | None] = {}  # (raw code, steps) → normalised
        self._kept: tuple[int, Connection, Callable[[], Any]] | None = None  # see _write_tx
        self._kept_lock = threading.Lock()
        # Group commit (see enable_group_commit): the thread of the event loop, the open group.
        self._group_thread: int | None = None
        self._group: _Group | None = None
        self.group_stats = [0, 0]  # [groups committed, transactions in them] (bench aid)

    # ================================================================ plumbing
    def _now(self, ctx: Ctx) -> dt.datetime:
        return _utc(ctx.now) if ctx.now is not None else _utc(self.clock())

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[Connection]:
        """:meth:`Store.write` — on SQLite, for the first thread that writes (the SIP2 event
        loop), over a connection kept checked out: the pool round trip and Connection set-up
        cost as much as two statements. Same transaction semantics: ``begin()`` fires the
        engine's ``BEGIN IMMEDIATE`` and an error rolls back; a connection left in a bad state
        is closed and replaced."""
        me = threading.get_ident()
        kept = self._kept
        if kept is None and self.store.is_sqlite:
            with self._kept_lock:
                if self._kept is None:
                    conn = self.store.engine.connect()
                    self._kept = (me, conn, weakref.finalize(self, conn.close))  # closed with the service
                kept = self._kept
        if kept is None or kept[0] != me:
            with self.store.write() as conn:
                yield conn
            return
        conn = kept[1]
        if me == self._group_thread:
            loop = asyncio.events._get_running_loop()
            if loop is not None:
                yield from self._grouped(conn, kept, loop)
                return
        try:
            with conn.begin():
                yield conn
        finally:
            if conn.closed or conn.invalidated or conn.in_transaction():
                self._drop_kept(kept)

    def _drop_kept(self, kept: tuple[int, Connection, Callable[[], Any]]) -> None:
        if self._kept is kept:
            self._kept = None
        with contextlib.suppress(Exception):
            kept[2]()  # close it

    # ------------------------------------------------------------ group commit
    def enable_group_commit(self) -> None:
        """Commit the write transactions that the calling thread runs in one iteration of its
        running event loop together (SQLite only; called by the SIP2 ACS from its loop).

        Each transaction runs inside a ``SAVEPOINT`` of one ``BEGIN IMMEDIATE`` transaction
        that stays open until the loop's next iteration, when one ``COMMIT`` makes the whole
        group durable; a transaction that fails rolls back to its savepoint alone. The caller
        must not answer before :meth:`take_commit`'s future is done — the answer is sent only
        once its transaction is committed, and a failed ``COMMIT`` fails every transaction of
        the group (nothing half-applied, nothing acknowledged that was lost). Under load this
        turns one commit per transaction into one per loop iteration.
        """
        if not self.store.is_sqlite:
            return
        self._group_thread = threading.get_ident()

    def take_commit(self) -> asyncio.Future[None] | None:
        """The commit the calling thread's last write transaction joined (once), or None."""
        fut: asyncio.Future[None] | None = getattr(self._local, "joined", None)
        if fut is not None:
            self._local.joined = None
        return fut

    @contextlib.contextmanager
    def _store_write(self) -> Iterator[Connection]:
        """:meth:`Store.write` for the admin services, after committing an open group of this
        thread (its new transaction would otherwise wait for the group's lock)."""
        self.flush_group()
        with self.store.write() as conn:
            yield conn

    def flush_group(self) -> None:
        """Commit the open group now (before a write on another connection of this thread)."""
        group = self._group
        if group is not None and threading.get_ident() == self._group_thread:
            self._commit_group(group)

    def _grouped(self, conn: Connection, kept: tuple[int, Connection, Callable[[], Any]],
                 loop: asyncio.AbstractEventLoop) -> Iterator[Connection]:
        group = self._group
        if group is not None and group.fut.get_loop() is not loop:
            # Left open by a loop that stopped before its next iteration: nobody was answered.
            self._fail_group(group, RuntimeError("the event loop stopped before the group commit"))
            group = None
        if group is None:
            tx = conn.begin()
            group = self._group = _Group(tx, loop.create_future(), kept)
            loop.call_soon(self._commit_group, group)
        dbapi = conn.connection.driver_connection
        assert isinstance(dbapi, sqlite3.Connection)
        try:
            dbapi.execute("SAVEPOINT circ").close()
        except Exception as exc:
            self._fail_group(group, exc)
            raise
        try:
            yield conn
        except BaseException as exc:
            try:
                dbapi.execute("ROLLBACK TO circ").close()
                dbapi.execute("RELEASE circ").close()
            except Exception as undo:  # the connection is unusable: the whole group fails
                self._fail_group(group, undo)
                raise exc from undo
            raise
        try:
            dbapi.execute("RELEASE circ").close()
        except Exception as exc:
            self._fail_group(group, exc)
            raise
        group.size += 1
        self._local.joined = group.fut

    def _commit_group(self, group: _Group) -> None:
        if self._group is not group:
            return  # already committed (flush_group) or failed
        self._group = None
        try:
            group.tx.commit()
        except Exception as exc:
            log.error("group commit of %d circulation transaction(s) failed: %s", group.size, exc)
            self._fail_group(group, exc, current=False)
            return
        self.group_stats[0] += 1
        self.group_stats[1] += group.size
        if not group.fut.done():
            group.fut.set_result(None)

    def _fail_group(self, group: _Group, exc: BaseException, *, current: bool = True) -> None:
        """Roll the whole group back and fail every transaction waiting on it."""
        if self._group is group:
            self._group = None
        with contextlib.suppress(Exception):
            group.tx.rollback()
        conn = group.kept[1]
        if conn.closed or conn.invalidated or conn.in_transaction():
            self._drop_kept(group.kept)
        if not group.fut.done():
            group.fut.set_exception(GroupCommitFailed(str(exc)))
            group.fut.exception()  # retrieved here too: a group nobody awaits logs nothing
        if current:
            self._local.joined = None

    def _write(self, fn: Callable[[Connection], R], busy: Callable[[], R]) -> R:
        """Run ``fn`` in one write transaction; retry lost races; ``busy()`` after three."""
        last: object = None
        for attempt in range(RETRIES):
            try:
                with self._write_tx() as conn:
                    return fn(conn)
            except _Abort as exc:
                return exc.result  # type: ignore[return-value]
            except IntegrityError as exc:
                last = exc.orig
                log.info("circulation lost a race (attempt %d): %s", attempt + 1, exc.orig)
            except _Race as exc:
                last = exc
                log.info("circulation lost a race (attempt %d)", attempt + 1)
            except OperationalError as exc:
                if not _is_race(exc):
                    raise
                last = exc.orig
                log.info("circulation serialisation failure (attempt %d)", attempt + 1)
        log.warning("circulation gave up after %d lost races; last: %s", RETRIES, last)
        return busy()

    def _date_text(self, when: dt.datetime) -> str:
        d = when.astimezone(self.tz).date()
        return f"{d.year}年{d.month}月{d.day}日"

    def _state(self, conn: Connection) -> _TxState:
        """The library rows and the rules snapshot for ``conn``'s transaction, read with one
        statement at its start (the rules are reloaded only when their version changed)."""
        tx = conn.get_transaction()
        st: _TxState | None = getattr(self._local, "state", None)
        if st is not None and tx is not None and st.tx is tx:
            return st
        libs: dict[int, Row] = {}
        by_code: dict[str, Row] = {}
        rows = _LIBS.all(conn)
        token = rows[0]["_rules_version"] if rows else _RULES_VERSION.scalar(conn)
        for r in rows:
            row = dict(r)
            del row["_rules_version"]
            libs[row["id"]] = by_code[row["code"]] = row
        libs_key = tuple((r["id"], r["code"], r["parent_id"], r["kind"], r["status"]) for r in libs.values())
        st = _TxState(tx, libs, by_code, libs_key, self._rules.snapshot(conn, token))
        if tx is not None:
            self._local.state = st
        return st

    def _libs(self, conn: Connection) -> dict[int, Row]:
        return self._state(conn).libs

    def _library_code(self, code: str) -> str | None:
        """``code`` normalised as a library code (None when invalid), memoised per the steps
        of the library stack (a plugin adding a step starts a fresh memo)."""
        key = (code, len(self.normalisers.steps(CodeKind.LIBRARY)))
        norm = self._library_codes.get(key, "")
        if norm == "":
            found = self.normalisers.normalise(CodeKind.LIBRARY, code)
            norm = None if isinstance(found, CodeError) else found.value
            if len(self._library_codes) > 1024:
                self._library_codes.clear()
            self._library_codes[key] = norm
        return norm

    def _library(self, conn: Connection, code: str | None) -> Row | None:
        if not code:
            return None
        norm = self._library_code(code)
        if norm is None:
            return None
        row = self._state(conn).by_code.get(norm)
        if row is None or row["status"] != "active":
            return None
        return row

    def _here(self, conn: Connection, ctx: Ctx) -> Row | Refusal:
        row = self._library(conn, ctx.library)
        if row is None:
            return Refusal("unknown-library", f"本终端所属的馆（{ctx.library or '未设置'}）未在馆群登记，请联系工作人员。")
        return row

    def library_exists(self, code: str) -> bool:
        with self.store.read() as conn:
            return self._library(conn, code) is not None

    def library_name(self, code: str) -> str | None:
        with self.store.read() as conn:
            row = self._library(conn, code)
            return None if row is None else str(row["name"])

    # ---------------------------------------------------------------- lookups
    def _identifier(self, conn: Connection, value: str) -> Row | None:
        return conn.execute(
            select(identifiers).where(identifiers.c.namespace == CIRC, identifiers.c.value == value)
        ).mappings().first()

    def _patron_by_card_text(self, conn: Connection, raw: str) -> Row | None:
        code = self.normalisers.normalise(CodeKind.CARD, raw)
        if isinstance(code, CodeError):
            return None
        stored, _shown, _h = self._cluster.card_storage(code.value)
        return conn.execute(select(patrons).where(patrons.c.card == stored)).mappings().first()

    def _find_item(self, conn: Connection, raw: str, *, lock: bool = False) -> Row | Refusal:
        code = self.normalisers.normalise(CodeKind.BARCODE, raw)
        if isinstance(code, CodeError):
            if code.code == "looks-like-isbn":
                return Refusal(
                    "looks-like-isbn",
                    "这是书上的ISBN条码（书号），不是图书馆的馆藏条码。请扫描图书馆贴的条码。",
                )
            if self._patron_by_card_text(conn, raw) is not None:
                return Refusal("is-patron-card", "这是读者证，不是图书条码。请扫描图书上的馆藏条码。")
            return Refusal("invalid-barcode", f"无法识别此条码（{code.reason}）。请交给工作人员处理。")
        item_id: int | None = conn.execute(select(items.c.id).where(items.c.barcode == code.value)).scalar()
        if item_id is None:
            ident = self._identifier(conn, code.value)
            if ident is not None and ident["entity_type"] == "item":
                item_id = int(ident["entity_id"])
            elif (ident is not None and ident["entity_type"] == "patron") or self._patron_by_card_text(
                conn, raw
            ) is not None:
                return Refusal("is-patron-card", "这是读者证，不是图书条码。请扫描图书上的馆藏条码。")
        if item_id is None:
            return Refusal("unknown-item", f"条码 {code.value} 不是本馆群的馆藏。请交给工作人员处理。")
        q = select(items).where(items.c.id == item_id)
        if lock:
            q = q.with_for_update()
        return conn.execute(q).mappings().one()

    def _find_item_full(self, conn: Connection, raw: str) -> _Full | Refusal:
        """The item scanned as ``raw``, locked (PostgreSQL: ``FOR UPDATE``), with its title,
        location, open loan, open transit and waiting-hold flag (:data:`_ITEM_FULL`)."""
        code = self.normalisers.normalise(CodeKind.BARCODE, raw)
        row: Row | None = None
        if not isinstance(code, CodeError):
            if self.store.is_sqlite:  # BEGIN IMMEDIATE: this transaction is the only writer
                row = _ITEM_FULL_BY_BARCODE.first(conn, barcode=code.value)
            else:
                item_id = _LOCK_ITEM_BY_BARCODE.scalar(conn, barcode=code.value)
                if item_id is not None:
                    row = _ITEM_FULL_BY_ID.first(conn, item_id=item_id)
        if row is None:  # identifiers, refusals: the general path
            found = self._find_item(conn, raw, lock=True)
            if isinstance(found, Refusal):
                return found
            row = _ITEM_FULL_BY_ID.first(conn, item_id=found["id"])
            assert row is not None
        return _full(row)

    def _find_patron(self, conn: Connection, raw: str, *, lock: bool = False) -> Row | Refusal:
        code = self.normalisers.normalise(CodeKind.CARD, raw)
        if isinstance(code, CodeError):
            barcode = self.normalisers.normalise(CodeKind.BARCODE, raw)
            if not isinstance(barcode, CodeError) and conn.execute(
                select(items.c.id).where(items.c.barcode == barcode.value)
            ).first():
                return Refusal("is-item-barcode", "这是图书条码，不是读者证。请先扫描读者证。")
            return Refusal("invalid-card", f"无法识别此读者证号（{code.reason}）。请联系工作人员。")
        # Only an 18-character card can be a resident ID (stored as a keyed hash): any other
        # card is stored as it is (Cluster.card_storage), without normalising it again.
        stored = self._cluster.card_storage(code.value)[0] if len(code.value) == 18 else code.value
        row = (_PATRON_BY_CARD_LOCK if lock else _PATRON_BY_CARD).first(conn, card=stored)
        if row is not None:
            return row
        ident = self._identifier(conn, stored)
        if ident is not None:
            if ident["entity_type"] == "item":
                return Refusal("is-item-barcode", "这是图书条码，不是读者证。请先扫描读者证。")
            if ident["entity_type"] == "patron":
                return Refusal("card-inactive", "此读者证已停用（已换发新证）。请使用新证或联系工作人员。")
        return Refusal("unknown-patron", "读者证无效：馆群中没有此读者。请联系工作人员办证。")

    def _patron_refusal(self, patron: Row, now: dt.datetime) -> Refusal | None:
        if patron["status"] == "closed":
            return Refusal("patron-closed", "此读者证已注销，不能借还操作。请联系工作人员。")
        if patron["status"] == "blocked":
            why = f"（{patron['block_reason']}）" if patron["block_reason"] else ""
            return Refusal("patron-blocked", f"您的读者证已被暂停使用{why}。请联系工作人员。")
        expires = patron["expires_on"]
        if expires is not None and expires < now.astimezone(self.tz).date():
            return Refusal("patron-expired", f"您的读者证已于{expires.year}年{expires.month}月{expires.day}日过期，请到服务台续期。")
        return None

    def _title(self, conn: Connection, item: Row) -> str:
        if item["bib_id"] is not None:
            title = conn.execute(select(bibs.c.title).where(bibs.c.id == item["bib_id"])).scalar()
            if title:
                return str(title)
        return str(item["barcode"])

    def _permanent_location(self, conn: Connection, item: Row, codes: Mapping[int, Row]) -> str:
        home = codes[item["home_library_id"]]["code"]
        if item["home_location_id"] is not None:
            loc = conn.execute(
                select(locations.c.code).where(
                    locations.c.id == item["home_location_id"], locations.c.library_id == item["home_library_id"]
                )
            ).scalar()
            if loc:
                return f"{home}-{loc}"
        return str(home)

    def _open_loan(self, conn: Connection, item_id: int) -> Row | None:
        return conn.execute(
            select(loans).where(loans.c.item_id == item_id, loans.c.returned_at.is_(None))
        ).mappings().first()

    def _open_transit(self, conn: Connection, item_id: int) -> Row | None:
        return conn.execute(
            select(transits).where(
                transits.c.item_id == item_id, transits.c.received_at.is_(None), transits.c.cancelled_at.is_(None)
            )
        ).mappings().first()

    def _policy(self, conn: Connection, library_code: str, item_type: str) -> Policy:
        st = self._state(conn)
        return policies.RuleCache.policy(st.rules, st.libs_key, st.libs.values(), library_code, item_type)

    def _due(self, conn: Connection, start: dt.datetime, days: int, library_code: str) -> dt.datetime:
        closed = policies.RuleCache.closed(self._state(conn).rules, (library_code, "*"))
        return policies.due_at(start, days, closed, self.tz)

    def _bump_rules(self, conn: Connection) -> None:
        """A new rules version token, in the transaction that changes policies or holidays
        (see :class:`ils_bridge.policies.RuleCache`)."""
        token = uuid.uuid4().hex
        key = policies.RULES_VERSION_KEY
        if not conn.execute(update(meta).where(meta.c.key == key).values(value=token)).rowcount:
            conn.execute(insert(meta).values(key=key, value=token))
        self._rules.invalidate()

    def _event_row(
        self,
        type_: str,
        *,
        ctx: Ctx,
        at: dt.datetime,
        here: Row | None,
        libs: Mapping[int, Row],
        item: Row | None = None,
        patron: Row | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The parameters of :data:`_INSERT_EVENT` for one event with the four library facts:
        transaction library, item home, patron home and terminal (domain.md §6.2)."""
        return {
            "p_at": at,
            "p_type": type_,
            "p_library_id": here["id"] if here is not None else None,
            "p_library_code": here["code"] if here is not None else None,
            "p_item_id": item["id"] if item is not None else None,
            "p_patron_id": patron["id"] if patron is not None else None,
            "p_item_home_code": libs[item["home_library_id"]]["code"] if item is not None else None,
            "p_patron_home_code": libs[patron["home_library_id"]]["code"] if patron is not None else None,
            "p_terminal": ctx.terminal,
            "p_detail": _DETAIL_JSON(detail) if detail else None,
        }

    def _event(
        self,
        conn: Connection,
        type_: str,
        *,
        ctx: Ctx,
        at: dt.datetime,
        here: Row | None,
        libs: Mapping[int, Row],
        item: Row | None = None,
        patron: Row | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append an event with the four library facts: transaction library, item home,
        patron home and terminal (domain.md §6.2)."""
        _INSERT_EVENT.run(conn, **self._event_row(type_, ctx=ctx, at=at, here=here, libs=libs, item=item,
                                                  patron=patron, detail=detail))

    def _patron_money(self, conn: Connection, patron_id: int) -> tuple[int, int]:
        """(all open fees, open overdue fines) outstanding, in cents."""
        rows = conn.execute(
            select(fees.c.kind, func.sum(fees.c.amount_cents - fees.c.paid_cents))
            .where(fees.c.patron_id == patron_id, fees.c.status == "open")
            .group_by(fees.c.kind)
        ).all()
        total = sum(int(r[1] or 0) for r in rows)
        fines = sum(int(r[1] or 0) for r in rows if r[0] == "overdue")
        return total, fines

    def _overdue_count(self, conn: Connection, patron_id: int, now: dt.datetime) -> int:
        return int(
            conn.execute(
                select(func.count()).select_from(loans).where(
                    loans.c.patron_id == patron_id, loans.c.returned_at.is_(None), loans.c.due_at < now
                )
            ).scalar_one()
        )

    def _loan_count(self, conn: Connection, patron_id: int, policy_library_id: int | None = None) -> int:
        q = select(func.count()).select_from(loans).where(
            loans.c.patron_id == patron_id, loans.c.returned_at.is_(None)
        )
        if policy_library_id is not None:
            q = q.where(loans.c.policy_library_id == policy_library_id)
        return int(conn.execute(q).scalar_one())

    def _other_holds(self, conn: Connection, item: Row, patron_id: int) -> int:
        """Waiting holds of *other* patrons that this item could fill."""
        target = _fillable(item)
        return int(
            conn.execute(
                select(func.count()).select_from(holds).where(
                    holds.c.status == "waiting", holds.c.patron_id != patron_id, target
                )
            ).scalar_one()
        )

    def _next_hold(self, conn: Connection, item: Row) -> Row | None:
        """The waiting hold this item fills: item-level holds first, then the oldest."""
        target = _fillable(item)
        return conn.execute(
            select(holds)
            .where(holds.c.status == "waiting", target)
            .order_by(holds.c.item_id.is_(None), holds.c.placed_at, holds.c.id)
            .limit(1)
        ).mappings().first()

    # ================================================================ check-out
    def checkout(self, ctx: Ctx, card: str, barcode: str, *, renew_if_same_patron: bool = True) -> CheckoutResult:
        """Lend an item to a patron at ``ctx.library``."""

        def run(conn: Connection) -> CheckoutResult:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return CheckoutResult(False, here.message, reason=here.reason)
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                return CheckoutResult(False, patron.message, reason=patron.reason)
            full = self._find_item_full(conn, barcode)
            if isinstance(full, Refusal):
                return CheckoutResult(False, full.message, reason=full.reason)
            item, title, loan = full.item, full.title, full.loan
            libs = self._libs(conn)
            facts: dict[str, Any] = {
                "barcode": item["barcode"], "title": title,
                "owner": libs[item["owner_library_id"]]["code"], "home": libs[item["home_library_id"]]["code"],
                "current": libs[item["current_library_id"]]["code"],
                "patron_home": libs[patron["home_library_id"]]["code"],
            }

            def refuse(reason: str, message: str) -> CheckoutResult:
                return CheckoutResult(False, message, reason=reason, **facts)

            why = self._patron_refusal(patron, now)
            if why:
                return refuse(*why)
            if loan is not None:
                if loan["patron_id"] == patron["id"]:
                    if renew_if_same_patron:
                        renewed = self._renew_loan(
                            conn, ctx, now, here, libs, patron, item, loan, title, via_checkout=True
                        )
                        if renewed.ok or renewed.reason != "too-soon":
                            return renewed
                    # A repeated check-out (a terminal retrying after a timeout) is answered
                    # like the first one, when renewing would change nothing.
                    due = _utc(loan["due_at"])
                    return CheckoutResult(
                        True, f"《{title}》已借在您名下，请于{self._date_text(due)}前归还。", reason="already-yours",
                        due_at=due, renewals=loan["renewals"], desensitize=True,
                        policy_library=libs[loan["policy_library_id"]]["code"], **facts)
                return refuse("on-loan", f"《{title}》已被其他读者借出，不能再借。请交给工作人员处理。")
            status = item["status"]
            if status == "in-transit":
                return refuse("in-transit", f"《{title}》正在馆际运送途中，暂不能借出。请交给工作人员接收后再借。")
            if status in ("lost", "missing", "damaged", "withdrawn"):
                word = {"lost": "已登记遗失", "missing": "已登记丢失", "damaged": "已登记损坏", "withdrawn": "已注销"}[status]
                return refuse("not-loanable", f"《{title}》{word}，不能借出。请交给工作人员处理。")
            hold_to_fill: Row | None = None
            expired_hold: Row | None = None
            if status == "on-hold-shelf":
                shelf = conn.execute(
                    select(holds).where(holds.c.item_id == item["id"], holds.c.status == "on-shelf")
                ).mappings().first()
                if shelf is not None and shelf["patron_id"] == patron["id"]:
                    hold_to_fill = shelf
                elif shelf is not None and shelf["expires_at"] is not None and _utc(shelf["expires_at"]) < now:
                    expired_hold = shelf
                elif shelf is not None:
                    return refuse("on-hold-for-other", f"《{title}》是为其他读者预约保留的，不能借出。请放回预约书架。")
            if item["home_location_id"] is not None and full.location["loanable"] is False:
                return refuse("not-loanable", f"《{title}》属于不外借的馆藏，只能在馆内阅览。")
            home_code = str(libs[item["home_library_id"]]["code"])
            policy = self._policy(conn, home_code, item["item_type"])
            counts = _CHECKOUT_FACTS.first(conn, patron_id=patron["id"], now=now,
                                           policy_library_id=item["home_library_id"], item_id=item["id"],
                                           bib_id=item["bib_id"])
            assert counts is not None
            total = int(counts["fees_total"] or 0)
            if total > policy.max_fines_cents:
                return refuse("excessive-fines", f"您有未缴费用{yuan(total)}元，超过"
                              f"{yuan(policy.max_fines_cents)}元，暂不能借书。请先缴费。")
            overdue = int(counts["overdue"])
            if overdue > policy.max_overdues:
                return refuse("too-many-overdue", f"您有{overdue}册图书已逾期，暂不能借书。请先归还逾期图书。")
            held = int(counts["held"])
            if held >= policy.max_loans:
                lib_name = libs[item["home_library_id"]]["name"]
                return refuse("too-many-loans", f"您已借{lib_name}的图书{held}册，达到上限{policy.max_loans}册。请先归还部分图书。")
            due = self._due(conn, now, policy.loan_days, home_code)
            loan_id = _INSERT_LOAN.scalar(
                conn, p_item_id=item["id"], p_patron_id=patron["id"], p_checkout_library_id=here["id"],
                p_policy_library_id=item["home_library_id"], p_terminal=ctx.terminal, p_checked_out_at=now,
                p_due_at=due, p_renewals=0,
            )
            _ITEM_LENT.run(conn, p_id=item["id"], p_current=here["id"])
            pending: list[dict[str, Any]] = []
            if expired_hold is not None:
                conn.execute(update(holds).where(holds.c.id == expired_hold["id"]).values(status="expired"))
                pending.append(self._event_row("hold-expired", ctx=ctx, at=now, here=here, libs=libs, item=item,
                                               detail={"hold_id": expired_hold["id"]}))
            if hold_to_fill is None and counts["own_hold_id"] is not None:
                hold_to_fill = _HOLD_BY_ID.first(conn, hold_id=counts["own_hold_id"])
            pending.append(self._event_row(
                "checkout", ctx=ctx, at=now, here=here, libs=libs, item=item, patron=patron,
                detail={"loan_id": loan_id, "barcode": item["barcode"], "due_at": due.isoformat(),
                        "policy_library": home_code, **_raw(barcode, item["barcode"])}))
            if hold_to_fill is not None:
                conn.execute(update(holds).where(holds.c.id == hold_to_fill["id"]).values(
                    status="filled", filled_at=now, item_id=item["id"]))
                pending.append(self._event_row(
                    "hold-filled", ctx=ctx, at=now, here=here, libs=libs, item=item, patron=patron,
                    detail={"hold_id": hold_to_fill["id"], "loan_id": loan_id}))
            _INSERT_EVENT.many(conn, pending)
            return CheckoutResult(
                True, f"借书成功：《{title}》，请于{self._date_text(due)}前归还。",
                print_line=f"《{title}》 应还日期 {self._date_text(due)}",
                due_at=due, renewals_left=policy.renewals_max, desensitize=True,
                policy_library=home_code, **{**facts, "current": here["code"]},
            )

        return self._write(run, lambda: CheckoutResult(False, BUSY, reason="busy"))

    # ================================================================ renewals
    def _renewal_refusal(
        self, conn: Connection, now: dt.datetime, patron: Row, item: Row, loan: Row,
        policy: Policy, title: str,
    ) -> tuple[Refusal | None, dt.datetime | None]:
        why = self._patron_refusal(patron, now)
        if why:
            return why, None
        if loan["renewals"] >= policy.renewals_max:
            return Refusal("too-many-renewals", f"《{title}》已续借{loan['renewals']}次，达到上限，不能再续借。"), None
        if self._other_holds(conn, item, patron["id"]):
            return Refusal("held-by-other", f"《{title}》已有其他读者预约，不能续借。请按期归还。"), None
        old_due = _utc(loan["due_at"])
        new_due = self._due(conn, now, policy.renewal_days, policy.library)
        if new_due <= old_due:
            return Refusal("too-soon", f"《{title}》现在续借不会延长借期（应还日期{self._date_text(old_due)}）。"), None
        return None, new_due

    def _renew_loan(
        self, conn: Connection, ctx: Ctx, now: dt.datetime, here: Row, libs: Mapping[int, Row],
        patron: Row, item: Row, loan: Row, title: str, *, via_checkout: bool = False,
    ) -> CheckoutResult:
        policy_code = str(libs[loan["policy_library_id"]]["code"])
        policy = self._policy(conn, policy_code, item["item_type"])
        facts: dict[str, Any] = {
            "barcode": item["barcode"], "title": title,
            "owner": libs[item["owner_library_id"]]["code"], "home": libs[item["home_library_id"]]["code"],
            "current": libs[item["current_library_id"]]["code"],
            "patron_home": libs[patron["home_library_id"]]["code"], "policy_library": policy_code,
            "renewal": via_checkout,
        }
        why, new_due = self._renewal_refusal(conn, now, patron, item, loan, policy, title)
        if why is not None or new_due is None:
            assert why is not None
            return CheckoutResult(False, why.message, reason=why.reason, due_at=_utc(loan["due_at"]),
                                  renewals=loan["renewals"],
                                  renewals_left=max(0, policy.renewals_max - loan["renewals"]), **facts)
        renewals = int(loan["renewals"]) + 1
        conn.execute(update(loans).where(loans.c.id == loan["id"]).values(due_at=new_due, renewals=renewals))
        self._event(conn, "renew", ctx=ctx, at=now, here=here, libs=libs, item=item, patron=patron,
                    detail={"loan_id": loan["id"], "due_at": new_due.isoformat(), "renewals": renewals,
                            "via_checkout": via_checkout})
        left = max(0, policy.renewals_max - renewals)
        return CheckoutResult(
            True, f"续借成功：《{title}》，请于{self._date_text(new_due)}前归还（还可续借{left}次）。",
            print_line=f"《{title}》 续借 应还日期 {self._date_text(new_due)}",
            due_at=new_due, renewals=renewals, renewals_left=left, desensitize=True, **facts,
        )

    def renew(self, ctx: Ctx, card: str, barcode: str) -> CheckoutResult:
        def run(conn: Connection) -> CheckoutResult:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return CheckoutResult(False, here.message, reason=here.reason)
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                return CheckoutResult(False, patron.message, reason=patron.reason)
            item = self._find_item(conn, barcode, lock=True)
            if isinstance(item, Refusal):
                return CheckoutResult(False, item.message, reason=item.reason)
            title = self._title(conn, item)
            loan = self._open_loan(conn, item["id"])
            if loan is None or loan["patron_id"] != patron["id"]:
                return CheckoutResult(False, f"《{title}》不在您的借阅记录中，不能续借。", reason="not-on-loan-to-you",
                                      barcode=item["barcode"], title=title)
            return self._renew_loan(conn, ctx, now, here, self._libs(conn), patron, item, loan, title)

        return self._write(run, lambda: CheckoutResult(False, BUSY, reason="busy"))

    def renew_all(self, ctx: Ctx, card: str) -> RenewAllResult:
        def run(conn: Connection) -> RenewAllResult:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return RenewAllResult(False, here.message, reason=here.reason)
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                return RenewAllResult(False, patron.message, reason=patron.reason)
            why = self._patron_refusal(patron, now)
            if why:
                return RenewAllResult(False, why.message, reason=why.reason)
            libs = self._libs(conn)
            renewed: list[str] = []
            unrenewed: list[str] = []
            reasons: dict[str, str] = {}
            for loan in conn.execute(
                select(loans).where(loans.c.patron_id == patron["id"], loans.c.returned_at.is_(None))
                .order_by(loans.c.due_at, loans.c.id)
            ).mappings().all():
                item = _lock_item(conn, loan["item_id"])
                title = self._title(conn, item)
                r = self._renew_loan(conn, ctx, now, here, libs, patron, item, loan, title)
                if r.ok:
                    renewed.append(item["barcode"])
                else:
                    unrenewed.append(item["barcode"])
                    reasons[item["barcode"]] = r.screen_message
            if not renewed and not unrenewed:
                return RenewAllResult(True, "您当前没有借阅的图书。")
            msg = f"续借成功{len(renewed)}册" + (f"，未能续借{len(unrenewed)}册" if unrenewed else "") + "。"
            if unrenewed:
                msg += "未续借的图书请按期归还。"
            return RenewAllResult(True, msg, renewed=tuple(renewed), unrenewed=tuple(unrenewed), why=reasons)

        return self._write(run, lambda: RenewAllResult(False, BUSY, reason="busy"))

    # ================================================================ check-in
    def receive(self, ctx: Ctx, barcode: str) -> CheckinResult:
        """Staff receipt of a transit: the same as a check-in at the destination."""
        return self.checkin(ctx, barcode)

    def checkin(self, ctx: Ctx, barcode: str, *, returned_at: dt.datetime | None = None) -> CheckinResult:
        """Return (or scan) an item at ``ctx.library`` and say where it goes next (§6.3)."""

        def run(conn: Connection) -> CheckinResult:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return CheckinResult(False, here.message, reason=here.reason, alert=True, alert_type="99")
            full = self._find_item_full(conn, barcode)
            if isinstance(full, Refusal):
                return CheckinResult(False, full.message, reason=full.reason, alert=True, alert_type="99")
            return _Checkin(self, conn, ctx, now, here, full, _opt_utc(returned_at), raw=barcode).run()

        return self._write(run, lambda: CheckinResult(False, BUSY, reason="busy", alert=True, alert_type="99"))

    # ================================================================ holds
    def place_hold(
        self, ctx: Ctx, card: str, *, barcode: str | None = None, bib_id: int | None = None,
        pickup: str | None = None, item_level: bool = False,
    ) -> HoldResult:
        """Place a hold on a title (``bib_id``, or the title of ``barcode``); with
        ``item_level`` only that copy fills it. Pickup anywhere in the cluster."""

        def run(conn: Connection) -> HoldResult:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return HoldResult(False, here.message, reason=here.reason)
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                return HoldResult(False, patron.message, reason=patron.reason)
            item: Row | None = None
            target_bib = bib_id
            if barcode:
                found = self._find_item(conn, barcode)
                if isinstance(found, Refusal):
                    return HoldResult(False, found.message, reason=found.reason)
                item = found
                target_bib = item["bib_id"]
                if target_bib is None:
                    return HoldResult(False, "此书没有书目记录，不能预约。请联系工作人员。", reason="no-bib")
            if target_bib is None:
                return HoldResult(False, "请指定要预约的图书（扫描条码或选择书目）。", reason="no-target")
            title = conn.execute(select(bibs.c.title).where(bibs.c.id == target_bib)).scalar()
            if title is None:
                return HoldResult(False, "馆群中没有此书目，不能预约。", reason="unknown-bib")
            why = self._patron_refusal(patron, now)
            if why:
                return HoldResult(False, why.message, reason=why.reason, title=title)
            pickup_lib = self._library(conn, pickup or ctx.library)
            if pickup_lib is None:
                return HoldResult(False, f"取书馆（{pickup}）不在馆群中，请重新选择。", reason="unknown-pickup", title=title)
            mine = conn.execute(
                select(func.count()).select_from(holds).where(
                    holds.c.patron_id == patron["id"], holds.c.bib_id == target_bib, holds.c.status.in_(ACTIVE_HOLD)
                )
            ).scalar_one()
            if mine:
                return HoldResult(False, f"您已预约《{title}》，无需重复预约。", reason="already-held", title=title)
            on_loan = conn.execute(
                select(func.count()).select_from(loans.join(items, loans.c.item_id == items.c.id)).where(
                    loans.c.patron_id == patron["id"], loans.c.returned_at.is_(None), items.c.bib_id == target_bib
                )
            ).scalar_one()
            if on_loan:
                return HoldResult(False, f"《{title}》已借在您名下，不能预约。", reason="already-on-loan", title=title)
            active = conn.execute(
                select(func.count()).select_from(holds).where(
                    holds.c.patron_id == patron["id"], holds.c.status.in_(ACTIVE_HOLD)
                )
            ).scalar_one()
            if active >= policies.HOLD_LIMIT:
                return HoldResult(False, f"您已有{active}项预约，达到上限{policies.HOLD_LIMIT}项。", reason="too-many-holds",
                                  title=title)
            hold_id = conn.execute(
                insert(holds).values(
                    bib_id=target_bib, item_id=item["id"] if (item is not None and item_level) else None,
                    patron_id=patron["id"], pickup_library_id=pickup_lib["id"], status="waiting", placed_at=now,
                ).returning(holds.c.id)
            ).scalar_one()
            position = conn.execute(
                select(func.count()).select_from(holds).where(
                    holds.c.bib_id == target_bib, holds.c.status.in_(("waiting", "in-transit")), holds.c.id <= hold_id
                )
            ).scalar_one()
            available = bool(conn.execute(
                select(func.count()).select_from(items).where(items.c.bib_id == target_bib, items.c.status == "available")
            ).scalar_one())
            libs = self._libs(conn)
            self._event(conn, "hold-placed", ctx=ctx, at=now, here=here, libs=libs, item=item, patron=patron,
                        detail={"hold_id": hold_id, "bib_id": target_bib, "pickup": pickup_lib["code"],
                                "item_level": bool(item is not None and item_level)})
            return HoldResult(
                True, f"预约成功：《{title}》，取书地点：{pickup_lib['name']}，您排在第{position}位。到书后会通知您。",
                available=available, queue_position=int(position), pickup=pickup_lib["code"], title=title,
                bib_id=int(target_bib), hold_id=int(hold_id),
            )

        return self._write(run, lambda: HoldResult(False, BUSY, reason="busy"))

    def cancel_hold(self, ctx: Ctx, card: str, *, barcode: str | None = None, bib_id: int | None = None) -> HoldResult:
        def run(conn: Connection) -> HoldResult:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return HoldResult(False, here.message, reason=here.reason)
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                return HoldResult(False, patron.message, reason=patron.reason)
            target_bib = bib_id
            if barcode:
                found = self._find_item(conn, barcode)
                if isinstance(found, Refusal):
                    return HoldResult(False, found.message, reason=found.reason)
                target_bib = found["bib_id"]
            if target_bib is None:
                return HoldResult(False, "请指定要取消预约的图书。", reason="no-target")
            title = conn.execute(select(bibs.c.title).where(bibs.c.id == target_bib)).scalar()
            hold = conn.execute(
                select(holds).where(
                    holds.c.patron_id == patron["id"], holds.c.bib_id == target_bib, holds.c.status.in_(ACTIVE_HOLD)
                ).order_by(holds.c.placed_at.desc(), holds.c.id.desc()).limit(1)
            ).mappings().first()
            if hold is None:
                return HoldResult(False, f"您没有预约《{title or target_bib}》。", reason="no-hold", title=title)
            libs = self._libs(conn)
            conn.execute(update(holds).where(holds.c.id == hold["id"]).values(status="cancelled"))
            item: Row | None = None
            extra = ""
            if hold["item_id"] is not None:
                item = _lock_item(conn, hold["item_id"])
                if hold["status"] == "on-shelf" and item["status"] == "on-hold-shelf":
                    # Off the hold shelf: available where it stands until it is scanned again.
                    conn.execute(update(items).where(items.c.id == item["id"]).values(
                        status="available", last_scan_at=None, last_scan_library_id=None))
                    extra = "请工作人员将此书从预约书架取下并扫描还书。"
            self._event(conn, "hold-cancelled", ctx=ctx, at=now, here=here, libs=libs, item=item, patron=patron,
                        detail={"hold_id": hold["id"], "bib_id": target_bib, "was": hold["status"]})
            return HoldResult(True, f"已取消预约：《{title}》。{extra}", title=title, bib_id=int(target_bib),
                              hold_id=int(hold["id"]), pickup=libs[hold["pickup_library_id"]]["code"])

        return self._write(run, lambda: HoldResult(False, BUSY, reason="busy"))

    def expire_holds(self, ctx: Ctx) -> list[str]:
        """Expire the holds on ``ctx.library``'s hold shelf that were not collected in time.

        Returns the barcodes staff should take off the shelf and scan (check in): the scan
        gives each copy to the next hold or sends it home. Run it daily (CLI / cron).
        """

        def run(conn: Connection) -> list[str]:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return []
            libs = self._libs(conn)
            due = conn.execute(
                select(holds).where(
                    holds.c.status == "on-shelf", holds.c.pickup_library_id == here["id"], holds.c.expires_at < now
                ).order_by(holds.c.expires_at, holds.c.id)
            ).mappings().all()
            out: list[str] = []
            for hold in due:
                conn.execute(update(holds).where(holds.c.id == hold["id"]).values(status="expired"))
                item = _lock_item(conn, hold["item_id"])
                if item["status"] == "on-hold-shelf":
                    conn.execute(update(items).where(items.c.id == item["id"]).values(
                        status="available", last_scan_at=None, last_scan_library_id=None))
                self._event(conn, "hold-expired", ctx=ctx, at=now, here=here, libs=libs, item=item,
                            detail={"hold_id": hold["id"], "expires_at": _utc(hold["expires_at"]).isoformat()})
                out.append(str(item["barcode"]))
            return out

        return self._write(run, list)

    # ================================================================ patrons
    def _status(
        self, conn: Connection, ctx: Ctx, now: dt.datetime, patron: Row, password: str | None,
        *, message: str | None = None,
    ) -> PatronStatus:
        libs = self._libs(conn)
        valid_password = True
        if patron["password_hash"]:
            valid_password = password is not None and verify_password(password, patron["password_hash"])
        why = self._patron_refusal(patron, now)
        total, fines = self._patron_money(conn, patron["id"])
        overdue = self._overdue_count(conn, patron["id"], now)
        here = self._library(conn, ctx.library)
        context = here if here is not None else libs[patron["home_library_id"]]
        policy = self._policy(conn, context["code"], "*")
        charged_here = self._loan_count(conn, patron["id"], context["id"])
        charged = self._loan_count(conn, patron["id"])
        counts: dict[str, int] = dict(conn.execute(
            select(holds.c.status, func.count()).where(
                holds.c.patron_id == patron["id"], holds.c.status.in_(ACTIVE_HOLD)
            ).group_by(holds.c.status)
        ).all())
        blocked = why is not None
        too_many_overdue = overdue > policy.max_overdues
        excessive_fines = fines > policy.max_fines_cents
        excessive_fees = total > policy.max_fines_cents
        too_many_charged = charged_here >= policy.max_loans
        reason_text = (patron["block_reason"] or "").lower()
        if message is None:
            if patron["password_hash"] and password is not None and not valid_password:
                message = "密码错误，请重新输入。"
            elif why is not None:
                message = why.message
            elif excessive_fees:
                message = f"{patron['name']}，您好。您有未缴费用{yuan(total)}元，请先缴费再借书。"
            elif too_many_overdue:
                message = f"{patron['name']}，您好。您有{overdue}册图书已逾期，请先归还。"
            else:
                message = f"{patron['name']}，您好。当前借阅{charged}册" + (f"，逾期{overdue}册" if overdue else "") + (
                    f"，有{counts.get('on-shelf', 0)}册预约书可取" if counts.get("on-shelf") else "") + "。"
        return PatronStatus(
            ok=True, screen_message=message, reason=why.reason if why else None,
            valid_patron=patron["status"] != "closed", valid_password=valid_password,
            name=patron["name"], card=privacy.mask(patron["card_display"]),
            home_library=libs[patron["home_library_id"]]["code"], status=patron["status"],
            charge_privileges_denied=blocked or too_many_overdue or excessive_fees or too_many_charged,
            renewal_privileges_denied=blocked, recall_privileges_denied=blocked, hold_privileges_denied=blocked,
            card_reported_lost=patron["status"] == "blocked" and ("挂失" in reason_text or "lost" in reason_text),
            too_many_items_charged=too_many_charged, too_many_items_overdue=too_many_overdue,
            excessive_outstanding_fines=excessive_fines, excessive_outstanding_fees=excessive_fees,
            fines_cents=total, charged_count=charged, overdue_count=overdue,
            hold_available_count=int(counts.get("on-shelf", 0)),
            hold_waiting_count=int(counts.get("waiting", 0)) + int(counts.get("in-transit", 0)),
            charge_limit=policy.max_loans, expires_on=patron["expires_on"],
        )

    @staticmethod
    def _invalid_patron(refusal: Refusal) -> PatronStatus:
        return PatronStatus(False, refusal.message, reason=refusal.reason)

    def patron_status(self, ctx: Ctx, card: str, *, password: str | None = None) -> PatronStatus:
        with self.store.read() as conn:
            patron = self._find_patron(conn, card)
            if isinstance(patron, Refusal):
                return self._invalid_patron(patron)
            return self._status(conn, ctx, self._now(ctx), patron, password)

    def patron_information(
        self, ctx: Ctx, card: str, *, password: str | None = None, start: int = 1, end: int | None = None
    ) -> PatronInfo:
        """Status plus the lists (holds available/waiting, overdue, charged, fines). With a
        wrong password the lists are empty (with none given, the authenticated terminal sees
        them; ``valid_password`` is then False for a patron who has a PIN). ``start``/``end``
        are accepted for the SIP2 layer, which slices the (whole) lists itself."""
        with self.store.read() as conn:
            patron = self._find_patron(conn, card)
            if isinstance(patron, Refusal):
                return PatronInfo(False, patron.message, reason=patron.reason)
            now = self._now(ctx)
            st = self._status(conn, ctx, now, patron, password)
            base = {f.name: getattr(st, f.name) for f in fields(PatronStatus)}
            if password is not None and not st.valid_password:
                return PatronInfo(**base)  # a wrong PIN shows no lists
            charged: list[str] = []
            overdue: list[str] = []
            for barcode, due in conn.execute(
                select(items.c.barcode, loans.c.due_at).select_from(loans.join(items, loans.c.item_id == items.c.id))
                .where(loans.c.patron_id == patron["id"], loans.c.returned_at.is_(None))
                .order_by(loans.c.due_at, loans.c.id)
            ):
                charged.append(barcode)
                if _utc(due) < now:
                    overdue.append(barcode)
            available: list[str] = []
            waiting: list[str] = []
            for status, title, barcode in conn.execute(
                select(holds.c.status, bibs.c.title, items.c.barcode)
                .select_from(holds.join(bibs, holds.c.bib_id == bibs.c.id).outerjoin(items, holds.c.item_id == items.c.id))
                .where(holds.c.patron_id == patron["id"], holds.c.status.in_(ACTIVE_HOLD))
                .order_by(holds.c.placed_at, holds.c.id)
            ):
                if status == "on-shelf":
                    available.append(barcode or title)
                else:
                    waiting.append(title)
            kinds = {"overdue": "逾期", "lost": "遗失", "damage": "损坏", "card": "办证", "other": "其他"}
            fine_items = [
                f"F{fid} {yuan(amount - paid)} {kinds.get(kind, kind)}" + (f" {barcode}" if barcode else "")
                for fid, amount, paid, kind, barcode in conn.execute(
                    select(fees.c.id, fees.c.amount_cents, fees.c.paid_cents, fees.c.kind, items.c.barcode)
                    .select_from(fees.outerjoin(items, fees.c.item_id == items.c.id))
                    .where(fees.c.patron_id == patron["id"], fees.c.status == "open")
                    .order_by(fees.c.created_at, fees.c.id)
                )
            ]
            return PatronInfo(**base, hold_items=available, unavailable_holds=waiting, overdue_items=overdue,
                              charged_items=charged, fine_items=fine_items)

    def _set_block(self, ctx: Ctx, card: str, reason: str | None) -> PatronStatus:
        def run(conn: Connection) -> PatronStatus:
            now = self._now(ctx)
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                return self._invalid_patron(patron)
            if patron["status"] == "closed":
                return self._invalid_patron(Refusal("patron-closed", "此读者证已注销。"))
            here = self._library(conn, ctx.library)
            libs = self._libs(conn)
            if reason is not None:
                text = reason.strip()[:500] or "未说明原因"
                conn.execute(update(patrons).where(patrons.c.id == patron["id"]).values(status="blocked", block_reason=text))
                type_, detail, msg = "patron-blocked", {"reason": text}, "读者证已暂停使用。请联系工作人员。"
            else:
                conn.execute(update(patrons).where(patrons.c.id == patron["id"]).values(status="active", block_reason=None))
                type_, detail, msg = "patron-unblocked", {"was": patron["block_reason"]}, "读者证已恢复使用。"
            self._event(conn, type_, ctx=ctx, at=now, here=here, libs=libs, patron=patron, detail=detail)
            fresh = conn.execute(select(patrons).where(patrons.c.id == patron["id"])).mappings().one()
            return self._status(conn, ctx, now, fresh, None, message=msg)

        return self._write(run, lambda: PatronStatus(False, BUSY, reason="busy"))

    def block_patron(self, ctx: Ctx, card: str, reason: str) -> PatronStatus:
        return self._set_block(ctx, card, reason)

    def unblock_patron(self, ctx: Ctx, card: str) -> PatronStatus:
        return self._set_block(ctx, card, None)

    def set_patron_password(self, card: str, password: str) -> None:
        """Set (or with an empty ``password`` clear) a patron's PIN. Raises HubError."""
        with self._store_write() as conn:
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                raise NotFound(f"no patron with that card ({patron.reason})")
            value = hash_password(password) if password else None
            conn.execute(update(patrons).where(patrons.c.id == patron["id"]).values(password_hash=value))
            self._event(conn, "patron-password", ctx=Ctx(library=""), at=_utc(self.clock()), here=None,
                        libs=self._libs(conn), patron=patron, detail={"set": value is not None})

    # ================================================================ items
    def item_information(self, ctx: Ctx, barcode: str) -> ItemInfo:
        with self.store.read() as conn:
            item = self._find_item(conn, barcode)
            if isinstance(item, Refusal):
                return ItemInfo(False, item.message, reason=item.reason)
            return self._item_info(conn, item)

    def _item_info(self, conn: Connection, item: Row, message: str | None = None) -> ItemInfo:
        libs = self._libs(conn)
        title = self._title(conn, item)
        loan = self._open_loan(conn, item["id"])
        transit = self._open_transit(conn, item["id"])
        destination = libs[transit["to_library_id"]]["code"] if transit is not None else None
        queue = 0
        if item["bib_id"] is not None:
            queue = int(conn.execute(
                select(func.count()).select_from(holds).where(
                    holds.c.status.in_(("waiting", "in-transit")),
                    _fillable(item),
                )
            ).scalar_one())
        shelf = conn.execute(
            select(holds.c.pickup_library_id).where(holds.c.item_id == item["id"], holds.c.status.in_(("on-shelf", "in-transit")))
        ).scalar()
        status = item["status"]
        if message is None:
            words = {
                "available": "在架可借", "on-loan": "已借出", "on-hold-shelf": "预约保留中",
                "in-transit": "运送途中", "lost": "遗失", "missing": "丢失", "damaged": "损坏", "withdrawn": "已注销",
            }
            message = f"《{title}》：{words.get(status, status)}，所在馆：{libs[item['current_library_id']]['name']}"
            if loan is not None:
                message += f"，应还日期{self._date_text(_utc(loan['due_at']))}"
            if transit is not None:
                message += f"，送往{libs[transit['to_library_id']]['name']}"
            message += "。"
        return ItemInfo(
            True, message, barcode=item["barcode"], title=title, circulation_status=SIP_STATUS.get(status, "01"),
            status=status, item_type=item["item_type"], owner=libs[item["owner_library_id"]]["code"],
            home=libs[item["home_library_id"]]["code"], current_location=libs[item["current_library_id"]]["code"],
            permanent_location=self._permanent_location(conn, item, libs),
            due_at=_utc(loan["due_at"]) if loan is not None else None, hold_queue_length=queue,
            destination=destination, hold_pickup=libs[shelf]["code"] if shelf is not None else None,
            properties=item["properties"],
        )

    def item_status_update(self, ctx: Ctx, barcode: str, properties: str) -> ItemInfo:
        """Store the SIP2 item properties (CH) of an item."""

        def run(conn: Connection) -> ItemInfo:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return ItemInfo(False, here.message, reason=here.reason)
            item = self._find_item(conn, barcode, lock=True)
            if isinstance(item, Refusal):
                return ItemInfo(False, item.message, reason=item.reason)
            text = (properties or "").strip()[:1000] or None
            conn.execute(update(items).where(items.c.id == item["id"]).values(properties=text))
            self._event(conn, "item-properties", ctx=ctx, at=now, here=here, libs=self._libs(conn), item=item,
                        detail={"from": item["properties"], "to": text})
            fresh = conn.execute(select(items).where(items.c.id == item["id"])).mappings().one()
            return self._item_info(conn, fresh, message="图书属性已更新。")

        return self._write(run, lambda: ItemInfo(False, BUSY, reason="busy"))

    # ================================================================ fees
    def fee_paid(
        self, ctx: Ctx, card: str, amount_cents: int, *, fee_id: int | None = None, transaction_id: str | None = None
    ) -> FeeResult:
        """Apply a payment to the patron's oldest open fees (or to ``fee_id``). Idempotent per
        ``transaction_id``: a repeat is acknowledged and changes nothing."""

        def run(conn: Connection) -> FeeResult:
            now = self._now(ctx)
            here = self._here(conn, ctx)
            if isinstance(here, Refusal):
                return FeeResult(False, here.message, reason=here.reason)
            patron = self._find_patron(conn, card, lock=True)
            if isinstance(patron, Refusal):
                return FeeResult(False, patron.message, reason=patron.reason)
            tx = (transaction_id or "").strip()[:64] or None
            if tx is not None:
                for (detail,) in conn.execute(
                    select(events.c.detail).where(events.c.type == "fee-paid", events.c.patron_id == patron["id"])
                ):
                    data = json.loads(detail or "{}")
                    if data.get("transaction_id") == tx:
                        total, _ = self._patron_money(conn, patron["id"])
                        if data.get("amount_cents") != amount_cents:
                            return FeeResult(False, f"交易号{tx}已用于另一笔缴费，请核对。", reason="transaction-reused",
                                             transaction_id=tx, outstanding_cents=total)
                        return FeeResult(True, f"此笔缴费（交易号{tx}）已入账，无需重复缴纳。尚欠{yuan(total)}元。",
                                         paid_cents=amount_cents, outstanding_cents=total, transaction_id=tx,
                                         duplicate=True, fee_ids=tuple(data.get("fee_ids", ())))
            if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
                return FeeResult(False, "缴费金额必须大于零。", reason="bad-amount", transaction_id=tx)
            q = select(fees).where(fees.c.patron_id == patron["id"], fees.c.status == "open")
            if fee_id is not None:
                q = q.where(fees.c.id == fee_id)
            open_fees = conn.execute(q.order_by(fees.c.created_at, fees.c.id)).mappings().all()
            owed = sum(int(f["amount_cents"]) - int(f["paid_cents"]) for f in open_fees)
            if not open_fees:
                what = f"费用F{fee_id}" if fee_id is not None else "费用"
                return FeeResult(False, f"您没有待缴的{what}。", reason="no-fees", transaction_id=tx)
            if amount_cents > owed:
                return FeeResult(False, f"缴费金额{yuan(amount_cents)}元超过应缴金额{yuan(owed)}元，请核对。",
                                 reason="overpayment", outstanding_cents=owed, transaction_id=tx)
            left = amount_cents
            applied: list[dict[str, int]] = []
            for f in open_fees:
                if left <= 0:
                    break
                due = int(f["amount_cents"]) - int(f["paid_cents"])
                part = min(due, left)
                left -= part
                paid = int(f["paid_cents"]) + part
                full = paid == int(f["amount_cents"])
                conn.execute(update(fees).where(fees.c.id == f["id"]).values(
                    paid_cents=paid, status="paid" if full else "open", closed_at=now if full else None))
                applied.append({"fee_id": int(f["id"]), "cents": part})
            self._event(conn, "fee-paid", ctx=ctx, at=now, here=here, libs=self._libs(conn), patron=patron,
                        detail={"transaction_id": tx, "amount_cents": amount_cents, "applied": applied,
                                "fee_ids": [a["fee_id"] for a in applied]})
            total, _ = self._patron_money(conn, patron["id"])
            return FeeResult(True, f"缴费成功：{yuan(amount_cents)}元。" + (f"尚欠{yuan(total)}元。" if total else "已无欠费。"),
                             print_line=f"缴费 {yuan(amount_cents)} 元" + (f" 交易号 {tx}" if tx else ""),
                             paid_cents=amount_cents, outstanding_cents=total, transaction_id=tx,
                             fee_ids=tuple(a["fee_id"] for a in applied))

        return self._write(run, lambda: FeeResult(False, BUSY, reason="busy"))

    # ================================================================ policies (CLI)
    def _policy_library(self, conn: Connection, library: str) -> str:
        if library.strip() == "*":
            return "*"
        row = self._library(conn, library)
        if row is None:
            raise NotFound(f"no library with code {library.strip().upper()} (see `ils-bridge branch list`)")
        return str(row["code"])

    def set_policy(self, library: str, item_type: str = "*", **values: Any) -> None:
        """Set rule values for ``(library, item_type)``; ``None`` clears a value (inherit)."""
        try:
            checked = policies.check_values(values)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        typ = item_type.strip() or "*"
        if len(typ) > 32:
            raise InvalidInput("an item type is at most 32 characters")
        for _attempt in range(RETRIES):
            try:
                with self._store_write() as conn:
                    lib = self._policy_library(conn, library)
                    row = conn.execute(
                        select(circ_policies.c.id).where(circ_policies.c.library == lib, circ_policies.c.item_type == typ)
                    ).scalar()
                    if row is None:
                        conn.execute(insert(circ_policies).values(library=lib, item_type=typ, **checked))
                    elif checked:
                        conn.execute(update(circ_policies).where(circ_policies.c.id == row).values(**checked))
                    self._bump_rules(conn)
                    conn.execute(insert(events).values(
                        at=_utc(self.clock()), type="policy-set", library_code=None if lib == "*" else lib,
                        detail=json.dumps({"library": lib, "item_type": typ, "values": checked}, ensure_ascii=False)))
                return
            except IntegrityError:
                continue
        raise InvalidInput("the policy kept changing under another writer; try again")  # pragma: no cover

    def effective_policy(self, library: str, item_type: str) -> Policy:
        with self.store.read() as conn:
            lib = self._policy_library(conn, library)
            return self._policy(conn, lib, item_type.strip() or "*")

    def list_policies(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return [
                {k: v for k, v in r.items() if k != "id"}
                for r in conn.execute(select(circ_policies).order_by(circ_policies.c.library, circ_policies.c.item_type)).mappings()
            ]

    def add_holiday(self, library: str, day: dt.date, name: str | None = None) -> None:
        """Close ``library`` (or ``"*"``: every library) on ``day``; idempotent (renames)."""
        for _attempt in range(RETRIES):
            try:
                with self._store_write() as conn:
                    lib = self._policy_library(conn, library)
                    row = conn.execute(
                        select(holidays.c.id).where(holidays.c.library == lib, holidays.c.day == day)
                    ).scalar()
                    text = (name or "").strip()[:100] or None
                    if row is None:
                        conn.execute(insert(holidays).values(library=lib, day=day, name=text))
                    else:
                        conn.execute(update(holidays).where(holidays.c.id == row).values(name=text))
                    self._bump_rules(conn)
                return
            except IntegrityError:
                continue
        raise InvalidInput("the calendar kept changing under another writer; try again")  # pragma: no cover

    def remove_holiday(self, library: str, day: dt.date) -> bool:
        for _attempt in range(RETRIES):
            try:
                with self._store_write() as conn:
                    lib = self._policy_library(conn, library)
                    result = conn.execute(holidays.delete().where(holidays.c.library == lib, holidays.c.day == day))
                    if result.rowcount:
                        self._bump_rules(conn)
                    return bool(result.rowcount)
            except IntegrityError:  # two first-ever version tokens raced; the change is undone
                continue
        raise InvalidInput("the calendar kept changing under another writer; try again")  # pragma: no cover

    def list_holidays(self, library: str | None = None) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            q = select(holidays.c.library, holidays.c.day, holidays.c.name).order_by(holidays.c.day, holidays.c.library)
            if library:
                q = q.where(holidays.c.library == self._policy_library(conn, library))
            return [{"library": r[0], "day": r[1], "name": r[2]} for r in conn.execute(q)]


# ------------------------------------------------------------------------------ check-in


_CHECKIN_FIELDS = tuple(f.name for f in fields(CheckinResult))


class _Checkin:
    """One check-in, step by step in the order of domain.md §6.3, inside one transaction."""

    def __init__(
        self, circ: Circulation, conn: Connection, ctx: Ctx, now: dt.datetime, here: Row,
        full: _Full, returned_at: dt.datetime | None, *, raw: str = "",
    ) -> None:
        self.raw = raw
        self.c = circ
        self.conn = conn
        self.ctx = ctx
        self.now = now
        self.here = here
        self.full = full
        self.item: Row = full.item  # as read at the start (the row is locked)
        self.when = returned_at or now
        self.libs = circ._libs(conn)
        self.title = full.title
        self.home_code = str(self.libs[self.item["home_library_id"]]["code"])
        self.policy = circ._policy(conn, self.home_code, self.item["item_type"])
        self.notes: list[str] = []
        self.patron: Row | None = None
        self.loan: Row | None = None
        self.fee_cents = 0
        # Writes batched to the end of the transaction (nothing in between reads them): the
        # events, in order, and the item columns not yet written.
        self.events: list[dict[str, Any]] = []
        self.item_pending: dict[str, Any] = {}
        self.item_written: dict[str, Any] = {}

    # ------------------------------------------------------------ helpers
    def lib(self, lib_id: int) -> Row:
        return self.libs[lib_id]

    def event(self, type_: str, detail: dict[str, Any], *, patron: Row | None = None) -> None:
        self.events.append(self.c._event_row(type_, ctx=self.ctx, at=self.now, here=self.here, libs=self.libs,
                                             item=self.item, patron=patron, detail=detail))

    def defer_item(self, **values: Any) -> None:
        """Item columns to write with the next :meth:`set_item` (or at the answer)."""
        self.item_pending.update(values)

    def flush_item(self) -> None:
        if self.item_pending:
            values, self.item_pending = self.item_pending, {}
            _item_update(frozenset(values)).run(self.conn, p_id=self.item["id"], **{"p_" + k: v for k, v in values.items()})
            self.item_written.update(values)

    def set_item(self, **values: Any) -> None:
        values.setdefault("current_library_id", self.here["id"])
        values.update(last_scan_at=self.now, last_scan_library_id=self.here["id"])
        self.item_pending.update(values)
        self.flush_item()

    def permanent_location(self, fresh: Row) -> str:
        home = self.libs[fresh["home_library_id"]]["code"]
        loc_id = fresh["home_location_id"]
        if loc_id is None:
            return str(home)
        if loc_id != self.item["home_location_id"]:  # pragma: no cover - check-in never sets another
            return self.c._permanent_location(self.conn, fresh, self.libs)
        loc = self.full.location
        if loc["code"] and loc["library_id"] == fresh["home_library_id"]:
            return f"{home}-{loc['code']}"
        return str(home)

    def send(self, to_id: int, reason: str, hold_id: int | None = None) -> None:
        self.conn.execute(insert(transits).values(
            item_id=self.item["id"], from_library_id=self.here["id"], to_library_id=to_id, reason=reason,
            hold_id=hold_id, sent_at=self.now))
        self.event("transit-sent", {"from": self.here["code"], "to": self.lib(to_id)["code"], "reason": reason,
                                     "hold_id": hold_id})

    def answer(self, ok: bool, message: str, *, alert_type: str | None = None, destination: int | None = None,
               hold: Row | None = None, reason: str | None = None, status: str | None = None) -> CheckinResult:
        hold_facts: dict[str, Any] = {}
        if hold is not None:
            hp = self.conn.execute(select(patrons).where(patrons.c.id == hold["patron_id"])).mappings().one()
            card = privacy.mask(hp["card_display"])
            hold_facts = {
                "hold_patron": card, "hold_patron_id": card,
                "hold_patron_name": privacy.mask(hp["name"], keep_start=1, keep_end=0),
                "hold_pickup": self.lib(hold["pickup_library_id"])["code"],
            }
            if hold["expires_at"] is not None:
                hold_facts["hold_expires_at"] = _utc(hold["expires_at"])
        self.flush_item()
        fresh = {**self.item, **self.item_written}  # the row as this transaction left it
        dest = self.lib(destination) if destination is not None else None
        text = message + ("".join(self.notes) if ok else "")
        result = CheckinResult(
            ok, text, reason=reason, barcode=self.item["barcode"], title=self.title,
            print_line=f"《{self.title}》 → {dest['name']}（{dest['code']}）" if dest is not None else None,
            alert=alert_type is not None, alert_type=alert_type,
            destination=dest["code"] if dest is not None else None,
            destination_name=dest["name"] if dest is not None else None,
            owner=self.lib(fresh["owner_library_id"])["code"], home=self.lib(fresh["home_library_id"])["code"],
            current=self.lib(fresh["current_library_id"])["code"],
            permanent_location=self.permanent_location(fresh),
            patron_home=self.lib(self.patron["home_library_id"])["code"] if self.patron is not None else None,
            item_status=status or fresh["status"], loan_closed=self.loan is not None,
            due_at=_utc(self.loan["due_at"]) if self.loan is not None else None, fee_cents=self.fee_cents,
            resensitize=ok and fresh["status"] in ("available", "on-hold-shelf", "in-transit"),
            **hold_facts,
        )
        # Every processed scan leaves one "checkin" event with the answer: the audit trail, the
        # 通借通还 count (transaction library vs item home) and the reply to a double scan.
        # (a shallow asdict: every field is a plain value)
        answer = {name: getattr(result, name) for name in _CHECKIN_FIELDS}
        self.event("checkin", {"barcode": self.item["barcode"], **_raw(self.raw, self.item["barcode"]),
                               "loan_id": self.loan["id"] if self.loan else None,
                               "returned_at": self.when.isoformat() if self.loan else None, "answer": answer},
                   patron=self.patron)
        _INSERT_EVENT.many(self.conn, self.events)
        self.events = []
        return result

    # ------------------------------------------------------------ steps
    def run(self) -> CheckinResult:
        replay = self.double_scan()
        if replay is not None:
            return replay
        if self.item["status"] == "withdrawn":
            raise _Abort(CheckinResult(False, f"《{self.title}》已注销，不能还入。请交给工作人员处理。", reason="withdrawn",
                                       barcode=self.item["barcode"], title=self.title, alert=True, alert_type="99",
                                       item_status="withdrawn"))
        # 2. In transit: receive here, or keep it going.
        transit = self.full.transit
        received: Row | None = None
        if transit is not None:
            if transit["to_library_id"] != self.here["id"]:
                return self.reroute(transit)
            received = transit
            self.receive(transit)
        # 3. Close the loan.
        self.close_loan()
        if self.item["status"] in ("lost", "missing"):
            self.notes.append("（此书曾登记为遗失，现已找回。）")
            self.event("item-found", {"was": self.item["status"]})
        if self.item["status"] == "damaged":
            self.set_item(status="damaged")
            return self.answer(True, f"《{self.title}》已登记为损坏，请交给工作人员处理。", alert_type="99")
        # 4. Holds.
        if received is not None and received["hold_id"] is not None:
            result = self.hold_arrival(received)
            if result is not None:
                return result
        if self.item["status"] == "on-hold-shelf" and received is None and self.loan is None:
            result = self.hold_shelf_rescan()
            if result is not None:
                return result
        hold = self.c._next_hold(self.conn, self.item) if self.full.waiting_hold else None
        if hold is not None:
            return self.fill(hold)
        # 6. Return policy (an item that just arrived where a non-hold transit sent it stays).
        if received is not None and received["reason"] != "hold":
            return self.shelve(f"已接收：《{self.title}》（来自{self.lib(received['from_library_id'])['name']}），请上架。")
        return self.by_policy()

    def double_scan(self) -> CheckinResult | None:
        last_at, last_lib = self.item["last_scan_at"], self.item["last_scan_library_id"]
        if last_at is None or last_lib != self.here["id"]:
            return None
        age = (self.now - _utc(last_at)).total_seconds()
        if not 0 <= age <= self.policy.double_scan_seconds:
            return None
        detail = self.conn.execute(
            select(events.c.detail).where(events.c.type == "checkin", events.c.item_id == self.item["id"])
            .order_by(events.c.id.desc()).limit(1)
        ).scalar()
        if not detail:
            return None
        answer = dict(json.loads(detail).get("answer") or {})
        if not answer:
            return None
        known = {f.name for f in fields(CheckinResult)}
        answer = {k: v for k, v in answer.items() if k in known}
        for key in ("due_at", "hold_expires_at"):
            if answer.get(key):
                answer[key] = dt.datetime.fromisoformat(answer[key])
        answer["double_scan"] = True
        raise _Abort(CheckinResult(**answer))  # roll back: a double scan writes nothing

    def reroute(self, transit: Row) -> CheckinResult:
        self.conn.execute(update(transits).where(transits.c.id == transit["id"]).values(
            last_scan_library_id=self.here["id"], last_scan_at=self.now))
        self.set_item()
        to = self.lib(transit["to_library_id"])
        sender = self.lib(transit["from_library_id"])
        self.event("transit-rerouted", {"transit_id": transit["id"], "from": sender["code"], "to": to["code"],
                                        "at_sender": transit["from_library_id"] == self.here["id"]})
        hold = None
        if transit["hold_id"] is not None:
            hold = self.conn.execute(
                select(holds).where(holds.c.id == transit["hold_id"], holds.c.status == "in-transit")
            ).mappings().first()
        return self.answer(
            True, f"《{self.title}》正在运送途中（{sender['name']} → {to['name']}），请放入还书箱，将继续送往{to['name']}。",
            alert_type="04", destination=to["id"], hold=hold, status="in-transit",
        )

    def receive(self, transit: Row) -> None:
        self.conn.execute(update(transits).where(transits.c.id == transit["id"]).values(
            received_at=self.now, last_scan_library_id=self.here["id"], last_scan_at=self.now))
        self.event("transit-received", {"transit_id": transit["id"], "from": self.lib(transit["from_library_id"])["code"],
                                        "reason": transit["reason"], "hold_id": transit["hold_id"]})
        # Until routed again the item is here and free.
        self.defer_item(status="available", current_library_id=self.here["id"])

    def close_loan(self) -> None:
        loan = self.full.loan
        if loan is None:
            return
        when = max(self.when, _utc(loan["checked_out_at"]))
        done = _CLOSE_LOAN.run(self.conn, p_id=loan["id"], p_when=when, p_library=self.here["id"])
        if done != 1:  # another process closed it first: start again on fresh data
            raise _Race("loan closed concurrently")
        self.loan = loan
        self.patron = self.full.loan_patron
        assert self.patron is not None
        due = _utc(loan["due_at"])
        days = policies.overdue_days(due, when, self.c.tz)
        policy = self.c._policy(self.conn, str(self.lib(loan["policy_library_id"])["code"]), self.item["item_type"])
        amount = min(days * policy.fine_per_day_cents, policies.FINE_CAP_CENTS)
        if amount > 0:
            self.conn.execute(insert(fees).values(
                patron_id=loan["patron_id"], item_id=self.item["id"], loan_id=loan["id"],
                library_id=loan["policy_library_id"], kind="overdue", amount_cents=amount, paid_cents=0,
                currency="CNY", status="open", created_at=self.now))
            self.fee_cents = amount
            self.notes.append(f"已逾期{days}天，产生逾期费{yuan(amount)}元。")
        self.event("return", {"loan_id": loan["id"], "checkout_library": self.lib(loan["checkout_library_id"])["code"],
                              "days_late": days, "fine_cents": amount}, patron=self.patron)
        self.defer_item(status="available", current_library_id=self.here["id"])

    def hold_arrival(self, transit: Row) -> CheckinResult | None:
        hold = self.conn.execute(select(holds).where(holds.c.id == transit["hold_id"])).mappings().first()
        if hold is None or hold["status"] != "in-transit":
            self.notes.append("（原预约已取消，已重新分配。）")
            return None  # the hold vanished en route: re-target (domain §6.5 #18)
        if hold["pickup_library_id"] == self.here["id"]:
            return self.trap(hold)
        return self.send_for_hold(hold)

    def hold_shelf_rescan(self) -> CheckinResult | None:
        hold = self.conn.execute(
            select(holds).where(holds.c.item_id == self.item["id"], holds.c.status == "on-shelf")
        ).mappings().first()
        if hold is None:
            return None
        if hold["expires_at"] is not None and _utc(hold["expires_at"]) < self.now:
            self.conn.execute(update(holds).where(holds.c.id == hold["id"]).values(status="expired"))
            self.event("hold-expired", {"hold_id": hold["id"]})
            self.notes.append("（预约已过期，已重新分配。）")
            return None
        if hold["pickup_library_id"] == self.here["id"]:
            self.set_item(status="on-hold-shelf")
            return self.answer(True, f"《{self.title}》是预约书，请放回预约书架。", alert_type="01", hold=hold)
        self.conn.execute(update(holds).where(holds.c.id == hold["id"]).values(status="in-transit", expires_at=None))
        return self.send_for_hold(hold)

    def fill(self, hold: Row) -> CheckinResult:
        self.conn.execute(update(holds).where(holds.c.id == hold["id"]).values(item_id=self.item["id"]))
        if hold["pickup_library_id"] == self.here["id"]:
            return self.trap(hold)
        return self.send_for_hold(hold)

    def trap(self, hold: Row) -> CheckinResult:
        pickup = self.lib(hold["pickup_library_id"])
        shelf = self.c._policy(self.conn, str(pickup["code"]), self.item["item_type"])
        expires = self.c._due(self.conn, self.now, shelf.hold_shelf_days, str(pickup["code"]))
        self.conn.execute(update(holds).where(holds.c.id == hold["id"]).values(
            status="on-shelf", item_id=self.item["id"], expires_at=expires))
        self.set_item(status="on-hold-shelf")
        hp = self.conn.execute(select(patrons).where(patrons.c.id == hold["patron_id"])).mappings().one()
        self.event("hold-trapped", {"hold_id": hold["id"], "expires_at": expires.isoformat()}, patron=hp)
        fresh = self.conn.execute(select(holds).where(holds.c.id == hold["id"])).mappings().one()
        return self.answer(
            True, f"还书成功：《{self.title}》。此书已被预约，请放到预约书架（读者 {privacy.mask(hp['card_display'])}，"
                  f"保留至{self.c._date_text(expires)}）。",
            alert_type="01", hold=fresh,
        )

    def send_for_hold(self, hold: Row) -> CheckinResult:
        pickup = self.lib(hold["pickup_library_id"])
        self.conn.execute(update(holds).where(holds.c.id == hold["id"]).values(
            status="in-transit", item_id=self.item["id"]))
        self.set_item(status="in-transit")
        self.send(pickup["id"], "hold", hold["id"])
        fresh = self.conn.execute(select(holds).where(holds.c.id == hold["id"])).mappings().one()
        return self.answer(
            True, f"还书成功：《{self.title}》。此书已被预约，请放入还书箱，将送到{pickup['name']}供读者取书。",
            alert_type="02", destination=pickup["id"], hold=fresh,
        )

    def shelve(self, message: str | None = None) -> CheckinResult:
        self.set_item(status="available")
        if message is None:
            message = (f"还书成功：《{self.title}》。" if self.loan is not None
                       else f"《{self.title}》未在借出状态，已登记在本馆。") + "请放回书架。"
        return self.answer(True, message)

    def by_policy(self) -> CheckinResult:
        policy = self.policy
        home_id = self.item["home_library_id"]
        here_id = self.here["id"]
        lead = f"还书成功：《{self.title}》。" if self.loan is not None else f"《{self.title}》未在借出状态。"
        if policy.return_policy == "float" and home_id != here_id:
            here_policy = self.c._policy(self.conn, str(self.here["code"]), self.item["item_type"])
            if policy.float_group is None or policy.float_group == here_policy.float_group:
                self.set_item(status="available", home_library_id=here_id, home_location_id=None)
                self.event("item-floated", {"from": self.home_code, "to": self.here["code"],
                                            "float_group": policy.float_group})
                return self.answer(True, lead + "此书为流动馆藏，已转入本馆，请放回书架。")
            return self.route_to(home_id, "return-home", lead)
        if policy.return_policy == "return-to-issuing":
            issuing = self.loan["checkout_library_id"] if self.loan is not None else home_id
            if issuing != here_id:
                return self.route_to(issuing, "return-to-issuing", lead)
            return self.shelve()
        if home_id != here_id:  # return-home
            return self.route_to(home_id, "return-home", lead)
        return self.shelve()

    def route_to(self, lib_id: int, reason: str, lead: str) -> CheckinResult:
        lib = self.lib(lib_id)
        self.set_item(status="in-transit")
        self.send(lib_id, reason)
        owner = "属于" if reason == "return-home" else "借自"
        return self.answer(True, lead + f"此书{owner}{lib['name']}，请放入还书箱，将送回该馆。",
                           alert_type="04", destination=lib_id)


