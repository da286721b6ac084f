"""The Z39.50 target over the unified catalogue: a :class:`protocols.z3950.Backend`.

Databases
    ``union`` (also answering to ``Default``; names are compared case-insensitively) is the
    whole catalogue; each library code (``CEN``, ``XT`` …) is a database holding only the
    records of that library's items. A removed library answers diagnostic 109 (unavailable),
    an unknown name 235 (the protocol layer says so).

Queries (Bib-1)
    Use attributes map onto :data:`ils_bridge.catalogue.store.FIELDS` (:data:`USE`): 4 title,
    7 ISBN (ISBN-10 finds ISBN-13 records and the reverse), 8 ISSN, 12 local number, 20 CLC
    class, 21 subject, 31/30 date (year), 1003/1004/1/2 author, 1016/1035 any,
    1018 publisher; no use attribute means 1016. Relation (2) ``= < <= > >=`` on dates, ``=``
    (and relevance, 102) elsewhere; position (3) 1–3; structure (4) the word/phrase/key/year
    kinds; truncation (5) 100 none, 1 right, 101 ``#`` at the end; completeness (6) any.
    ``@and``/``@or``/``@not``. Anything else gets the Bib-1 diagnostic that names it
    (114 use with the attribute value as addinfo, 113 type, 117 relation, 118 structure,
    119 position, 120 truncation, 121 attribute set, 122 completeness, 129 proximity,
    18 result-set operand, 229 term type).

Records
    CNMARC/UNIMARC records are served as UNIMARC (1.2.840.10003.5.1), MARC21 ones as USMARC
    (5.10); asking a record for the other MARC syntax gets surrogate diagnostic 238 whose
    addinfo is the syntax it is available in. MARCXML (5.109.10), SUTRS (5.101: a readable
    text) and OPAC (5.102: the MARC record plus one holding per item with its branch, location,
    call number and availability) are made for every record. Everything is written in the
    association's charset (UTF-8, or GB18030 for older Chinese clients: configured per
    listener or negotiated), with the record's own charset declaration rewritten to match
    (:func:`~ils_bridge.catalogue.writer.to_iso2709`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pymarc
from lxml import etree
from sqlalchemy import select

from protocols.z3950 import oids
from protocols.z3950.apdu import (
    AttributeElement,
    AttributesPlusTerm,
    DefaultDiag,
    External,
    RawOperand,
    ResultSetOperand,
    RpnNode,
    RpnOp,
    TermValue,
)
from protocols.z3950.records import CircRecord, HoldingsAndCirc, OpacRecord
from protocols.z3950.target import (
    AssociationContext,
    PresentQuery,
    PresentResult,
    RetrievalRecord,
    SearchQuery,
    SearchResult,
    TargetConfig,
    Z3950Target,
)

from ..catalogue.access import extract_access_points
from ..catalogue.model import Charset, Flavour
from ..catalogue.reader import read_iso2709, read_marcxml
from ..catalogue.store import (
    And,
    AndNot,
    Catalogue,
    Or,
    Query,
    Term,
    Truncation,
    UnsupportedSearch,
    sqlite_read,
)
from ..catalogue.writer import MarcWriteError, to_iso2709, to_marcxml
from ..store.engine import Store
from ..store.schema import bibs, items, libraries

__all__ = [
    "UNION",
    "USE",
    "CatalogueBackend",
    "make_target",
    "rpn_to_query",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

UNION = "union"
UNION_ALIASES = frozenset({"union", "default"})

#: Bib-1 use attribute → catalogue search field.
USE: dict[int, str] = {
    1: "author",  # personal name
    2: "author",  # corporate name
    4: "title",
    7: "isbn",
    8: "issn",
    12: "local_number",
    20: "clc",  # local classification (中图法 in Chinese catalogues)
    21: "subject",
    30: "year",  # date
    31: "year",  # date of publication
    1003: "author",
    1004: "author",  # author-name personal
    1016: "any",
    1018: "publisher",
    1035: "any",  # anywhere
}
_RELATIONS = {1: "<", 2: "<=", 3: "=", 4: ">=", 5: ">", 102: "="}
_POSITIONS = frozenset({1, 2, 3})
_STRUCTURES = frozenset({1, 2, 3, 4, 5, 6, 101, 105, 106, 108, 109})
_COMPLETENESS = frozenset({1, 2, 3})

_MARC_SYNTAX = {
    Flavour.CNMARC: oids.UNIMARC,
    Flavour.UNIMARC: oids.UNIMARC,
    Flavour.MARC21: oids.USMARC,
}

# Bib-1 diagnostics
_UNSUPPORTED_ATTRIBUTE_TYPE = 113
_UNSUPPORTED_USE = 114
_UNSUPPORTED_RELATION = 117
_UNSUPPORTED_STRUCTURE = 118
_UNSUPPORTED_POSITION = 119
_UNSUPPORTED_TRUNCATION = 120
_UNSUPPORTED_ATTRIBUTE_SET = 121
_UNSUPPORTED_COMPLETENESS = 122
_MALFORMED_TERM = 125
_PROXIMITY = 129
_RESULT_SET_AS_TERM = 18
_TERM_TYPE = 229
_DATABASE_UNAVAILABLE = 109
_SYSTEM_ERROR_PRESENTING = 14
_NOT_IN_SYNTAX = 238


class _Refused(Exception):
    def __init__(self, condition: int, addinfo: str) -> None:
        super().__init__(condition, addinfo)
        self.diag = DefaultDiag(condition, addinfo)


def _attribute_value(a: AttributeElement) -> int:
    if not isinstance(a.value, int):
        vals = ",".join(str(v) for v in a.value.values)
        if a.type == 1:
            raise _Refused(_UNSUPPORTED_USE, vals)
        raise _Refused(_UNSUPPORTED_ATTRIBUTE_TYPE, f"{a.type}={vals}")
    return a.value


def _term(node: AttributesPlusTerm, charset: str, default_set: str) -> Term:
    use = 1016
    relation = "="
    truncation = Truncation.NONE
    hash_truncation = False
    for a in node.attributes:
        if (a.attribute_set or default_set) != oids.BIB1_ATTRIBUTES:
            raise _Refused(_UNSUPPORTED_ATTRIBUTE_SET, a.attribute_set or default_set)
        value = _attribute_value(a)
        if a.type == 1:
            use = value
        elif a.type == 2:
            if value not in _RELATIONS:
                raise _Refused(_UNSUPPORTED_RELATION, str(value))
            relation = _RELATIONS[value]
        elif a.type == 3:
            if value not in _POSITIONS:
                raise _Refused(_UNSUPPORTED_POSITION, str(value))
        elif a.type == 4:
            if value not in _STRUCTURES:
                raise _Refused(_UNSUPPORTED_STRUCTURE, str(value))
        elif a.type == 5:
            if value == 100:
                truncation = Truncation.NONE
            elif value == 1:
                truncation = Truncation.RIGHT
            elif value == 2:
                truncation = Truncation.LEFT
            elif value == 3:
                truncation = Truncation.BOTH
            elif value == 101:
                hash_truncation = True
            else:
                raise _Refused(_UNSUPPORTED_TRUNCATION, str(value))
        elif a.type == 6:
            if value not in _COMPLETENESS:
                raise _Refused(_UNSUPPORTED_COMPLETENESS, str(value))
        else:
            raise _Refused(_UNSUPPORTED_ATTRIBUTE_TYPE, str(a.type))
    field = USE.get(use)
    if field is None:
        raise _Refused(_UNSUPPORTED_USE, str(use))
    term = node.term
    if isinstance(term, TermValue):
        if term.kind == "numeric" and isinstance(term.value, int):
            text = str(term.value)
        elif term.kind == "string" and isinstance(term.value, str):
            text = term.value
        else:
            raise _Refused(_TERM_TYPE, term.kind)
    else:
        try:
            text = term.decode(charset)
        except (UnicodeDecodeError, LookupError):
            raise _Refused(_MALFORMED_TERM, term.decode(charset, "replace")[:100]) from None
    if "\x00" in text:
        raise _Refused(_MALFORMED_TERM, text.replace("\x00", "\\0")[:100])
    if hash_truncation:
        body = text.rstrip()
        if body.endswith("#") and "#" not in body[:-1]:
            text, truncation = body[:-1], Truncation.RIGHT
        elif "#" in body:
            raise _Refused(_UNSUPPORTED_TRUNCATION, "101")
    if relation != "=" and field != "year":
        raise _Refused(_UNSUPPORTED_RELATION, str(relation))
    return Term(field, text, truncation, relation)


def rpn_to_query(
    node: RpnNode, charset: str, default_set: str = oids.BIB1_ATTRIBUTES
) -> Query | DefaultDiag:
    """A Type-1 RPN tree as a catalogue query, or the Bib-1 diagnostic refusing it."""
    try:
        return _convert(node, charset, default_set)
    except _Refused as exc:
        return exc.diag


def _convert(node: RpnNode, charset: str, default_set: str) -> Query:
    # recursion depth is bounded by the BER nesting limit of the protocol layer
    if isinstance(node, RpnOp):
        left = _convert(node.left, charset, default_set)
        right = _convert(node.right, charset, default_set)
        if node.op == "and":
            return And(left, right)
        if node.op == "or":
            return Or(left, right)
        if node.op == "and-not":
            return AndNot(left, right)
        raise _Refused(_PROXIMITY, "proximity")
    if isinstance(node, AttributesPlusTerm):
        return _term(node, charset, default_set)
    if isinstance(node, ResultSetOperand):
        raise _Refused(_RESULT_SET_AS_TERM, node.name)
    if isinstance(node, RawOperand):
        raise _Refused(_TERM_TYPE, "unsupported operand")
    raise _Refused(_TERM_TYPE, "unsupported operand")  # pragma: no cover


_KIND_DIAG = {
    "field": _UNSUPPORTED_USE,
    "truncation": _UNSUPPORTED_TRUNCATION,
    "relation": _UNSUPPORTED_RELATION,
    "term": _MALFORMED_TERM,
}


def _record_charset(name: str) -> Charset:
    try:
        charset = Charset.from_label(name)
    except ValueError:
        return Charset.UTF8
    return charset if charset is not Charset.MARC8 else Charset.UTF8


@dataclass(frozen=True)
class _Row:
    id: int
    marc: bytes | None
    marc_syntax: str | None
    flavour: Flavour | None
    title: str
    author: str | None
    isbn: str | None


def _df(tag: str, ind1: str, ind2: str, code: str, value: str) -> pymarc.Field:
    return pymarc.Field(
        tag=tag, indicators=pymarc.Indicators(ind1, ind2), subfields=[pymarc.Subfield(code, value)]
    )


MATERIALISE = 100
"""Result sets up to this size keep their record ids; larger ones keep the first ids and the
query, and fetch later pages again (ids ascending, so pages are stable: a record added later
has a higher id and comes last). A cataloguer looks at the first page or two: turning 1,000
ids of a broad title search into Python ints cost more than FTS5 counting the hits (backend
search+present on 100,000 records: 263 → 205 µs per operation)."""

COUNT_BY_FETCH = 20_000
"""Up to this many hits the ids are fetched (and dropped past MATERIALISE) to count them: one
pass of the index instead of a search and a count. (Queries FTS5 answers alone — title,
author, … words — are counted by FTS5 instead: see ``Catalogue.search_head``.)"""


SEARCH_CACHE = 512
"""Result sets (hits and first ids) remembered per target, by query: a repeated search (the
same ISBN asked by several branches) is answered without SQL while the catalogue is unchanged."""

RECORD_CACHE = 4096
"""Rendered records remembered per target, by (record, syntax, charset)."""


@dataclass(frozen=True)
class _Lazy:
    tree: Query
    first: array[int]


class _Lru(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def __contains__(self, key: K) -> bool:
        return key in self._data

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def _brief_record(row: _Row, flavour: Flavour) -> pymarc.Record:
    """A minimal record for a brief catalogue entry (no MARC yet: made by ``item add``)."""
    rec = pymarc.Record(force_utf8=True)
    fields = [pymarc.Field(tag="001", data=str(row.id))]
    if flavour is Flavour.MARC21:
        rec.leader = pymarc.Leader("00000nam a22000007u 4500")
        if row.isbn:
            fields.append(_df("020", " ", " ", "a", row.isbn))
        if row.author:
            fields.append(_df("100", "1", " ", "a", row.author))
        fields.append(_df("245", "0", "0", "a", row.title))
    else:
        rec.leader = pymarc.Leader("00000nam0 2200000 3 450 ")
        if row.isbn:
            fields.append(_df("010", " ", " ", "a", row.isbn))
        fields.append(_df("100", " ", " ", "a", " " * 26 + "50  " + " " * 6))
        fields.append(_df("200", "1", " ", "a", row.title))
        if row.author:
            fields.append(_df("701", " ", "0", "a", row.author))
    rec.fields = fields
    return rec


def _load(row: _Row) -> pymarc.Record | None:
    assert row.marc is not None
    reader = read_marcxml if row.marc_syntax == "marcxml" else read_iso2709
    for result in reader(row.marc, charset=Charset.UTF8, flavour=row.flavour):
        return result.record if result.ok else None
    return None


def _xml(record: pymarc.Record, charset: Charset) -> bytes:
    data = to_marcxml(record)
    if charset is Charset.UTF8:
        return data
    root = etree.fromstring(data)
    return bytes(etree.tostring(root, xml_declaration=True, encoding=charset.codec.upper()))


def _sutrs(row: _Row, record: pymarc.Record, flavour: Flavour) -> str:
    a = extract_access_points(record, flavour)
    lines = [f"Title: {a.title or row.title}"]
    for label, values in (
        ("Author", a.authors or ((a.responsibility,) if a.responsibility else ())),
        ("Publisher", a.publishers),
        ("Subject", a.subjects),
        ("CLC", a.clc),
        ("ISBN", tuple(sorted(a.isbns))),
        ("ISSN", tuple(sorted(a.issns))),
    ):
        for v in values:
            lines.append(f"{label}: {v}")
    if a.year:
        lines.append(f"Year: {a.year}")
    lines.append(f"Record: {row.id} ({flavour.value})")
    return "\n".join(lines) + "\n"


def _wire_text(text: str | None, charset: Charset) -> str | None:
    """OPAC strings go out UTF-8-encoded by the protocol layer; smuggle GB18030 bytes through
    ``surrogateescape`` so a GB18030 association gets GB18030 text."""
    if text is None or charset is Charset.UTF8:
        return text
    return text.encode(charset.codec, "replace").decode("utf-8", "surrogateescape")


def _sqlite_file(store: Store) -> str | None:
    """The database file of an SQLite store that a second connection can open, or None."""
    url = store.engine.url
    if not store.is_sqlite or url.query.get("uri") or url.database in (None, "", ":memory:"):
        return None
    return url.database


class CatalogueBackend:
    """Serves :class:`~ils_bridge.catalogue.store.Catalogue` over Z39.50.

    On SQLite with ``offload=False`` (every call on the event loop's thread, as
    :func:`make_target` sets it up) the backend reads through a connection of its own, kept
    open in autocommit mode (no pool checkout, no ``BEGIN``/``ROLLBACK`` per call), and
    remembers result sets (:data:`SEARCH_CACHE`) and rendered records (:data:`RECORD_CACHE`).
    A cached entry is served only while SQLite's ``PRAGMA data_version`` on that connection
    is unchanged, i.e. while no other connection has committed anything since it was read;
    any commit (a record imported, an item lent …) empties both caches."""

    def __init__(
        self,
        catalogue: Catalogue,
        store: Store | None = None,
        *,
        offload: bool = True,
        refresh_seconds: float = 30.0,
    ) -> None:
        self.catalogue = catalogue
        self.store: Store = store if store is not None else catalogue.store
        self.offload = offload
        self.refresh_seconds = refresh_seconds
        self._libraries: dict[str, tuple[int, str, bool]] = {}  # CODE → (id, name, active)
        self._loaded_at = -1e9
        self._file = None if offload else _sqlite_file(self.store)
        self._conn: sqlite3.Connection | None = None
        self._conn_thread = 0
        self._version: int | None = None  # data_version when the caches were last checked
        self._searches: _Lru[Hashable, tuple[int, array[int] | _Lazy]] = _Lru(SEARCH_CACHE)
        self._records: _Lru[
            tuple[int, str, Charset, bool], RetrievalRecord | DefaultDiag
        ] = _Lru(RECORD_CACHE)

    # ------------------------------------------------------------------ helpers
    async def _run(self, fn: Callable[[], T]) -> T:
        if self.offload:
            return await asyncio.to_thread(fn)
        return fn()

    def _db(self) -> sqlite3.Connection | None:
        """The backend's own read connection (SQLite, not offloaded), or None."""
        if self._file is None:
            return None
        thread = threading.get_ident()
        if self._conn is None or self._conn_thread != thread:
            self.close()
            conn = sqlite3.connect(self._file, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA query_only=ON")
            weakref.finalize(self, conn.close)
            self._conn, self._conn_thread = conn, thread
        return self._conn

    def close(self) -> None:
        """Close the backend's own connection (it reopens when needed) and forget the caches."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._version = None
        self._searches.clear()
        self._records.clear()

    def _fresh(self, db: sqlite3.Connection) -> bool:
        """True if nothing was committed since the caches were last checked; else empty them."""
        version = int(db.execute("PRAGMA data_version").fetchone()[0])
        if version == self._version:
            return True
        self._version = version
        self._searches.clear()
        self._records.clear()
        return False

    def _library_map(self) -> dict[str, tuple[int, str, bool]]:
        now = time.monotonic()
        if now - self._loaded_at > self.refresh_seconds:
            try:
                with self.store.read() as conn:
                    rows = conn.execute(
                        select(
                            libraries.c.id, libraries.c.code, libraries.c.name, libraries.c.status
                        )
                    ).all()
                self._libraries = {
                    str(r.code).upper(): (int(r.id), str(r.name), r.status == "active")
                    for r in rows
                }
                self._loaded_at = now
            except Exception:  # keep serving the union catalogue with what we knew
                log.exception("cannot list libraries for Z39.50 databases")
        return self._libraries

    # ------------------------------------------------------------------ Backend
    def databases(self) -> Collection[str]:
        return ("union", "Default", *self._library_map())

    def record_syntaxes(self) -> Collection[str]:
        return (oids.UNIMARC, oids.USMARC, oids.XML, oids.SUTRS, oids.OPAC)

    async def init(self, context: AssociationContext) -> DefaultDiag | None:
        return None

    async def search(self, query: SearchQuery) -> SearchResult:
        names = [d.lower() for d in query.databases]
        libs: list[int] | None = None
        if not any(n in UNION_ALIASES for n in names):
            known = self._library_map()
            libs = []
            for name in query.databases:
                entry = known.get(name.upper())
                if entry is None or not entry[2]:
                    return SearchResult(diagnostic=DefaultDiag(_DATABASE_UNAVAILABLE, name))
                libs.append(entry[0])
        tree = rpn_to_query(query.query.rpn, query.context.charset, query.query.attribute_set)
        if isinstance(tree, DefaultDiag):
            return SearchResult(diagnostic=tree)
        db = self._db()
        key = (tree, None if libs is None else tuple(libs))
        if db is not None and key in self._searches and self._fresh(db):
            cached = self._searches.get(key)
            if cached is not None:
                return SearchResult(hits=cached[0], handle=cached[1])
        try:
            hits, handle = await self._run(lambda: self._search(tree, libs))
        except UnsupportedSearch as exc:
            return SearchResult(
                diagnostic=DefaultDiag(_KIND_DIAG.get(exc.kind, 108), exc.message[:200])
            )
        if db is not None:
            self._searches.put(key, (hits, handle))
        return SearchResult(hits=hits, handle=handle)

    def _head(self, tree: Query) -> tuple[list[int], int]:
        """``Catalogue.search_head(tree, MATERIALISE, COUNT_BY_FETCH)``, on the backend's own
        connection when there is one."""
        return self.catalogue.search_head(tree, MATERIALISE, COUNT_BY_FETCH, db=self._db())

    def _search(self, tree: Query, libs: list[int] | None) -> tuple[int, array[int] | _Lazy]:
        if libs is None:
            first, hits = self._head(tree)
            if hits <= MATERIALISE:
                return hits, array("q", first)
            return hits, _Lazy(tree, array("q", first))
        ids = self.catalogue.search(tree, limit=None)
        held: set[int] = set()
        with self.store.read() as conn:
            for start in range(0, len(ids), 500):
                held.update(
                    conn.execute(
                        select(items.c.bib_id)
                        .where(
                            items.c.bib_id.in_(ids[start : start + 500]),
                            items.c.home_library_id.in_(libs),
                        )
                        .distinct()
                    ).scalars()
                )
        kept = array("q", (i for i in ids if i in held))
        return len(kept), kept

    async def present(self, query: PresentQuery) -> PresentResult:
        handle = query.result_set.handle
        first, end = query.start - 1, query.start - 1 + query.count
        charset = _record_charset(query.context.charset)
        # With no syntax named by the origin, each MARC record goes out in its own syntax.
        strict = query.syntax_requested
        if isinstance(handle, array):
            page = handle[first:end].tolist()
            return await self._run(lambda: self._present(page, query.syntax, charset, strict))
        assert isinstance(handle, _Lazy)
        if end <= len(handle.first):
            page = handle.first[first:end].tolist()
            return await self._run(lambda: self._present(page, query.syntax, charset, strict))

        def later() -> PresentResult:
            ids = self.catalogue.search(handle.tree, limit=query.count, offset=first)
            return self._present(ids, query.syntax, charset, strict)

        return await self._run(later)

    def _rows(self, ids: Sequence[int]) -> dict[int, _Row]:
        if not ids:
            return {}
        if self.store.is_sqlite:
            # a page of records per present: plain SQL on the DBAPI connection
            marks = ", ".join("?" * len(ids))
            sql = (
                "SELECT id, marc, marc_syntax, flavour, title, author, isbn FROM bibs "
                f"WHERE id IN ({marks})"
            )
            own = self._db()
            if own is not None:
                raw = own.execute(sql, tuple(ids)).fetchall()  # one statement: one snapshot
            else:
                with sqlite_read(self.store) as db:
                    raw = db.execute(sql, tuple(ids)).fetchall()
            return {
                r[0]: _Row(r[0], r[1], r[2], Flavour(r[3]) if r[3] else None, r[4], r[5], r[6])
                for r in raw
            }
        with self.store.read() as conn:
            rows = conn.execute(
                select(
                    bibs.c.id,
                    bibs.c.marc,
                    bibs.c.marc_syntax,
                    bibs.c.flavour,
                    bibs.c.title,
                    bibs.c.author,
                    bibs.c.isbn,
                ).where(bibs.c.id.in_(list(ids)))
            ).all()
        return {
            int(r.id): _Row(
                int(r.id),
                r.marc,
                r.marc_syntax,
                Flavour(r.flavour) if r.flavour else None,
                r.title,
                r.author,
                r.isbn,
            )
            for r in rows
        }

    def _present(
        self, ids: Sequence[int], syntax: str, charset: Charset, strict: bool = True
    ) -> PresentResult:
        db = self._db()
        cache = self._records
        found: dict[int, RetrievalRecord | DefaultDiag] = {}
        hits = db is not None and any((i, syntax, charset, strict) in cache for i in ids)
        if hits and db is not None and self._fresh(db):
            for i in ids:
                hit = cache.get((i, syntax, charset, strict))
                if hit is not None:
                    found[i] = hit
        rows = self._rows([i for i in ids if i not in found])
        out: list[RetrievalRecord | DefaultDiag] = []
        for bib_id in ids:
            done = found.get(bib_id)
            if done is not None:
                out.append(done)
                continue
            row = rows.get(bib_id)
            if row is None:  # deleted since the search
                out.append(DefaultDiag(_SYSTEM_ERROR_PRESENTING, f"record {bib_id} was deleted"))
                continue
            try:
                natural = syntax
                if not strict and syntax in (oids.UNIMARC, oids.USMARC) and row.flavour is not None:
                    natural = _MARC_SYNTAX[row.flavour]
                one = self._one(row, natural, charset)
            except Exception:
                log.exception("cannot present record %s", bib_id)
                out.append(DefaultDiag(_SYSTEM_ERROR_PRESENTING, str(bib_id)))
                continue
            if db is not None and (
                not isinstance(one, DefaultDiag) or one.condition == _NOT_IN_SYNTAX
            ):
                cache.put((bib_id, syntax, charset, strict), one)
            out.append(one)
        return PresentResult(tuple(out))

    def _one(self, row: _Row, syntax: str, charset: Charset) -> RetrievalRecord | DefaultDiag:
        flavour = row.flavour
        if syntax in (oids.UNIMARC, oids.USMARC):
            if flavour is not None and _MARC_SYNTAX[flavour] != syntax:
                return DefaultDiag(_NOT_IN_SYNTAX, _MARC_SYNTAX[flavour])
            if row.marc is not None and row.marc_syntax == "iso2709" and charset is Charset.UTF8:
                return RetrievalRecord(row.marc, syntax)  # stored as UTF-8 ISO 2709, declared so
        record, flavour = self._record(row, syntax)
        if record is None:
            return DefaultDiag(_SYSTEM_ERROR_PRESENTING, f"record {row.id} cannot be read")
        if syntax in (oids.UNIMARC, oids.USMARC):
            try:
                return RetrievalRecord(to_iso2709(record, flavour, charset), syntax)
            except MarcWriteError:
                return DefaultDiag(_NOT_IN_SYNTAX, oids.XML)  # too long for ISO 2709
        if syntax == oids.XML:
            return RetrievalRecord(_xml(record, charset), oids.XML)
        if syntax == oids.SUTRS:
            return RetrievalRecord(_sutrs(row, record, flavour), oids.SUTRS)
        if syntax == oids.OPAC:
            return RetrievalRecord(self._opac(row, record, flavour, charset), oids.OPAC)
        return DefaultDiag(_NOT_IN_SYNTAX, syntax)  # pragma: no cover - the session sends 239

    def _record(self, row: _Row, syntax: str) -> tuple[pymarc.Record | None, Flavour]:
        if row.marc is None or row.flavour is None:
            flavour = Flavour.MARC21 if syntax == oids.USMARC else Flavour.CNMARC
            return _brief_record(row, flavour), flavour
        return _load(row), row.flavour

    def _opac(
        self, row: _Row, record: pymarc.Record, flavour: Flavour, charset: Charset
    ) -> OpacRecord:
        try:
            marc = to_iso2709(record, flavour, charset)
            bib: External | None = External(_MARC_SYNTAX[flavour], marc)
        except MarcWriteError:
            bib = External(oids.XML, _xml(record, charset))
        names = {code: name for code, (_, name, _) in self._library_map().items()}
        holdings = []
        for h in self.catalogue.holdings(row.id):

            def w(text: str | None) -> str | None:
                return _wire_text(text, charset)

            holdings.append(
                HoldingsAndCirc(
                    nuc_code=h.library,
                    local_location=w(names.get(h.library.upper(), h.library)),
                    shelving_location=w(h.location),
                    call_number=w(h.call_number),
                    circulation=(
                        CircRecord(
                            available_now=h.available,
                            item_id=w(h.barcode),
                            restrictions=None if h.available else w(h.status),
                            temporary_location=(
                                w(h.current_library) if h.current_library != h.library else None
                            ),
                        ),
                    ),
                )
            )
        return OpacRecord(bib, tuple(holdings))


def make_target(
    store: Store,
    *,
    charset: str = "UTF-8",
    negotiable: Sequence[str] | None = None,
    offload: bool | None = None,
    catalogue: Any = None,
    **config: Any,
) -> Z3950Target:
    """A :class:`Z3950Target` serving the catalogue in ``store``.

    ``charset`` is the listener's own (``UTF-8`` or ``GB18030``); an origin may negotiate the
    other one unless ``negotiable`` says otherwise.
    """
    cs = charset.upper().replace("_", "-")
    if cs in ("UTF8",):
        cs = "UTF-8"
    if cs not in ("UTF-8", "GB18030"):
        raise ValueError(f"the Z39.50 charset must be UTF-8 or GB18030, not {charset!r}")
    others = (
        tuple(negotiable)
        if negotiable is not None
        else tuple(c for c in ("UTF-8", "GB18030") if c != cs)
    )
    if offload is None:
        # SQLite answers in-process in well under a millisecond: a thread hop per call costs
        # more than it saves. A networked database may stall, so its calls leave the loop.
        offload = not store.is_sqlite
    backend = CatalogueBackend(catalogue or Catalogue(store), store, offload=offload)
    # yaz-client names every search's result set anew ("1", "2", …): a cataloguer's long
    # session needs many. Handles are compact: at most MATERIALISE ids each.
    config.setdefault("max_result_sets", 10_000)
    return Z3950Target(
        backend,
        TargetConfig(
            charset=cs,
            negotiable_charsets=others,
            implementation_name="ils-bridge union catalogue",
            **config,
        ),
    )
