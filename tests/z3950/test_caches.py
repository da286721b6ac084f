"""The Z39.50 backend's own SQLite connection and its caches (result sets, rendered records),
and their invalidation when anything is committed."""

from __future__ import annotations

import asyncio
from array import array
from typing import Any

import pytest
from sqlalchemy import update

import ils_bridge.frontends.z3950_target as frontend
from ils_bridge.catalogue.model import Charset
from ils_bridge.catalogue.store import Catalogue
from ils_bridge.frontends.z3950_target import CatalogueBackend, _Lru
from ils_bridge.store.schema import bibs
from protocols.z3950 import oids
from protocols.z3950.pqf import parse_pqf
from protocols.z3950.target import (
    AssociationContext,
    PresentQuery,
    PresentResult,
    ResultSet,
    RetrievalRecord,
    SearchQuery,
    SearchResult,
)

from .support import HONGLOU, Book, iso2709

CTX = AssociationContext(1, "test", "UTF-8", False, False)


def _sqlite(catalogue: Catalogue) -> None:
    if not catalogue.store.is_sqlite:
        pytest.skip("the backend's own connection and caches are for SQLite")


class Counting(CatalogueBackend):
    """Counts the searches and record rows that reach the database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.searches = 0
        self.rows: list[int] = []

    def _search(self, tree: Any, libs: Any) -> Any:
        self.searches += 1
        return super()._search(tree, libs)

    def _rows(self, ids: Any) -> Any:
        self.rows += list(ids)
        return super()._rows(ids)


def search(backend: CatalogueBackend, pqf: str, db: str = "union") -> SearchResult:
    return asyncio.run(backend.search(SearchQuery(CTX, (db,), parse_pqf(pqf), "1")))


def present(
    backend: CatalogueBackend, found: SearchResult, syntax: str = oids.UNIMARC
) -> PresentResult:
    rs = ResultSet("1", ("union",), parse_pqf("x"), found.hits, found.handle)
    query = PresentQuery(CTX, rs, 1, found.hits, syntax, None)
    return asyncio.run(backend.present(query))


def _marc(result: PresentResult) -> list[bytes]:
    out = []
    for rec in result.records:
        assert isinstance(rec, RetrievalRecord) and isinstance(rec.data, bytes), rec
        out.append(rec.data)
    return out


def test_repeated_search_is_answered_from_the_cache(catalogue: Catalogue) -> None:
    _sqlite(catalogue)
    backend = Counting(catalogue, offload=False)
    first = search(backend, "@attr 1=4 红楼梦")
    assert first.hits == 1
    for _ in range(3):
        again = search(backend, "@attr 1=4 红楼梦")
        assert (again.hits, again.handle) == (first.hits, first.handle)
    # the first repeat reads PRAGMA data_version for the first time, so it searches again
    assert backend.searches == 2
    assert search(backend, "@attr 1=7 9787020002207").hits == 1
    assert backend.searches == 3


def test_a_commit_empties_the_caches(catalogue: Catalogue) -> None:
    _sqlite(catalogue)
    backend = Counting(catalogue, offload=False)
    for _ in range(2):
        found = search(backend, "@attr 1=1018 人民文学出版社")
        assert found.hits == 2
        (honglou, xiyou) = _marc(present(backend, found))
    searches, rows = backend.searches, len(backend.rows)
    found = search(backend, "@attr 1=1018 人民文学出版社")
    assert _marc(present(backend, found)) == [honglou, xiyou]
    assert (backend.searches, len(backend.rows)) == (searches, rows)  # all from the caches

    # another connection imports a third book from the same publisher
    sanguo = Book("9787020008728", "三国演义", "罗贯中", "人民文学出版社", 1973, HONGLOU.flavour)
    summary = catalogue.import_records([("more", iso2709(sanguo))])
    assert summary.new == 1
    found = search(backend, "@attr 1=1018 人民文学出版社")
    assert found.hits == 3
    assert backend.searches == searches + 1

    # and changes a record in place: the cached rendering is not served any more
    assert isinstance(found.handle, array)
    bib_id = found.handle[0]
    changed = honglou.replace("红楼梦".encode(), "红楼夢".encode())
    with catalogue.store.write() as conn:
        conn.execute(update(bibs).where(bibs.c.id == bib_id).values(marc=changed))
    assert _marc(present(backend, search(backend, "@attr 1=1018 人民文学出版社")))[0] == changed


def test_cached_renderings_are_per_syntax_and_charset(catalogue: Catalogue) -> None:
    _sqlite(catalogue)
    backend = Counting(catalogue, offload=False)
    found = search(backend, "@attr 1=4 红楼梦")
    ids = list(found.handle)  # type: ignore[call-overload]
    for _ in range(3):
        utf8 = backend._present(ids, oids.UNIMARC, Charset.UTF8).records
        gb = backend._present(ids, oids.UNIMARC, Charset.GB18030).records
        xml = backend._present(ids, oids.XML, Charset.UTF8).records
        wrong = backend._present(ids, oids.USMARC, Charset.UTF8).records
    (u,), (g,), (x,), (w,) = utf8, gb, xml, wrong
    assert isinstance(u, RetrievalRecord) and isinstance(g, RetrievalRecord)
    assert isinstance(u.data, bytes) and isinstance(g.data, bytes)
    assert "红楼梦".encode() in u.data and "红楼梦".encode("gb18030") in g.data
    assert isinstance(x, RetrievalRecord) and x.syntax == oids.XML
    assert not isinstance(w, RetrievalRecord) and w.condition == 238
    # each rendering read once, then once more after the first data_version check
    assert len(backend.rows) == 8


def test_no_cache_when_calls_leave_the_loop(catalogue: Catalogue) -> None:
    backend = Counting(catalogue, offload=True)
    assert backend._db() is None
    for _ in range(3):
        assert search(backend, "@attr 1=4 红楼梦").hits == 1
    assert backend.searches == 3


def test_own_connection_answers_as_the_catalogue(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sqlite(catalogue)
    backend = CatalogueBackend(catalogue, offload=False)
    monkeypatch.setattr(frontend, "MATERIALISE", 1)  # two hits: ids and count apart
    for pqf in ("@attr 1=1018 人民文学出版社", "@attr 1=4 红楼梦", "@attr 1=7 702000220X", "nothing"):
        tree = frontend.rpn_to_query(parse_pqf(pqf).rpn, "utf-8")
        assert not isinstance(tree, frontend.DefaultDiag)
        assert catalogue._fast_plan(tree) is not None
        assert backend._head(tree) == catalogue.search_head(tree, 1, frontend.COUNT_BY_FETCH)
    found = search(backend, "@attr 1=1018 人民文学出版社")
    assert found.hits == 2 and isinstance(found.handle, frontend._Lazy)
    backend.close()
    assert backend._conn is None
    assert search(backend, "@attr 1=1018 人民文学出版社").hits == 2  # reopens


def test_lru_forgets_the_least_recently_used() -> None:
    lru: _Lru[str, int] = _Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # a is now the most recent
    lru.put("c", 3)
    assert "b" not in lru and lru.get("a") == 1 and lru.get("c") == 3
    assert len(lru) == 2
    lru.clear()
    assert len(lru) == 0 and lru.get("a") is None
