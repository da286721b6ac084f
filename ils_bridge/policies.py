"""Circulation rules: who may borrow what for how long, and where a returned item goes.

A rule (row of ``circ_policies``) applies to a ``(library, item type)`` pair, either of which may
be ``"*"``. The effective value of each setting is the first non-NULL one in this order (Koha's
CircControl and Evergreen's org-unit inheritance, reduced to our tree):

1. ``(library, type)``, ``(library, *)``
2. the same for each ancestor of the library up to the central library (with the usual
   two-level tree that is just ``(central, type)``, ``(central, *)``)
3. ``("*", type)``, ``("*", *)``
4. the built-in :data:`DEFAULTS`.

Whose rules govern a loan is the circulation service's choice (the item's *home* library);
this module only resolves a rule for a library it is given, and turns a loan length into a due
date past the holidays of the library the item is due back at.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from .passwords import hash_password, verify_password
from .store.schema import circ_policies, holidays, libraries, meta

__all__ = [
    "DEFAULTS",
    "FINE_CAP_CENTS",
    "HOLD_LIMIT",
    "RETURN_POLICIES",
    "SETTINGS",
    "Policy",
    "RuleCache",
    "due_at",
    "hash_password",
    "holiday_set",
    "overdue_days",
    "policy_chain",
    "resolve",
    "verify_password",
]

RETURN_POLICIES = ("return-home", "float", "return-to-issuing")

#: The settings a rule may hold (the nullable columns of ``circ_policies``).
SETTINGS = (
    "loan_days",
    "renewals_max",
    "renewal_days",
    "max_loans",
    "max_overdues",
    "max_fines_cents",
    "fine_per_day_cents",
    "hold_shelf_days",
    "return_policy",
    "float_group",
    "double_scan_seconds",
)

#: Built-in values, used when no rule in the chain sets a value. ``renewal_days`` None means
#: "as long as the loan"; ``float_group`` None means "floats anywhere in the cluster" (only
#: relevant when ``return_policy`` is "float").
DEFAULTS: Mapping[str, Any] = {
    "loan_days": 30,
    "renewals_max": 2,
    "renewal_days": None,
    "max_loans": 20,
    "max_overdues": 3,
    "max_fines_cents": 1000,
    "fine_per_day_cents": 10,
    "hold_shelf_days": 7,
    "return_policy": "return-home",
    "float_group": None,
    "double_scan_seconds": 10,
}

#: One overdue fine never exceeds this (50 元): a book kept for years costs its replacement,
#: which is a "lost" fee staff charge, not an ever-growing overdue fine.
FINE_CAP_CENTS = 5000

#: How many active holds (waiting, in transit, on the shelf) one patron may have.
HOLD_LIMIT = 10

_INT_SETTINGS = frozenset(SETTINGS) - {"return_policy", "float_group"}


@dataclass(frozen=True)
class Policy:
    """The effective rule for ``(library, item_type)``; ``origin`` says where each value came
    from (``"XT/book"``, ``"CEN/*"``, ``"*/*"`` or ``"default"``)."""

    library: str
    item_type: str
    loan_days: int = 30
    renewals_max: int = 2
    renewal_days: int = 30
    max_loans: int = 20
    max_overdues: int = 3
    max_fines_cents: int = 1000
    fine_per_day_cents: int = 10
    hold_shelf_days: int = 7
    return_policy: str = "return-home"
    float_group: str | None = None
    double_scan_seconds: int = 10
    origin: Mapping[str, str] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "origin"}
        out["origin"] = dict(self.origin)
        return out


def check_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` checked for :func:`ils_bridge.circulation.Circulation.set_policy`; raises
    ``ValueError`` with a sentence for people. None means "inherit"."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SETTINGS:
            raise ValueError(f"unknown policy setting {key!r} (one of {', '.join(SETTINGS)})")
        if value is None:
            out[key] = None
        elif key in _INT_SETTINGS:
            if isinstance(value, bool) or not isinstance(value, int):
                try:
                    value = int(str(value).strip())
                except ValueError:
                    raise ValueError(f"{key} must be a whole number, not {value!r}") from None
            if value < 0:
                raise ValueError(f"{key} must not be negative")
            if key == "loan_days" and value < 1:
                raise ValueError("loan_days must be at least 1")
            out[key] = value
        elif key == "return_policy":
            text = str(value).strip().lower()
            if text not in RETURN_POLICIES:
                raise ValueError(f"return_policy must be one of {', '.join(RETURN_POLICIES)}")
            out[key] = text
        else:  # float_group
            text = str(value).strip()
            if not text or len(text) > 32:
                raise ValueError("float_group must be 1–32 characters")
            out[key] = text
    return out


def policy_chain(conn: Connection, library: str) -> list[str]:
    """``library`` and its ancestors up to the root (the central library), by code; empty
    for ``"*"`` (the cluster-wide rules have no ancestors)."""
    if library == "*":
        return []
    rows = conn.execute(
        select(libraries.c.id, libraries.c.code, libraries.c.parent_id, libraries.c.kind, libraries.c.status)
    ).mappings().all()
    return chain_from(rows, library)


def chain_from(rows: Iterable[Mapping[Any, Any]], library: str) -> list[str]:
    """:func:`policy_chain` over library rows already read (``id``, ``code``, ``parent_id``,
    ``kind``, ``status``)."""
    if library == "*":
        return []
    by_code = {r["code"]: r for r in rows}
    by_id = {r["id"]: r["code"] for r in by_code.values()}
    chain: list[str] = []
    code: str | None = library
    while code is not None and code in by_code and code not in chain:
        chain.append(code)
        parent = by_code[code]["parent_id"]
        code = by_id.get(parent) if parent is not None else None
    if not chain:
        chain.append(library)
    # The first active central library (the database hands rows back in id order).
    central = next(
        (r["code"] for r in sorted(by_code.values(), key=lambda r: r["id"])
         if r["kind"] == "central" and r["status"] == "active"),
        None,
    )
    if central and central not in chain:
        chain.append(central)
    return chain


def resolve(conn: Connection, library: str, item_type: str) -> Policy:
    """The effective :class:`Policy` for ``(library, item_type)`` (see the module docstring)."""
    chain = policy_chain(conn, library)
    rules = conn.execute(
        select(circ_policies).where(
            circ_policies.c.library.in_([*chain, "*"]),
            circ_policies.c.item_type.in_([item_type, "*"]),
        )
    ).mappings().all()
    return resolve_from(chain, rules, library, item_type)


def resolve_from(
    chain: Sequence[str], rules: Iterable[Mapping[Any, Any]], library: str, item_type: str
) -> Policy:
    """:func:`resolve` over the library chain and the rule rows already read (rows for other
    libraries or types are ignored)."""
    order: list[tuple[str, str]] = []
    for lib in [*chain, "*"]:
        for typ in (item_type, "*"):
            if (lib, typ) not in order:
                order.append((lib, typ))
    wanted = set(order)
    rows = {(r["library"], r["item_type"]): r for r in rules if (r["library"], r["item_type"]) in wanted}
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key in SETTINGS:
        for lib, typ in order:
            row = rows.get((lib, typ))
            if row is not None and row[key] is not None:
                values[key], origin[key] = row[key], f"{lib}/{typ}"
                break
        else:
            values[key], origin[key] = DEFAULTS[key], "default"
    if values["renewal_days"] is None:
        values["renewal_days"] = values["loan_days"]
        origin["renewal_days"] = origin["loan_days"]
    return Policy(library=library, item_type=item_type, origin=origin, **values)


def holiday_set(conn: Connection, libraries_: Iterable[str], start: dt.date, days: int = 400) -> set[dt.date]:
    """Closed days of any of ``libraries_`` (codes; include ``"*"`` for cluster-wide days)
    between ``start`` and ``start + days``."""
    end = start + dt.timedelta(days=days)
    return set(
        conn.execute(
            select(holidays.c.day).where(
                holidays.c.library.in_(list(libraries_)), holidays.c.day >= start, holidays.c.day <= end
            )
        ).scalars()
    )


def due_at(
    start: dt.datetime, days: int, closed: Iterable[dt.date], tz: ZoneInfo
) -> dt.datetime:
    """End of the local day ``days`` after ``start``, moved forward past closed days (UTC)."""
    day = start.astimezone(tz).date() + dt.timedelta(days=days)
    closed_days = closed if isinstance(closed, (set, frozenset)) else set(closed)
    for _ in range(366):
        if day not in closed_days:
            break
        day += dt.timedelta(days=1)
    local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz)
    return local.astimezone(dt.UTC)


def overdue_days(due: dt.datetime, returned: dt.datetime, tz: ZoneInfo) -> int:
    """Whole local calendar days ``returned`` is after ``due`` (0 when on time)."""
    if returned <= due:
        return 0
    return max(1, (returned.astimezone(tz).date() - due.astimezone(tz).date()).days)


# ------------------------------------------------------------------------------ in-process cache

#: The ``meta`` row whose value changes (a fresh random token) in the same transaction as every
#: change of ``circ_policies`` or ``holidays`` made through the circulation service.
RULES_VERSION_KEY = "circ_rules_version"


class _Rules:
    """One immutable snapshot of the rules and the calendar, tagged with the version token read
    *before* they were loaded (so a snapshot is never older than its tag)."""

    __slots__ = ("closed", "loaded_at", "memo", "rules", "token")

    def __init__(self, token: str | None, rules: Sequence[Mapping[Any, Any]], closed: dict[str, frozenset[dt.date]]) -> None:
        self.token = token
        self.rules = rules
        self.closed = closed
        self.loaded_at = time.monotonic()
        # (libraries fingerprint, library, item type) → Policy; (codes) → closed days
        self.memo: dict[Any, Any] = {}


class RuleCache:
    """Policies and holidays held in process, checked against the version token once per
    transaction (the caller reads the token with its first statement).

    Invalidation: :meth:`ils_bridge.circulation.Circulation.set_policy`, ``add_holiday`` and
    ``remove_holiday`` write a new token into ``meta`` in the same transaction as the change,
    so any process that reads the new rows also reads the new token and reloads; a process that
    still reads the old token also still reads the old rows (one snapshot on SQLite; on
    PostgreSQL the token is read first and the rows after it, so they are never older than the
    token). Changes made behind the service's back (hand-written SQL) are picked up within
    :attr:`ttl` seconds. Policies also depend on the library tree: the resolved policies are
    memoised per fingerprint of the library rows, which the caller reads in every transaction.
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._snap: _Rules | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._snap = None

    def snapshot(self, conn: Connection, token: str | None) -> _Rules:
        snap = self._snap
        if snap is not None and snap.token == token and time.monotonic() - snap.loaded_at < self.ttl:
            return snap
        rules = [dict(r) for r in conn.execute(select(circ_policies)).mappings()]
        closed: dict[str, set[dt.date]] = {}
        for lib, day in conn.execute(select(holidays.c.library, holidays.c.day)):
            closed.setdefault(lib, set()).add(day)
        snap = _Rules(token, rules, {k: frozenset(v) for k, v in closed.items()})
        with self._lock:
            self._snap = snap
        return snap

    @staticmethod
    def policy(snap: _Rules, libs_key: Any, libs: Iterable[Mapping[Any, Any]], library: str, item_type: str) -> Policy:
        key = (libs_key, library, item_type)
        found: Policy | None = snap.memo.get(key)
        if found is None:
            found = resolve_from(chain_from(libs, library), snap.rules, library, item_type)
            if len(snap.memo) > 4096:
                snap.memo.clear()
            snap.memo[key] = found
        return found

    @staticmethod
    def closed(snap: _Rules, codes: tuple[str, ...]) -> frozenset[dt.date]:
        key = ("closed", codes)
        found: frozenset[dt.date] | None = snap.memo.get(key)
        if found is None:
            found = frozenset().union(*(snap.closed.get(c, frozenset()) for c in codes))
            snap.memo[key] = found
        return found


def read_rules_version(conn: Connection) -> str | None:
    value = conn.execute(select(meta.c.value).where(meta.c.key == RULES_VERSION_KEY)).scalar()
    return None if value is None else str(value)
