"""The unified catalogue in the hub (统一编目, R4): MARC records in the store, deduplicating
import, CJK-aware search, holdings.

::

    cat = Catalogue(store, cluster)
    summary = cat.import_records(["bnu.xml", "vendor.iso"], register_items=True)
    ids = cat.search(title="红楼", author="曹雪芹")
    rec = cat.get(ids[0])            # StoredRecord: pymarc record, flavour, access points
    cat.holdings(ids[0])             # items per library with their status

Storage
    One ``bibs`` row per work. ``marc`` holds the record in UTF-8 ISO 2709 with a matching
    charset declaration (MARCXML when the record is too long for ISO 2709), ``flavour`` its
    format, ``charset``/``charset_declared`` what it arrived in and what it claimed. Access
    points are columns (title, author, publisher, year, clc, local_number); every ISBN-13 and
    ISSN is a ``bib_isbns`` row. Search tokens (:mod:`ils_bridge.catalogue.search`) live in
    ``search_title``/``search_author``/``search_publisher``/``search_subject``, indexed by the
    FTS5 table ``bib_fts`` on SQLite (kept in sync by triggers, so in the row's transaction;
    import writes its new rows' entries itself, in the same transaction — migration 0005) and
    by pg_trgm GIN indexes on PostgreSQL. Brief records made by ``item add --title`` are rows
    with a title and no MARC; an imported record with the same ISBN completes them. They are
    searchable by title/author once indexed (:meth:`Catalogue.index_brief_records`, which
    every import runs first; migration 0003 indexed those that existed then).

Import
    Records are read permissively (a bad record is a failure with file, position and reason,
    never the end of the batch), keyed (:func:`~ils_bridge.catalogue.access.match_keys`) and
    matched against the store *and* the records before them in the batch: a shared ISBN/ISSN
    matches (when both have codes), else the normalised title+author+year key matches when
    either lacks codes. A match is *merged* — the record kept is the first one; it gains the
    newcomer's ISBN/ISSNs and holdings fields (905/906, 852/952) — not duplicated. Records are
    written one transaction per chunk (:data:`CHUNK`), never half a record. ISO 2709 records
    are read by :func:`~ils_bridge.catalogue.reader.read_iso2709_fast` (access points straight
    from the field bytes, no pymarc record; a UTF-8 record that says so is stored as it came,
    others are written once as UTF-8) and by the full reader when that declines (damaged
    records, MARC-8, odd structure) — the result is the same. Large ISO 2709 files are read by
    worker processes while the parent matches and writes. With
    ``register_items`` the holdings become items through :meth:`Cluster.import_items` (the R3
    uniqueness rules; refusals reported) and are attached to the record.

Search (for the Z39.50 target and the CLI)
    A query is a small tree: :class:`Term` leaves ``(field, value, truncation, relation)``
    combined by :class:`And`, :class:`Or` and :class:`AndNot` (Z39.50's ``@not`` is and-not).
    Fields (:data:`FIELDS`) and the Bib-1 use attribute each one serves:

    ============== ===== ==========================================================
    field          Bib-1 semantics
    ============== ===== ==========================================================
    title          4     every whitespace-separated word is a phrase that must occur
    author         1003  in the field; CJK runs match as substrings (红楼 ⊂ 红楼梦,
    publisher      1018  2-character terms work), Latin words whole and case-folded;
    subject        21    truncation RIGHT makes the last word a prefix
    any            1016  title/author/publisher/subject, or ISBN/ISSN when the term is one
    isbn           7     ISBN-10 or -13, any hyphenation: finds the record whatever form it
                         carried (cancelled 010$z/020$z included)
    issn           8     ISSN, with or without hyphen
    local_number   12    001, exact (RIGHT truncation: prefix)
    clc            —     中图法 class number, exact (RIGHT truncation: prefix)
    year           31    publication year; relation one of ``= < <= > >=``
    ============== ===== ==========================================================

    ``Catalogue.search(query, limit=…, offset=…)`` returns bib ids in ascending order
    (``limit=None``: all); ``Catalogue.search_count(query)`` the size of the whole result set;
    ``Catalogue.search_head(query, n)`` the first ``n`` ids and that size together. On SQLite,
    text words (FTS5 alone) and ISBN/ISSN terms are answered straight from their index in id
    order and counted there — no id list, join or sort;
    ``Catalogue.summaries(ids)`` title/author/ISBNs/year for a hit list;
    ``Catalogue.get(id)`` the :class:`StoredRecord`; ``Catalogue.holdings(id)`` its items
    (:class:`Holding`: barcode, home library, location, where it is now, status, item type,
    call number from the record's holdings fields, ``available``). Unknown fields,
    truncations or relations raise :class:`UnsupportedSearch` whose ``kind`` ("field",
    "truncation", "relation", "term") maps onto Bib-1 diagnostics 114/120/117/… . Keyword
    arguments (``search(title="红楼", year="1982")``) and :class:`SearchQuery` are the same
    as an :class:`And` of terms.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import enum
import gc
import logging
import multiprocessing
import os
import pickle
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymarc
import sqlalchemy as sa
from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql as pg_dialect

from ils_bridge.catalogue.access import (
    AccessPoints,
    DataField,
    FieldMap,
    HoldingInfo,
    MatchKeys,
    _import_points,
    access_points,
    extract_access_points,
    extract_holdings,
    field_map,
    holdings_of,
    match_keys,
)
from ils_bridge.catalogue.model import Charset, CharsetDecision, Flavour, Position, ReadRecord
from ils_bridge.catalogue.profiles import profile_for
from ils_bridge.catalogue.reader import (
    FastRecord,
    Syntax,
    _split_iso2709,
    read_iso2709,
    read_iso2709_fast,
    read_marcxml,
    sniff_syntax,
)
from ils_bridge.catalogue.search import index_text, like_patterns, query_phrases
from ils_bridge.catalogue.writer import (
    MarcWriteError,
    iso2709_from_texts,
    to_iso2709,
    to_marcxml,
)
from ils_bridge.codes import Code, extract_isbn, normalise_issn
from ils_bridge.errors import InvalidInput, NotFound
from ils_bridge.store.engine import Store
from ils_bridge.store.schema import bib_isbns, bibs, items, libraries, locations

if TYPE_CHECKING:
    from ils_bridge.cluster import Cluster

__all__ = [
    "CHUNK",
    "FIELDS",
    "And",
    "AndNot",
    "Catalogue",
    "Holding",
    "ImportFailure",
    "ImportSummary",
    "ItemRefusal",
    "Or",
    "Query",
    "SearchQuery",
    "StoredRecord",
    "Term",
    "Truncation",
    "UnsupportedSearch",
]

log = logging.getLogger(__name__)

CHUNK = 10_000
"""Records per write transaction during import. Each transaction rewrites the index pages it
touched (random ones: ISBNs and titles do not arrive sorted), so fewer, larger transactions
write less; on SQLite other writers wait while one is written (about a third of a second)."""

_IN_CHUNK = 500  # values per IN (...) list
#: SQLite settings of the import's connection (restored after it): page cache in KiB (pages
#: are allocated as used), WAL pages between automatic checkpoints (64 MiB of 4 KiB pages: a
#: checkpoint copies each page once however often the WAL holds it, so rarer ones copy less)
_IMPORT_PRAGMAS = (("cache_size", -262_144), ("wal_autocheckpoint", 16_384))
_SQLITE_IN_CHUNK = 5000  # on SQLite through the driver (its limit is 32,766 parameters)

Progress = Callable[[int], None]


def _noop(_n: int) -> None:
    return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------------------------------
# the FTS5 table is hand-made in migration 0003, not part of ``metadata``

_bib_fts = sa.table("bib_fts", sa.column("rowid", sa.Integer), sa.column("bib_fts", sa.Text))

_TEXT_COLUMNS = {
    "title": "search_title",
    "author": "search_author",
    "publisher": "search_publisher",
    "subject": "search_subject",
}
_SEARCH_COLUMNS = tuple(_TEXT_COLUMNS.values())  # bib_fts's columns, in its order


# ---------------------------------------------------------------------------------------
# search queries


class Truncation(enum.Enum):
    NONE = "none"
    RIGHT = "right"
    LEFT = "left"
    BOTH = "both"


FIELDS = frozenset(
    {
        "title",
        "author",
        "publisher",
        "subject",
        "any",
        "isbn",
        "issn",
        "local_number",
        "clc",
        "year",
    }
)
RELATIONS = frozenset({"=", "<", "<=", ">", ">="})


class UnsupportedSearch(InvalidInput):
    """A query the catalogue cannot answer. ``kind``: "field" (Bib-1 114), "truncation" (120),
    "relation" (117), "term" (a malformed term, e.g. a year that is not a number)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Term:
    """One leaf: ``field`` (see :data:`FIELDS`), the user's ``value``, truncation, relation."""

    field: str
    value: str
    truncation: Truncation = Truncation.NONE
    relation: str = "="


@dataclass(frozen=True)
class And:
    operands: tuple[Query, ...]

    def __init__(self, *operands: Query) -> None:
        object.__setattr__(self, "operands", tuple(operands))


@dataclass(frozen=True)
class Or:
    operands: tuple[Query, ...]

    def __init__(self, *operands: Query) -> None:
        object.__setattr__(self, "operands", tuple(operands))


@dataclass(frozen=True)
class AndNot:
    """``left`` and not ``right`` (Z39.50 ``@not``)."""

    left: Query
    right: Query


Query = Term | And | Or | AndNot


@dataclass(frozen=True)
class SearchQuery:
    """Field searches ANDed together; None fields are ignored."""

    title: str | None = None
    author: str | None = None
    isbn: str | None = None
    issn: str | None = None
    clc: str | None = None
    publisher: str | None = None
    subject: str | None = None
    year: str | int | None = None
    local_number: str | None = None
    any: str | None = None

    def to_query(self) -> Query:
        terms = [
            Term(f.name, str(v))
            for f in dataclasses.fields(self)
            if (v := getattr(self, f.name)) is not None and str(v).strip()
        ]
        if not terms:
            raise UnsupportedSearch("term", "empty search: give at least one field")
        return terms[0] if len(terms) == 1 else And(*terms)


# ---------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class ImportFailure:
    """A record that was not imported: its file, its position there and why."""

    file: str
    position: Position
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "record": self.position.index,
            "offset": self.position.offset,
            "line": self.position.line,
            "position": str(self.position),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ItemRefusal:
    """A holdings item that could not be registered."""

    file: str
    position: Position
    barcode: str
    library: str | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "position": str(self.position),
            "barcode": self.barcode,
            "library": self.library,
            "reason": self.reason,
        }


@dataclass
class ImportSummary:
    new: int = 0
    merged: int = 0
    rejected: int = 0
    failures: list[ImportFailure] = field(default_factory=list)
    items_registered: int = 0
    items_refused: list[ItemRefusal] = field(default_factory=list)
    warnings: int = 0
    dry_run: bool = False
    files: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.new + self.merged + self.rejected

    def as_json(self, limit: int | None = None) -> dict[str, Any]:
        """The counts, and the failures and refused items (the first ``limit`` of each)."""
        return {
            "new": self.new,
            "merged": self.merged,
            "rejected": self.rejected,
            "read": self.read,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
            "files": self.files,
            "items_registered": self.items_registered,
            "items_refused": len(self.items_refused),
            "failures": [f.as_json() for f in self.failures[:limit]],
            "refused_items": [r.as_json() for r in self.items_refused[:limit]],
        }


@dataclass(frozen=True)
class StoredRecord:
    """One catalogue record as stored. ``record``/``access`` are None for a brief record."""

    id: int
    title: str
    author: str | None
    isbns: tuple[str, ...]
    issns: tuple[str, ...]
    year: int | None
    flavour: Flavour | None
    record: pymarc.Record | None
    access: AccessPoints | None
    charset: str | None
    charset_declared: str | None
    source: str | None
    marc: bytes | None
    marc_syntax: str | None

    @property
    def is_brief(self) -> bool:
        return self.record is None


@dataclass(frozen=True)
class Holding:
    """One item of a record, for OPAC displays and Z39.50 OPAC records."""

    barcode: str
    library: str  # home library code
    location: str | None
    current_library: str
    status: str
    item_type: str
    call_number: str | None

    @property
    def available(self) -> bool:
        return self.status == "available"

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "available": self.available}


# ---------------------------------------------------------------------------------------
# import internals


@dataclass(eq=False)
class _Target:
    """A record of this run that others may merge into (new, or found in the store)."""

    bib_id: int | None
    codes: set[str]  # strong keys "isbn:…"/"issn:…" it holds (as far as this run knows)
    pending: _Prepared | None = None  # set for a record new in this run, until written


HoldingField = tuple[str, str, str, list[tuple[str, str]]]
"""A holdings field as plain values: ``(tag, indicator 1, indicator 2, [(code, value), …])``."""


#: the ``bibs`` columns an import writes but ``id`` and the timestamps, in _Prepared.row order
_ROW_COLUMNS = (
    "title",
    "author",
    "isbn",
    "flavour",
    "marc",
    "marc_syntax",
    "charset",
    "charset_declared",
    "source",
    "publisher",
    "year",
    "clc",
    "local_number",
    "title_key",
    *_SEARCH_COLUMNS,
)
_MARC = _ROW_COLUMNS.index("marc")
_MARC_SYNTAX = _ROW_COLUMNS.index("marc_syntax")
_FLAVOUR = _ROW_COLUMNS.index("flavour")


@dataclass(eq=False, slots=True)
class _Prepared:
    """One record ready to match and write: plain values, no pymarc record — a worker sends
    thousands a second to the parent, whose share is the import's bottleneck, so they must
    pickle and unpickle quickly (``__reduce__``); the match keys, position and flavour are
    built when asked for."""

    file: str
    index: int  # Position
    offset: int | None
    line: int | None
    flavour_name: str
    isbns: tuple[str, ...]  # MatchKeys as read
    issns: tuple[str, ...]
    weak: tuple[str, ...]
    title_key: str | None
    strong: list[tuple[str, str]]  # _strong_values of those keys
    holding_fields: list[HoldingField]
    row: tuple[Any, ...]  # the bibs row, _ROW_COLUMNS
    warned: bool = False
    target: _Target | None = None
    extra_fields: list[HoldingField] = field(default_factory=list)
    merged_keys: MatchKeys | None = None  # the keys once later duplicates' codes were added

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _Prepared,
            (
                self.file,
                self.index,
                self.offset,
                self.line,
                self.flavour_name,
                self.isbns,
                self.issns,
                self.weak,
                self.title_key,
                self.strong,
                self.holding_fields,
                self.row,
                self.warned,
            ),
        )

    @property
    def position(self) -> Position:
        return Position(self.index, self.offset, self.line)

    @property
    def flavour(self) -> Flavour:
        return Flavour(self.flavour_name)

    @property
    def keys(self) -> MatchKeys:
        if self.merged_keys is not None:
            return self.merged_keys
        return MatchKeys(
            frozenset(self.isbns), frozenset(self.issns), frozenset(self.weak), self.title_key
        )

    def code_rows(self) -> list[tuple[str, str]]:
        """(value, kind) rows for bib_isbns."""
        if self.merged_keys is not None:
            return _code_rows(self.merged_keys)
        rows = [(v, "isbn") for v in self.isbns] + [(v, "issn") for v in self.issns]
        rows += [(v, "weak") for v in self.weak if len(v) <= 32]
        return rows

    @property
    def holdings(self) -> list[HoldingInfo]:
        """The record's holdings (as :func:`extract_holdings` reads them)."""
        data: dict[str, list[DataField]] = {}
        for tag, ind1, ind2, subs in self.holding_fields:
            data.setdefault(tag, []).append((ind1, ind2, subs))
        return holdings_of(FieldMap(data, {}), self.flavour)


@dataclass
class _RunState:
    """What this run has matched so far: records written or pending, by key and by id."""

    by_code: dict[str, _Target] = field(default_factory=dict)
    by_title: dict[str, list[_Target]] = field(default_factory=dict)
    by_id: dict[int, _Target] = field(default_factory=dict)
    # SQLite: True while every bibs row was written by this run (the catalogue was empty when
    # it began, and no other connection has committed since: PRAGMA data_version, which only
    # others' commits change), so the maps above know every record and the chunk's look-ups
    # in the database could only find nothing new. None until the first chunk has looked.
    only_ours: bool | None = None
    data_version: int | None = None


def _strong_values(keys: MatchKeys) -> list[tuple[str, str]]:
    """(prefixed key, bib_isbns value) pairs of the strong keys, sorted."""
    return sorted([(f"isbn:{v}", v) for v in keys.isbns] + [(f"issn:{v}", v) for v in keys.issns])


def _code_rows(keys: MatchKeys) -> list[tuple[str, str]]:
    """(value, kind) rows for bib_isbns."""
    rows = [(v, "isbn") for v in keys.isbns] + [(v, "issn") for v in keys.issns]
    rows += [(v, "weak") for v in keys.weak if len(v) <= 32]
    return rows


def _holdings_tags(flavour: Flavour) -> frozenset[str]:
    return frozenset(rule.tag for rule in profile_for(flavour).holdings)


def _field_key(f: pymarc.Field) -> str:
    return str(f)


def _pymarc_field(h: HoldingField) -> pymarc.Field:
    tag, ind1, ind2, subs = h
    return pymarc.Field(
        tag=tag,
        indicators=pymarc.Indicators(ind1, ind2),
        subfields=[pymarc.Subfield(code=c, value=v) for c, v in subs],
    )


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ---------------------------------------------------------------------------------------


class Catalogue:
    """The unified catalogue over one store (see the module documentation)."""

    def __init__(self, store: Store, cluster: Cluster | None = None) -> None:
        self.store = store
        self.cluster = cluster

    # ------------------------------------------------------------------ import
    def import_records(
        self,
        sources: Iterable[str | Path | bytes | tuple[str, bytes]],
        *,
        format: str | Syntax | None = None,
        encoding: str | Charset | None = None,
        flavour: str | Flavour | None = None,
        dry_run: bool = False,
        register_items: bool = False,
        library_default: str | None = None,
        progress: Progress = _noop,
        chunk_size: int = CHUNK,
        source_name: str | None = None,
        workers: int | None = None,
    ) -> ImportSummary:
        """Import MARC files (paths), raw bytes, or ``(name, bytes)`` pairs.

        ``format`` ("iso2709" | "marcxml"), ``encoding`` (a charset label: utf-8, gb18030,
        gbk, gb2312, marc-8…) and ``flavour`` ("cnmarc" | "unimarc" | "marc21") override
        detection. Never stops on a bad record; raises only for unusable arguments or an
        unreadable file (:class:`InvalidInput`).

        ISO 2709 files larger than :data:`PARALLEL_MIN_BYTES` are parsed and prepared by
        ``workers`` forked processes (default: the CPU count, at most 4; 1 = in this process)
        while this one matches and writes; the result is the same."""
        syntax = _syntax(format)
        charset = _charset(encoding)
        flav = _flavour(flavour)
        if register_items and self.cluster is None:
            raise InvalidInput("registering items needs the cluster")
        summary = ImportSummary(dry_run=dry_run)
        state = _RunState()
        if not dry_run:
            self.index_brief_records()
        done = 0
        batch: list[_Prepared] = []
        if workers is None:
            workers = min(os.cpu_count() or 1, 4)
        # The cyclic garbage collector stays off for the run (and in the workers forked
        # during it): the run's match state grows by several objects per record, and every
        # full collection walks all of them again — about a third of a large import's time.
        # An import makes next to no cyclic garbage; the collector is back on at the end.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            with self._import_connection() as conn:
                for name, data in self._open_sources(sources, source_name):
                    summary.files.append(name)
                    prepared_records = _prepared(
                        name, data, syntax, charset, flav, workers, ahead=chunk_size
                    )
                    for prepared in prepared_records:
                        done += 1
                        if isinstance(prepared, ImportFailure):
                            summary.rejected += 1
                            summary.failures.append(prepared)
                            continue
                        if prepared.warned:
                            summary.warnings += 1
                        batch.append(prepared)
                        if len(batch) >= chunk_size:
                            self._import_chunk(
                                batch,
                                state,
                                summary,
                                dry_run,
                                register_items,
                                library_default,
                                conn,
                            )
                            batch = []
                            progress(done)
                if batch:
                    self._import_chunk(
                        batch, state, summary, dry_run, register_items, library_default, conn
                    )
        finally:
            if gc_was_enabled:
                gc.enable()
        progress(done)
        return summary

    @contextlib.contextmanager
    def _import_connection(self) -> Iterator[Connection]:
        """The connection an import writes its chunks through (one transaction each).

        On SQLite it gets a larger page cache (the indexes and the full-text index of a large
        catalogue are far beyond the default 2 MB, and each chunk touches pages all over
        them) and checkpoints the WAL less often (a page rewritten by several chunks is copied
        into the database once), both for the import only; the WAL is checkpointed at the
        end (PASSIVE: never waits for readers), so nobody else pays for it later."""
        with self.store.engine.connect() as conn:
            if not self.store.is_sqlite:
                yield conn
                return
            db = conn.connection.driver_connection
            assert isinstance(db, sqlite3.Connection)
            restore: list[tuple[str, Any]] = []
            for pragma, value in _IMPORT_PRAGMAS:
                restore.append((pragma, db.execute(f"PRAGMA {pragma}").fetchone()[0]))
                db.execute(f"PRAGMA {pragma} = {value}")
            try:
                yield conn
            finally:
                try:
                    for pragma, old in restore:
                        db.execute(f"PRAGMA {pragma} = {int(old)}")
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # the connection is broken: the pool discards it
                    log.warning("could not restore the connection after an import", exc_info=True)

    def _open_sources(
        self, sources: Iterable[str | Path | bytes | tuple[str, bytes]], source_name: str | None
    ) -> Iterator[tuple[str, bytes]]:
        if isinstance(sources, (str, Path, bytes)) or (
            isinstance(sources, tuple) and len(sources) == 2 and isinstance(sources[1], bytes)
        ):
            sources = [sources]  # type: ignore[list-item]
        for n, src in enumerate(sources):
            if isinstance(src, bytes):
                yield (source_name or f"<input {n + 1}>"), src
            elif isinstance(src, tuple):
                yield src[0], src[1]
            else:
                path = Path(src)
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
                yield str(path), data

    def _import_chunk(
        self,
        batch: list[_Prepared],
        state: _RunState,
        summary: ImportSummary,
        dry_run: bool,
        register_items: bool,
        library_default: str | None,
        conn: Connection | None = None,
    ) -> None:
        # One transaction per chunk: BEGIN IMMEDIATE on SQLite, so the matching below sees
        # every record committed before it and no other writer can slip in between.
        if conn is None:
            with self.store.write() as own:  # maybe another connection each time, so its
                # data_version says nothing about the last chunk's: always look up
                new, merged = self._plan_and_write(own, batch, state, dry_run)
                if dry_run:
                    own.rollback()
        else:
            with conn.begin() as transaction:
                look_up = not self._only_ours(conn, state)
                new, merged = self._plan_and_write(conn, batch, state, dry_run, look_up)
                if dry_run:
                    transaction.rollback()
        summary.new += new
        summary.merged += merged
        if register_items:
            self._register_items(batch, summary, dry_run, library_default)

    def _only_ours(self, conn: Connection, state: _RunState) -> bool:
        """Inside the chunk's write transaction: is every stored record one of this run's
        (see :attr:`_RunState.only_ours`)? Always False on PostgreSQL."""
        if not self.store.is_sqlite or state.only_ours is False:
            return False
        version = conn.exec_driver_sql("PRAGMA data_version").scalar()
        if state.only_ours is None:
            empty = conn.exec_driver_sql("SELECT NOT EXISTS (SELECT 1 FROM bibs)").scalar()
            state.only_ours = bool(empty)
        elif version != state.data_version:
            state.only_ours = False  # someone else committed: maybe records, maybe not
        state.data_version = version
        return state.only_ours

    # -- planning: match every record of the chunk, then write in sets
    def _plan_and_write(
        self,
        conn: Connection,
        batch: list[_Prepared],
        state: _RunState,
        dry_run: bool,
        look_up: bool = True,
    ) -> tuple[int, int]:
        """Match the chunk's records against this run's and (``look_up``) the stored ones,
        then write the new records, the completed brief ones and the merges."""
        if look_up:
            codes = sorted({v for p in batch for _, v in p.strong})
            isbn13s = sorted({v for p in batch for v in p.isbns})
            titles = sorted({p.title_key for p in batch if p.title_key})
        else:
            codes = isbn13s = titles = []
        db_codes: dict[str, int] = {}
        for value, kind, bib_id in self._lookup(
            conn,
            "SELECT isbn, kind, bib_id FROM bib_isbns WHERE isbn IN ({}) AND kind != 'weak' "
            "ORDER BY bib_id",
            codes,
            lambda part: (
                select(bib_isbns.c.isbn, bib_isbns.c.kind, bib_isbns.c.bib_id)
                .where(bib_isbns.c.isbn.in_(part), bib_isbns.c.kind != "weak")
                .order_by(bib_isbns.c.bib_id)
            ),
        ):
            db_codes.setdefault(f"{kind}:{value}", bib_id)
        brief: dict[str, int] = {}
        for bib_id, isbn in self._lookup(
            conn,
            "SELECT id, isbn FROM bibs WHERE isbn IN ({}) AND marc IS NULL ORDER BY id",
            isbn13s,
            lambda part: (
                select(bibs.c.id, bibs.c.isbn)
                .where(bibs.c.isbn.in_(part), bibs.c.marc.is_(None))
                .order_by(bibs.c.id)
            ),
        ):
            brief.setdefault(isbn, bib_id)
        db_titles: dict[str, list[tuple[int, bool]]] = {}
        has_codes = (
            select(bib_isbns.c.bib_id)
            .where(bib_isbns.c.bib_id == bibs.c.id, bib_isbns.c.kind != "weak")
            .exists()
        )
        for bib_id, key, coded in self._lookup(
            conn,
            "SELECT id, title_key, EXISTS (SELECT 1 FROM bib_isbns WHERE bib_isbns.bib_id = "
            "bibs.id AND bib_isbns.kind != 'weak') FROM bibs WHERE title_key IN ({}) ORDER BY id",
            titles,
            lambda part: (
                select(bibs.c.id, bibs.c.title_key, has_codes)
                .where(bibs.c.title_key.in_(part))
                .order_by(bibs.c.id)
            ),
        ):
            db_titles.setdefault(key, []).append((bib_id, bool(coded)))

        def existing(bib_id: int) -> _Target:
            t = state.by_id.get(bib_id)
            if t is None:
                t = state.by_id[bib_id] = _Target(bib_id, set())
            return t

        fresh: list[_Prepared] = []
        upgrades: list[tuple[_Prepared, int]] = []
        merged_into_db: list[_Prepared] = []
        by_code, by_title = state.by_code, state.by_title
        for p in batch:
            strong = p.strong
            title_key = p.title_key
            target: _Target | None = None
            for key, _value in strong:
                target = by_code.get(key)
                if target is None and key in db_codes:
                    target = existing(db_codes[key])
                    target.codes.add(key)
                if target is not None:
                    break
            if target is None and title_key:
                for cand in by_title.get(title_key, ()):
                    if not strong or not cand.codes:
                        target = cand
                        break
                if target is None:
                    for bib_id, coded in db_titles.get(title_key, ()):
                        if not strong or not coded:
                            target = existing(bib_id)
                            if coded:
                                target.codes.add("?")  # holds codes we have not looked at
                            break
            if target is None and brief:
                brief_id = next((brief[v] for v in sorted(p.isbns) if v in brief), None)
                if brief_id is not None and brief_id not in state.by_id:
                    # a brief record (item add --title --isbn) gets its full record
                    upgrades.append((p, brief_id))
                    target = existing(brief_id)
                    p.target = target
                    self._remember(state, target, p)
                    continue
            if target is None:
                target = _Target(None, set(), pending=p)
                fresh.append(p)
                self._remember(state, target, p)
                p.target = target
                continue
            # a merge
            p.target = target
            self._remember(state, target, p)
            if target.pending is not None:
                target.pending.extra_fields.extend(p.holding_fields)
                target.pending.merged_keys = _union_keys(target.pending.keys, p.keys)
            else:
                merged_into_db.append(p)
        new_count = len(fresh)
        merged_count = len(batch) - len(fresh)  # completing a brief record counts as a merge
        if dry_run:
            return new_count, merged_count
        ts = _now()
        # 1. brand-new records
        ids = self._insert_bibs(conn, [_bib_row(p) for p in fresh], ts)
        code_rows: list[tuple[int, str, str]] = []
        for p, bib_id in zip(fresh, ids, strict=True):
            assert p.target is not None
            p.target.bib_id = bib_id
            p.target.pending = None
            state.by_id[bib_id] = p.target
            code_rows += [(bib_id, v, k) for v, k in p.code_rows()]
        # 2. brief records completed by their full record
        for p, bib_id in upgrades:
            values = dict(zip(_ROW_COLUMNS, _bib_row(p), strict=True))
            conn.execute(update(bibs).where(bibs.c.id == bib_id).values(**values, updated_at=ts))
            code_rows += [(bib_id, v, k) for v, k in p.code_rows()]
        # 3. merges onto records already stored: new codes, new holdings fields
        holdings_by_bib: dict[int, list[HoldingField]] = {}
        for p in merged_into_db:
            assert p.target is not None and p.target.bib_id is not None
            bib_id = p.target.bib_id
            code_rows += [(bib_id, v, k) for v, k in p.code_rows()]
            if p.holding_fields:
                holdings_by_bib.setdefault(bib_id, []).extend(p.holding_fields)
        if holdings_by_bib:
            self._merge_holdings_fields(conn, holdings_by_bib, ts)
        if code_rows:
            self._insert_codes(conn, code_rows)
        return new_count, merged_count

    def _lookup(
        self,
        conn: Connection,
        sqlite_sql: str,
        values: Sequence[str],
        statement: Callable[[Sequence[str]], sa.Select[Any]],
    ) -> Iterator[Sequence[Any]]:
        """Rows of a ``… IN (values)`` lookup, in parts: on SQLite the plain SQL (``{}`` is
        where the placeholders go) through the driver, elsewhere the SQLAlchemy statement."""
        if not values:
            return
        if self.store.is_sqlite:
            for part in _chunks(values, _SQLITE_IN_CHUNK):
                yield from conn.exec_driver_sql(
                    sqlite_sql.format(", ".join("?" * len(part))), tuple(part)
                ).all()
            return
        for part in _chunks(values):
            yield from conn.execute(statement(part)).all()

    def _insert_bibs(
        self, conn: Connection, rows: list[tuple[Any, ...]], ts: dt.datetime
    ) -> list[int]:
        """Insert new records (``_ROW_COLUMNS`` tuples, created and updated at ``ts``) and their
        search index entries; returns their ids in order."""
        if not rows:
            return []
        if not self.store.is_sqlite:
            ids: list[int] = []
            for part in _chunks(rows, 1000):
                ids.extend(
                    conn.execute(
                        sa.insert(bibs).returning(bibs.c.id, sort_by_parameter_order=True),
                        [
                            {
                                **dict(zip(_ROW_COLUMNS, r, strict=True)),
                                "created_at": ts,
                                "updated_at": ts,
                            }
                            for r in part
                        ],
                    ).scalars()
                )
            return ids
        # SQLite: the chunk's transaction is BEGIN IMMEDIATE, so nobody else can insert
        # meanwhile and the ids SQLite would choose (max + 1…) can be given up front; one
        # executemany of plain tuples is several times faster than INSERT … RETURNING.
        first = int(conn.execute(select(func.coalesce(func.max(bibs.c.id), 0))).scalar_one()) + 1
        stamp = sa.DateTime(timezone=True).bind_processor(conn.dialect)
        when: Any = stamp(ts) if stamp is not None else ts
        adapt = sqlite3.adapters.get((type(when), sqlite3.PrepareProtocol))
        if adapt is not None:
            when = adapt(when)  # what the driver would do for each row: once for all
        values = [(first + n, *row, when, when) for n, row in enumerate(rows)]
        sql = (
            f"INSERT INTO bibs (id, {', '.join(_ROW_COLUMNS)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * (len(_ROW_COLUMNS) + 3))})"
        )
        bulk = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bib_fts_bulk'"
        ).first()
        if bulk is None:  # a store before migration 0005: the trigger indexes each row
            conn.exec_driver_sql(sql, values)
            return list(range(first, first + len(rows)))
        # The insert trigger stands aside while bib_fts_bulk holds a row (migration 0005), and
        # the index entries go in as one statement: the trigger would flush FTS5's pending
        # terms once per row. The flag row lives and dies inside this write transaction.
        columns = ", ".join(_SEARCH_COLUMNS)
        conn.exec_driver_sql("INSERT INTO bib_fts_bulk (active) VALUES (1)")
        try:
            conn.exec_driver_sql(sql, values)
            conn.exec_driver_sql(
                f"INSERT INTO bib_fts (rowid, {columns}) SELECT id, {columns} FROM bibs "
                "WHERE id BETWEEN ? AND ?",
                (first, first + len(rows) - 1),
            )
        finally:
            conn.exec_driver_sql("DELETE FROM bib_fts_bulk")
        return list(range(first, first + len(rows)))

    @staticmethod
    def _remember(state: _RunState, target: _Target, p: _Prepared) -> None:
        for key, _ in p.strong:
            target.codes.add(key)
            state.by_code.setdefault(key, target)
        if p.title_key:
            bucket = state.by_title.setdefault(p.title_key, [])
            if target not in bucket:
                bucket.append(target)

    def _insert_codes(self, conn: Connection, rows: list[tuple[int, str, str]]) -> None:
        """Insert ``(bib_id, value, kind)`` rows into bib_isbns (the first of each pair)."""
        seen: set[tuple[int, str]] = set()
        unique = []
        for r in rows:
            k = (r[0], r[1])
            if k not in seen:
                seen.add(k)
                unique.append(r)
        if not unique:
            return
        if self.store.is_sqlite:
            # plain tuples through the driver: the same statement SQLAlchemy would issue,
            # without its per-row parameter processing
            conn.exec_driver_sql(
                "INSERT INTO bib_isbns (bib_id, isbn, kind) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                unique,
            )
            return
        stmt = pg_dialect.insert(bib_isbns).on_conflict_do_nothing()
        for part in _chunks(unique, 1000):
            conn.execute(stmt, [{"bib_id": b, "isbn": v, "kind": k} for b, v, k in part])

    def _merge_holdings_fields(
        self, conn: Connection, by_bib: dict[int, list[HoldingField]], ts: dt.datetime
    ) -> None:
        ids = sorted(by_bib)
        for part in _chunks(ids):
            for row in conn.execute(
                select(bibs.c.id, bibs.c.marc, bibs.c.marc_syntax, bibs.c.flavour).where(
                    bibs.c.id.in_(part), bibs.c.marc.is_not(None)
                )
            ):
                record = _load_record(row.marc, row.marc_syntax, row.flavour)
                if record is None:
                    continue
                flavour = Flavour(row.flavour)
                if not _append_fields(record, by_bib[row.id]):
                    continue
                blob, syntax = _serialise(record, flavour)
                conn.execute(
                    update(bibs)
                    .where(bibs.c.id == row.id)
                    .values(marc=blob, marc_syntax=syntax, updated_at=ts)
                )

    # -- items from holdings fields
    def _register_items(
        self,
        batch: list[_Prepared],
        summary: ImportSummary,
        dry_run: bool,
        library_default: str | None,
    ) -> None:
        cluster = self.cluster
        assert cluster is not None
        per_library: dict[str, list[tuple[_Prepared, HoldingInfo]]] = {}
        for p in batch:
            for h in p.holdings:
                if h.barcode is None:
                    continue
                lib = h.library or library_default
                if not lib:
                    summary.items_refused.append(
                        ItemRefusal(
                            p.file,
                            p.position,
                            h.barcode,
                            None,
                            "no library in the holdings field and no default library",
                        )
                    )
                    continue
                per_library.setdefault(lib, []).append((p, h))
        for lib, entries in per_library.items():
            try:
                known = {loc["code"] for loc in cluster.list_locations(lib)}
            except NotFound as exc:
                summary.items_refused += [
                    ItemRefusal(p.file, p.position, h.barcode or "", lib, exc.message)
                    for p, h in entries
                ]
                continue
            rows = [
                {
                    "barcode": h.barcode,
                    "title": "",  # no brief record: the item is attached to the catalogue record
                    "location": h.location if h.location in known else "",
                    "item_type": h.item_type or "book",
                }
                for _, h in entries
            ]
            report = cluster.import_items(
                rows, library=lib, dry_run=dry_run, source="catalogue import"
            )
            links: list[dict[str, Any]] = []
            for (p, h), outcome in zip(entries, report.rows, strict=True):
                assert h.barcode is not None
                if outcome.outcome == "imported":
                    summary.items_registered += 1
                    if p.target is not None and p.target.bib_id is not None:
                        links.append({"b_barcode": outcome.value, "b_bib": p.target.bib_id})
                else:
                    summary.items_refused.append(
                        ItemRefusal(
                            p.file,
                            p.position,
                            h.barcode,
                            lib,
                            f"{outcome.outcome}: {outcome.detail}",
                        )
                    )
            if links and not dry_run:
                with self.store.write() as conn:
                    conn.execute(
                        update(items)
                        .where(
                            items.c.barcode == sa.bindparam("b_barcode"), items.c.bib_id.is_(None)
                        )
                        .values(bib_id=sa.bindparam("b_bib")),
                        links,
                    )

    def index_brief_records(self) -> int:
        """Give brief records (``item add --title``, no MARC) made since the last call their
        title/author search tokens; returns how many. Import does this first."""
        done = 0
        with self.store.write() as conn:
            rows = conn.execute(
                select(bibs.c.id, bibs.c.title, bibs.c.author).where(
                    bibs.c.marc.is_(None), bibs.c.search_title.is_(None)
                )
            ).all()
            params = [
                {
                    "b_id": r.id,
                    "b_t": index_text(r.title) or "",
                    "b_a": index_text(r.author) or None,
                }
                for r in rows
            ]
            for part in _chunks(params, 1000):
                conn.execute(
                    update(bibs)
                    .where(bibs.c.id == sa.bindparam("b_id"))
                    .values(search_title=sa.bindparam("b_t"), search_author=sa.bindparam("b_a")),
                    list(part),
                )
                done += len(part)
        return done

    # ------------------------------------------------------------------ reading
    def count(self) -> int:
        """Number of full catalogue records (brief records not counted)."""
        with self.store.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(bibs).where(bibs.c.marc.is_not(None))
                ).scalar_one()
            )

    def stats(self) -> dict[str, Any]:
        with self.store.read() as conn:
            by_flavour = {
                (f or "brief"): int(n)
                for f, n in conn.execute(
                    select(bibs.c.flavour, func.count()).group_by(bibs.c.flavour)
                )
            }
            total = sum(by_flavour.values())
            codes: dict[str, int] = {
                kind: int(n)
                for kind, n in conn.execute(
                    select(bib_isbns.c.kind, func.count()).group_by(bib_isbns.c.kind)
                )
            }
            linked = conn.execute(
                select(func.count()).select_from(items).where(items.c.bib_id.is_not(None))
            ).scalar_one()
        brief = by_flavour.pop("brief", 0)
        return {
            "records": total - brief,
            "brief_records": brief,
            "by_flavour": by_flavour,
            "isbns": int(codes.get("isbn", 0)),
            "issns": int(codes.get("issn", 0)),
            "weak_codes": int(codes.get("weak", 0)),
            "items_linked": int(linked),
        }

    def get(self, bib_id: int) -> StoredRecord:
        with self.store.read() as conn:
            row = conn.execute(select(bibs).where(bibs.c.id == bib_id)).mappings().first()
            if row is None:
                raise NotFound(f"no catalogue record {bib_id}")
            code_rows = conn.execute(
                select(bib_isbns.c.isbn, bib_isbns.c.kind)
                .where(bib_isbns.c.bib_id == bib_id)
                .order_by(bib_isbns.c.isbn)
            ).all()
        flavour = Flavour(row["flavour"]) if row["flavour"] else None
        record = (
            _load_record(row["marc"], row["marc_syntax"], row["flavour"])
            if row["marc"] is not None
            else None
        )
        access = extract_access_points(record, flavour) if record is not None and flavour else None
        isbns = tuple(v for v, k in code_rows if k == "isbn")
        if not isbns and row["isbn"]:
            isbns = (row["isbn"],)
        return StoredRecord(
            id=int(row["id"]),
            title=row["title"],
            author=row["author"],
            isbns=isbns,
            issns=tuple(v for v, k in code_rows if k == "issn"),
            year=row["year"],
            flavour=flavour,
            record=record,
            access=access,
            charset=row["charset"],
            charset_declared=row["charset_declared"],
            source=row["source"],
            marc=row["marc"],
            marc_syntax=row["marc_syntax"],
        )

    def summaries(self, bib_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Short descriptions (id, title, author, isbns, year, publisher, flavour) in the order
        of ``bib_ids`` — what a hit list shows, without parsing MARC."""
        if not bib_ids:
            return []
        out: dict[int, dict[str, Any]] = {}
        with self.store.read() as conn:
            for part in _chunks(list(bib_ids)):
                for r in conn.execute(
                    select(
                        bibs.c.id,
                        bibs.c.title,
                        bibs.c.author,
                        bibs.c.isbn,
                        bibs.c.year,
                        bibs.c.publisher,
                        bibs.c.flavour,
                        bibs.c.clc,
                    ).where(bibs.c.id.in_(part))
                ):
                    out[r.id] = {
                        "id": r.id,
                        "title": r.title,
                        "author": r.author,
                        "isbns": [],
                        "year": r.year,
                        "publisher": r.publisher,
                        "clc": r.clc,
                        "flavour": r.flavour or "brief",
                        "_isbn": r.isbn,
                    }
                for bib_id, isbn in conn.execute(
                    select(bib_isbns.c.bib_id, bib_isbns.c.isbn)
                    .where(bib_isbns.c.bib_id.in_(part), bib_isbns.c.kind == "isbn")
                    .order_by(bib_isbns.c.bib_id, bib_isbns.c.isbn)
                ):
                    out[bib_id]["isbns"].append(isbn)
        result = []
        for bib_id in bib_ids:
            if bib_id in out:
                d = out[bib_id]
                brief_isbn = d.pop("_isbn")
                if not d["isbns"] and brief_isbn:
                    d["isbns"] = [brief_isbn]
                result.append(d)
        return result

    def holdings(self, bib_id: int) -> list[Holding]:
        """The items attached to record ``bib_id``, by home library then barcode, each with
        its location, where it is now, its status, and the call number catalogued for that
        barcode in the record's holdings fields (when there is one)."""
        home = libraries.alias("home")
        cur = libraries.alias("cur")
        with self.store.read() as conn:
            rows = conn.execute(
                select(
                    items.c.barcode,
                    items.c.status,
                    items.c.item_type,
                    home.c.code.label("home"),
                    cur.c.code.label("current"),
                    locations.c.code.label("location"),
                )
                .select_from(
                    items.join(home, items.c.home_library_id == home.c.id)
                    .join(cur, items.c.current_library_id == cur.c.id)
                    .outerjoin(locations, items.c.home_location_id == locations.c.id)
                )
                .where(items.c.bib_id == bib_id)
                .order_by(home.c.code, items.c.barcode)
            ).all()
            marc = conn.execute(
                select(bibs.c.marc, bibs.c.marc_syntax, bibs.c.flavour).where(bibs.c.id == bib_id)
            ).first()
        call_numbers: dict[str, str] = {}
        if marc is not None and marc.marc is not None and rows:
            record = _load_record(marc.marc, marc.marc_syntax, marc.flavour)
            if record is not None:
                for h in extract_holdings(record, Flavour(marc.flavour)):
                    if h.barcode and h.call_number:
                        call_numbers.setdefault(h.barcode.strip().upper(), h.call_number)
        return [
            Holding(
                barcode=r.barcode,
                library=r.home,
                location=r.location,
                current_library=r.current,
                status=r.status,
                item_type=r.item_type,
                call_number=call_numbers.get(r.barcode.upper()),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ search
    def search(
        self,
        query: Query | SearchQuery | None = None,
        *,
        limit: int | None = 100,
        offset: int = 0,
        **fields: str | int | None,
    ) -> list[int]:
        """Bib ids matching ``query`` (a tree, a :class:`SearchQuery`, or field keywords
        ANDed), ascending; ``limit=None`` for all."""
        tree = self._tree(query, fields)
        plan = self._fast_plan(tree)
        if plan is not None:
            with sqlite_read(self.store) as db:
                return _fast_ids(db, plan, limit, offset)
        with self.store.read() as conn:
            return self._search_ids(conn, tree, limit, offset)

    def search_count(
        self, query: Query | SearchQuery | None = None, **fields: str | int | None
    ) -> int:
        tree = self._tree(query, fields)
        plan = self._fast_plan(tree)
        if plan is not None:
            with sqlite_read(self.store) as db:
                return _fast_count(db, plan)
        with self.store.read() as conn:
            return self._count(conn, tree)

    def search_head(
        self,
        query: Query | SearchQuery,
        head: int,
        count_by_fetch: int = 20_000,
        *,
        db: sqlite3.Connection | None = None,
    ) -> tuple[list[int], int]:
        """The first ``head`` ids of the result set (ascending) and its size, read in one
        transaction. A query FTS5 answers alone is counted by FTS5 (cheap); any other query
        fetches up to ``count_by_fetch`` ids to count them (one pass of the indexes instead
        of a search and a count) and counts with SQL past that. ``db``: an open SQLite
        connection, outside any transaction, to read the FTS5-only queries on instead of a
        pooled one (the Z39.50 target keeps its own)."""
        tree = self._tree(query, {})
        plan = self._fast_plan(tree)
        if plan is not None:
            with sqlite_read(self.store) if db is None else read_snapshot(db) as raw:
                ids = _fast_ids(raw, plan, head + 1, 0)
                if len(ids) <= head:
                    return ids, len(ids)
                return ids[:head], _fast_count(raw, plan)  # the ids are not fetched twice
        with self.store.read() as conn:
            ids = self._search_ids(conn, tree, count_by_fetch + 1, 0)
            hits = len(ids) if len(ids) <= count_by_fetch else self._count(conn, tree)
            return ids[:head], hits

    def _fast_plan(self, tree: Query) -> _FastPlan | None:
        """SQLite: a plan answering ``tree`` with one index and no SQLAlchemy statement
        (FTS5 words, or ISBN/ISSN codes), or None for the general path."""
        if not self.store.is_sqlite:
            return None
        expr = _pure_fts(tree)
        if expr is not None:
            return ("fts", expr)
        if (
            isinstance(tree, Term)
            and tree.field in ("isbn", "issn")
            and tree.relation == "="
            and tree.truncation is Truncation.NONE
        ):
            return ("codes", tuple(_code_values(tree.value.strip(), only=tree.field)))
        return None

    def _search_ids(
        self, conn: Connection, tree: Query, limit: int | None, offset: int
    ) -> list[int]:
        stmt = select(bibs.c.id).where(self._condition(tree)).order_by(bibs.c.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [int(i) for i in conn.execute(stmt).scalars()]

    def _count(self, conn: Connection, tree: Query) -> int:
        cond = self._condition(tree)
        return int(conn.execute(select(func.count()).select_from(bibs).where(cond)).scalar_one())

    @staticmethod
    def _tree(query: Query | SearchQuery | None, fields: dict[str, str | int | None]) -> Query:
        if isinstance(query, SearchQuery):
            return query.to_query()
        if query is not None:
            if fields:
                raise UnsupportedSearch("term", "give a query or field keywords, not both")
            return query
        unknown = set(fields) - FIELDS
        if unknown:
            raise UnsupportedSearch("field", f"unknown search field {sorted(unknown)[0]!r}")
        return SearchQuery(**{k: v for k, v in fields.items()}).to_query()  # type: ignore[arg-type]

    def _condition(self, node: Query) -> sa.ColumnElement[bool]:
        if isinstance(node, Term):
            return self._term(node)
        if isinstance(node, And):
            if not node.operands:
                raise UnsupportedSearch("term", "empty AND")
            operands = list(node.operands)
            conds: list[sa.ColumnElement[bool]] = []
            if self.store.is_sqlite:
                # several text terms: one FTS5 query (FTS intersects its doclists itself)
                fts = [n for n in operands if isinstance(n, Term) and _fts_term(n)]
                if len(fts) > 1:
                    exprs = [self._fts_expression(n) for n in fts]
                    if any(e is None for e in exprs):
                        return sa.false()
                    conds.append(_fts_in(" AND ".join(f"({e})" for e in exprs if e)))
                    operands = [n for n in operands if n not in fts]
            conds += [self._condition(n) for n in operands]
            return sa.and_(*conds)
        if isinstance(node, Or):
            if not node.operands:
                raise UnsupportedSearch("term", "empty OR")
            return sa.or_(*(self._condition(n) for n in node.operands))
        if isinstance(node, AndNot):
            return sa.and_(self._condition(node.left), sa.not_(self._condition(node.right)))
        raise UnsupportedSearch("term", f"not a query node: {node!r}")

    def _term(self, term: Term) -> sa.ColumnElement[bool]:
        name = term.field
        if name not in FIELDS:
            raise UnsupportedSearch("field", f"unknown search field {name!r}")
        if term.relation not in RELATIONS:
            raise UnsupportedSearch("relation", f"unknown relation {term.relation!r}")
        if term.relation != "=" and name != "year":
            raise UnsupportedSearch("relation", f"relation {term.relation} is for year only")
        value = term.value.strip()
        if name in _TEXT_COLUMNS or name == "any":
            if term.truncation not in (Truncation.NONE, Truncation.RIGHT):
                raise UnsupportedSearch(
                    "truncation", f"{term.truncation.value} truncation on {name}"
                )
            cond = self._text_condition(name, value, term.truncation is Truncation.RIGHT)
            if name == "any":
                code = _code_condition(value)
                if code is not None:
                    cond = sa.or_(cond, code)
            return cond
        if term.truncation not in (Truncation.NONE,) and name not in ("clc", "local_number"):
            raise UnsupportedSearch("truncation", f"{term.truncation.value} truncation on {name}")
        if term.truncation in (Truncation.LEFT, Truncation.BOTH):
            raise UnsupportedSearch("truncation", f"{term.truncation.value} truncation on {name}")
        if name in ("isbn", "issn"):
            code = _code_condition(value, only=name)
            return code if code is not None else sa.false()
        if name in ("clc", "local_number"):
            column = bibs.c.clc if name == "clc" else bibs.c.local_number
            norm = value.replace(" ", "").upper() if name == "clc" else value
            if not norm:
                return sa.false()
            if term.truncation is Truncation.RIGHT:
                return sa.and_(column >= norm, column < norm + "\U0010ffff")
            return column == norm
        # year
        try:
            year = int(value)
        except ValueError:
            raise UnsupportedSearch("term", f"year {value!r} is not a number") from None
        ops: dict[str, Callable[[Any, int], sa.ColumnElement[bool]]] = {
            "=": lambda c, y: c == y,
            "<": lambda c, y: c < y,
            "<=": lambda c, y: c <= y,
            ">": lambda c, y: c > y,
            ">=": lambda c, y: c >= y,
        }
        return ops[term.relation](bibs.c.year, year)

    @staticmethod
    def _fts_expression(term: Term) -> str | None:
        phrases = query_phrases(term.value.strip())
        if not phrases:
            return None
        return _match_expression(term.field, phrases, term.truncation is Truncation.RIGHT)

    def _text_condition(self, name: str, value: str, prefix: bool) -> sa.ColumnElement[bool]:
        phrases = query_phrases(value)
        if not phrases:
            return sa.false()
        if self.store.is_sqlite:
            return _fts_in(_match_expression(name, phrases, prefix))
        patterns = like_patterns(value)
        if prefix:
            patterns[-1] = patterns[-1].rstrip(" ")
        columns = (
            [bibs.c[c] for c in _TEXT_COLUMNS.values()]
            if name == "any"
            else [bibs.c[_TEXT_COLUMNS[name]]]
        )
        return sa.and_(
            # tokens hold letters, digits and spaces only: nothing to escape in a LIKE pattern
            *(sa.or_(*(col.like(f"%{p}%") for col in columns)) for p in patterns)
        )


# ---------------------------------------------------------------------------------------
# helpers

PARALLEL_MIN_BYTES = 4_000_000
"""ISO 2709 input at least this large is parsed by worker processes (about 10,000 records)."""
_PARALLEL_GROUP = 500  # records per job sent to a worker
#: the input a parallel import reads, set while its forked workers live (they inherit it)
_FORK_INPUT: bytes | None = None
_FORK_LOCK = threading.Lock()


def _prepared(
    name: str,
    data: bytes,
    syntax: Syntax | None,
    charset: Charset | None,
    flavour: Flavour | None,
    workers: int,
    ahead: int = CHUNK,
) -> Iterator[_Prepared | ImportFailure]:
    """Every record of one input, read and prepared, in input order; with workers, up to
    about ``ahead`` records are prepared ahead of the one yielded (so the workers stay busy
    while the caller writes a chunk of that size)."""
    parallel = (
        workers > 1
        and len(data) >= PARALLEL_MIN_BYTES
        and (syntax or sniff_syntax(data)) is Syntax.ISO2709
        and "fork" in multiprocessing.get_all_start_methods()
    )
    if not parallel:
        if (syntax or sniff_syntax(data)) is Syntax.ISO2709:
            for index, (offset, chunk) in enumerate(_split_iso2709(data)):
                yield _prepare_iso(
                    name, Position(index=index, offset=offset), chunk, charset, flavour
                )
            return
        for result in read_marcxml(data, charset=charset, flavour=flavour):
            if result.ok:
                yield _prepare(name, result)
            else:
                yield ImportFailure(name, result.position, result.reason)
        return

    def jobs() -> Iterator[tuple[str, int, list[tuple[int, int]], Charset | None, Flavour | None]]:
        group: list[tuple[int, int]] = []
        first = 0
        for index, (offset, chunk) in enumerate(_split_iso2709(data)):
            group.append((offset, offset + len(chunk)))
            if len(group) == _PARALLEL_GROUP:
                yield name, first, group, charset, flavour
                first, group = index + 1, []
        if group:
            yield name, first, group, charset, flavour

    def restored(
        results: list[_Prepared | ImportFailure], bounds: list[tuple[int, int]]
    ) -> list[_Prepared | ImportFailure]:
        for p, (start, end) in zip(results, bounds, strict=True):
            if isinstance(p, _Prepared) and p.row[_MARC] is None:  # stored as it came
                p.row = (*p.row[:_MARC], data[start:end], *p.row[_MARC + 1 :])
        return results

    # fork: the workers need nothing but this module and the input, which they inherit (a job
    # names its records by offsets, and a record stored as it came is not sent back: the parent
    # has its bytes). They never touch the database. A bounded number of jobs is in flight (about
    # ``ahead`` records), so a big file's results are never all queued at once.
    global _FORK_INPUT
    with _FORK_LOCK:  # the workers are forked now, with this input; later ones never are
        _FORK_INPUT = data
        try:
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=_lower_priority)
        finally:
            _FORK_INPUT = None
    with pool:
        in_flight: collections.deque[tuple[AsyncResult[bytes], list[tuple[int, int]]]]
        in_flight = collections.deque()
        depth = -(-ahead // _PARALLEL_GROUP) + 2 * workers
        for job in jobs():
            in_flight.append((pool.apply_async(_prepare_iso_chunk, (job,)), job[2]))
            if len(in_flight) >= depth:
                pending, bounds = in_flight.popleft()
                yield from restored(pickle.loads(pending.get()), bounds)
        while in_flight:
            pending, bounds = in_flight.popleft()
            yield from restored(pickle.loads(pending.get()), bounds)


def _pure_fts(node: Query) -> str | None:
    """The FTS5 MATCH expression that answers ``node`` by itself ("" when it can match
    nothing: a term of punctuation only), or None when the tree needs more than FTS5 (codes,
    years, OR/NOT, or a term to refuse: those take the general path and its errors)."""
    if isinstance(node, Term):
        if not _fts_term(node) and not (
            node.field == "any"
            and node.relation == "="
            and node.truncation in (Truncation.NONE, Truncation.RIGHT)
            and _code_condition(node.value.strip()) is None
        ):
            return None
        return Catalogue._fts_expression(node) or ""
    if isinstance(node, And) and node.operands:
        parts = [_pure_fts(n) for n in node.operands]
        if any(p is None for p in parts):
            return None
        if any(not p for p in parts):
            return ""
        return " AND ".join(f"({p})" for p in parts)
    return None


def _fts_term(term: Term) -> bool:
    """A term answered by FTS5 alone (so several can share one MATCH)."""
    return (
        term.field in _TEXT_COLUMNS
        and term.relation == "="
        and term.truncation in (Truncation.NONE, Truncation.RIGHT)
    )


def _match_expression(name: str, phrases: list[tuple[str, ...]], prefix: bool) -> str:
    """FTS5 MATCH expression: every phrase (in the field's column unless ``any``), ANDed."""
    parts = []
    for i, p in enumerate(phrases):
        quoted = '"' + " ".join(p) + '"' + (" *" if prefix and i == len(phrases) - 1 else "")
        parts.append(quoted if name == "any" else f"{_TEXT_COLUMNS[name]} : {quoted}")
    return " AND ".join(parts)


def _fts_in(expr: str) -> sa.ColumnElement[bool]:
    return bibs.c.id.in_(select(_bib_fts.c.rowid).where(_bib_fts.c.bib_fts.op("MATCH")(expr)))


def _code_condition(value: str, only: str | None = None) -> sa.ColumnElement[bool] | None:
    """Records holding the ISBN or ISSN ``value`` (any kind), or None if it is neither."""
    wanted = _code_values(value, only)
    if not wanted:
        return None
    return bibs.c.id.in_(select(bib_isbns.c.bib_id).where(bib_isbns.c.isbn.in_(wanted)))


def _code_values(value: str, only: str | None = None) -> list[str]:
    """The ``bib_isbns`` values a code search for ``value`` looks up (none: not a code)."""
    wanted: list[str] = []
    if only in (None, "isbn"):
        result = extract_isbn(value)
        if isinstance(result, Code):
            wanted.append(result.value)
        elif only == "isbn":
            digits = "".join(c for c in value.upper() if c.isdigit() or c == "X")
            if digits:
                wanted.append(digits)  # matches weak (invalid) codes stored as digits
    if only in (None, "issn"):
        issn = normalise_issn(value)
        if isinstance(issn, Code):
            wanted.append(issn.value)
    return wanted


# ---------------------------------------------------------------------------------------
# SQLite fast path: the searches a Z39.50 target answers thousands of times a second, as
# plain SQL on the DBAPI connection (SQLAlchemy's per-statement cost is several times the
# query's own on these).

_FastPlan = tuple[str, Any]  # ("fts", MATCH expression) | ("codes", tuple of values)


@contextlib.contextmanager
def sqlite_read(store: Store) -> Iterator[sqlite3.Connection]:
    """A pooled SQLite DBAPI connection inside one read transaction (deferred ``BEGIN``, as
    :meth:`Store.read`), for hot read paths."""
    raw = store.engine.raw_connection()
    try:
        db = raw.driver_connection
        assert isinstance(db, sqlite3.Connection)
        with read_snapshot(db):
            yield db
    finally:
        raw.close()


@contextlib.contextmanager
def read_snapshot(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``db`` (outside any transaction) inside one read transaction: one snapshot."""
    db.execute("BEGIN")
    try:
        yield db
    finally:
        db.execute("ROLLBACK")


def _fast_ids(db: sqlite3.Connection, plan: _FastPlan, limit: int | None, offset: int) -> list[int]:
    kind, arg = plan
    lim = -1 if limit is None else limit
    if kind == "fts":
        if not arg:
            return []
        # FTS5 alone, in rowid (= bib id) order: no IN list, no join, no sort. The triggers
        # keep bib_fts's rowids exactly the ids of bibs.
        sql = "SELECT rowid FROM bib_fts WHERE bib_fts MATCH ? ORDER BY rowid LIMIT ? OFFSET ?"
        params: tuple[Any, ...] = (arg, lim, offset)
    else:
        if not arg:
            return []
        # bib_isbns.bib_id references bibs.id (ON DELETE CASCADE): every one is a record
        marks = ", ".join("?" * len(arg))
        sql = (
            f"SELECT DISTINCT bib_id FROM bib_isbns WHERE isbn IN ({marks}) "
            "ORDER BY bib_id LIMIT ? OFFSET ?"
        )
        params = (*arg, lim, offset)
    return [r[0] for r in db.execute(sql, params).fetchall()]


def _fast_count(db: sqlite3.Connection, plan: _FastPlan) -> int:
    kind, arg = plan
    if not arg:
        return 0
    if kind == "fts":
        row = db.execute("SELECT count(*) FROM bib_fts WHERE bib_fts MATCH ?", (arg,)).fetchone()
    else:
        marks = ", ".join("?" * len(arg))
        row = db.execute(
            f"SELECT count(DISTINCT bib_id) FROM bib_isbns WHERE isbn IN ({marks})", arg
        ).fetchone()
    return int(row[0])


def _syntax(value: str | Syntax | None) -> Syntax | None:
    if value is None or isinstance(value, Syntax):
        return value
    try:
        return Syntax(value.strip().lower().replace("-", ""))
    except ValueError:
        raise InvalidInput(f"unknown MARC format {value!r} (iso2709 or marcxml)") from None


def _charset(value: str | Charset | None) -> Charset | None:
    if value is None or isinstance(value, Charset):
        return value
    try:
        return Charset.from_label(value)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _flavour(value: str | Flavour | None) -> Flavour | None:
    if value is None or isinstance(value, Flavour):
        return value
    try:
        return Flavour(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown MARC flavour {value!r} (cnmarc, unimarc or marc21)") from None


_TITLE_KEY_MAX = 500


def _prepare(file: str, result: ReadRecord) -> _Prepared | ImportFailure:
    """Everything import needs from one parsed record, computed where it was parsed (maybe a
    worker process): access points, match keys, holdings, the stored bytes and the row."""
    try:
        fields = field_map(result.record)
        tags = _holdings_tags(result.flavour)
        holding_fields: list[HoldingField] = [
            (f.tag, f.indicator1, f.indicator2, [(sf.code, sf.value) for sf in f.subfields])
            for f in result.record.fields
            if f.tag in tags and not f.is_control_field()
        ]
    except Exception as exc:  # a bug in a profile must stay one record's problem
        log.exception("preparing %s in %s", result.position, file)
        return ImportFailure(file, result.position, f"internal error: {exc!r}")

    def points() -> tuple[tuple[Any, ...], MatchKeys]:
        # the public functions (the fast path takes a shortcut to the same values)
        access = access_points(fields, result.flavour)
        values = tuple(getattr(access, f.name) for f in dataclasses.fields(access))
        return values, match_keys(access)

    return _prepare_fields(
        file,
        result.position,
        result.flavour,
        result.charset,
        bool(result.warnings),
        points,
        holding_fields,
        lambda: _stored_marc(result),
    )


def _prepare_fields(
    file: str,
    position: Position,
    flavour: Flavour,
    charset: CharsetDecision,
    warned: bool,
    points: Callable[[], tuple[tuple[Any, ...], MatchKeys]],
    holding_fields: list[HoldingField],
    stored: Callable[[], tuple[bytes, str]],
) -> _Prepared | ImportFailure:
    """:func:`_prepare` of a record given as what :func:`~ils_bridge.catalogue.access.
    _import_points` reads of it — the values of its access points but the language, and its
    match keys — and its holdings fields (``stored`` gives the bytes to keep)."""
    try:
        access, keys = points()
        (
            _,
            titles,
            _,
            responsibility,
            authors,
            _,
            _,
            _,
            _,
            clc,
            publishers,
            year,
            subjects,
            local_number,
            _,
        ) = access
        if not titles:
            tag = "245$a" if flavour is Flavour.MARC21 else "200$a"
            return ImportFailure(file, position, f"record has no title ({tag})")
        title_key = keys.title_key
        if title_key and len(title_key) > _TITLE_KEY_MAX:
            # a B-tree entry must stay small (PostgreSQL refuses entries over ~2.7 kB)
            title_key = title_key[:_TITLE_KEY_MAX]
            keys = dataclasses.replace(keys, title_key=title_key)
        marc, syntax = stored()
    except Exception as exc:  # a bug in a profile must stay one record's problem
        log.exception("preparing %s in %s", position, file)
        return ImportFailure(file, position, f"internal error: {exc!r}")
    declared = charset.declared_raw
    flavour_name = flavour.value
    isbns = keys.isbns
    return _Prepared(
        file,
        position.index,
        position.offset,
        position.line,
        flavour_name,
        tuple(isbns),
        tuple(keys.issns),
        tuple(keys.weak),
        title_key,
        _strong_values(keys),
        holding_fields,
        (  # _ROW_COLUMNS
            titles[0][:4000],
            authors[0] if authors else None,
            min(isbns) if isbns else None,
            flavour_name,
            marc,
            syntax,
            charset.used.value,
            declared[:32] if declared else None,
            file,
            publishers[0] if publishers else None,
            year,
            clc[0][:64].upper() if clc else None,
            local_number[:64] if local_number else None,
            title_key,
            index_text(*titles) or None,
            index_text(*authors, responsibility) or None,
            index_text(*publishers) or None,
            index_text(*subjects) or None,
        ),
        bool(warned),
    )


def _prepare_iso(
    file: str, position: Position, chunk: bytes, charset: Charset | None, flavour: Flavour | None
) -> _Prepared | ImportFailure:
    """Read and prepare one ISO 2709 record: the fast reader when it can, else the full one
    (the result is the same either way)."""
    try:
        fast = read_iso2709_fast(chunk, charset, flavour)
        stored = _fast_stored(chunk, fast) if fast is not None else None
    except Exception:  # a bug in the fast path: the full reader decides
        log.exception("fast reader failed on %s in %s", position, file)
        fast = stored = None
    if fast is None or stored is None:
        for result in read_iso2709(chunk, charset=charset, flavour=flavour):
            if result.ok:
                return _prepare(file, dataclasses.replace(result, position=position))
            return ImportFailure(file, position, result.reason)
        return ImportFailure(
            file, position, "no record"
        )  # pragma: no cover - one chunk, one result
    data = fast.fields.data
    present = _holdings_tags(fast.flavour).intersection(data)
    holding_fields: list[HoldingField] = []
    if len(present) == 1:  # the usual case: data has that tag's fields in record order
        (tag,) = present
        holding_fields = [(tag, ind1, ind2, subs) for ind1, ind2, subs in data[tag]]
    elif present:  # two holdings tags: in record order
        taken: dict[str, int] = {}
        for tag in fast.tags:
            if tag in present:
                k = taken.get(tag, 0)
                ind1, ind2, subs = data[tag][k]
                taken[tag] = k + 1
                holding_fields.append((tag, ind1, ind2, subs))
    marc = stored
    return _prepare_fields(
        file,
        position,
        fast.flavour,
        fast.charset,
        bool(fast.warnings),
        lambda: _import_points(fast.fields, fast.flavour),
        holding_fields,
        lambda: marc,
    )


def _fast_stored(chunk: bytes, fast: FastRecord) -> tuple[bytes, str] | None:
    """:func:`_stored_marc` of a record read by the fast reader (None: it cannot say)."""
    decision = fast.charset
    if (
        decision.used is Charset.UTF8
        and decision.declared is Charset.UTF8
        and not decision.lossy
        and not fast.warnings
    ):
        return chunk, "iso2709"
    try:
        return iso2709_from_texts(fast.leader, fast.texts, fast.flavour), "iso2709"
    except MarcWriteError:
        return None  # too long for ISO 2709: the full path writes MARCXML


def _union_keys(a: MatchKeys, b: MatchKeys) -> MatchKeys:
    return MatchKeys(
        isbns=a.isbns | b.isbns,
        issns=a.issns | b.issns,
        weak=(a.weak | b.weak) - (a.isbns | b.isbns | a.issns | b.issns),
        title_key=a.title_key,
    )


def _append_fields(record: pymarc.Record, fields: Iterable[HoldingField]) -> bool:
    have = {_field_key(f) for f in record.fields}
    changed = False
    for h in fields:
        f = _pymarc_field(h)
        key = _field_key(f)
        if key not in have:
            record.add_ordered_field(f)
            have.add(key)
            changed = True
    return changed


def _serialise(record: pymarc.Record, flavour: Flavour) -> tuple[bytes, str]:
    try:
        return to_iso2709(record, flavour, Charset.UTF8), "iso2709"
    except MarcWriteError:
        return to_marcxml(record), "marcxml"


def _stored_marc(rr: ReadRecord) -> tuple[bytes, str]:
    """The bytes to store: UTF-8 ISO 2709 with a declaration that says so."""
    if (
        rr.raw[:1].isdigit()
        and rr.charset.used is Charset.UTF8
        and rr.charset.declared is Charset.UTF8
        and not rr.charset.lossy
        and not rr.warnings
    ):
        return rr.raw, "iso2709"  # already UTF-8 ISO 2709 that says so: keep the bytes
    return _serialise(rr.record, rr.flavour)


def _bib_row(p: _Prepared) -> tuple[Any, ...]:
    """The record's bibs row (_ROW_COLUMNS), with the holdings fields of its later duplicates
    in this run added to its MARC."""
    row = p.row
    if p.extra_fields:
        record = _load_record(row[_MARC], row[_MARC_SYNTAX], row[_FLAVOUR])
        if record is not None and _append_fields(record, p.extra_fields):
            values = list(row)
            values[_MARC], values[_MARC_SYNTAX] = _serialise(record, p.flavour)
            row = tuple(values)
    return row


def _lower_priority() -> None:
    """Worker start-up: run below this process (nice +10). The parent writes what the workers
    prepare and is the import's critical path; with as many workers as cores it would get only
    a share of a core, and a running ``serve`` should go before an import's workers too."""
    with contextlib.suppress(OSError):
        os.nice(10)


def _prepare_iso_chunk(
    args: tuple[str, int, list[tuple[int, int]], Charset | None, Flavour | None],
) -> bytes:
    """Worker: read and prepare the ISO 2709 records at ``(start, end)`` offsets of the input
    it inherited from the parent (:data:`_FORK_INPUT`), numbered from ``first``. A record whose
    stored bytes are its input bytes comes back with ``marc`` None (see :func:`_prepared`)."""
    file, first, bounds, charset, flavour = args
    data = _FORK_INPUT
    assert data is not None, "a worker forked outside _prepared"
    out: list[_Prepared | ImportFailure] = []
    for k, (start, end) in enumerate(bounds):
        chunk = data[start:end]
        p = _prepare_iso(file, Position(index=first + k, offset=start), chunk, charset, flavour)
        if isinstance(p, _Prepared) and p.row[_MARC] is chunk:
            p.row = (*p.row[:_MARC], None, *p.row[_MARC + 1 :])
        out.append(p)
    # pickled here, unpickled by the parent's main thread when it takes the job: the pool's
    # result thread then only moves bytes and does not contend for the GIL with the writes
    return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)


def _load_record(marc: bytes, syntax: str | None, flavour: str | None) -> pymarc.Record | None:
    flav = Flavour(flavour) if flavour else None
    reader = read_marcxml if syntax == "marcxml" else read_iso2709
    for result in reader(marc, charset=Charset.UTF8, flavour=flav):
        if result.ok:
            return result.record
        log.error("stored record cannot be read back: %s", result.reason)
        return None
    return None
