"""Bad input at the catalogue target: random terms (UTF-8, GB18030, garbage bytes), random
attributes and random PQF text get a diagnostic or a result, never a crash or a dead line."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ils_bridge.catalogue.store import Catalogue
from ils_bridge.frontends.z3950_target import make_target
from ils_bridge.store import migrate
from ils_bridge.store.engine import open_store
from protocols.z3950.apdu import (
    AttributeElement,
    AttributesPlusTerm,
    DefaultDiag,
    RpnOp,
    RpnQuery,
    SearchResponse,
)
from protocols.z3950.origin import Z3950Origin
from protocols.z3950.pqf import PqfError, parse_pqf
from tests.hub.conftest import make_cluster

from .support import seed_catalogue


@pytest.fixture(scope="module")
def small_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    path: Path = tmp_path_factory.mktemp("bad") / "hub.sqlite3"
    store = open_store(f"sqlite:///{path}")
    migrate.upgrade(store)
    cluster = make_cluster(store)
    cluster.add_library("CEN", name="市图书馆", kind="central", owner_code="CN-330400-1-CEN")
    cluster.add_library("XT", name="新塍镇分馆", owner_code="CN-330411-B-XT")
    cluster.add_range("CEN", "item", "C0000000", "C4999999")
    cluster.add_range("XT", "item", "X0000000", "X4999999")
    for lib in ("CEN", "XT"):
        cluster.add_location(lib, "流通库")
    yield seed_catalogue(cluster)
    store.dispose()


def run_queries(
    catalogue: Catalogue, charset: str, queries: list[RpnQuery]
) -> list[SearchResponse]:
    async def main() -> list[SearchResponse]:
        target = make_target(catalogue.store, charset=charset, negotiable=())
        await target.start("127.0.0.1", 0)
        try:
            async with await Z3950Origin.connect("127.0.0.1", target.port, timeout=10) as z:
                assert (await z.init(charsets=())).result
                out = [await z.search(q, databases=("union",)) for q in queries]
                alive = await z.search(
                    RpnQuery(AttributesPlusTerm((AttributeElement(1, 4),), "红楼".encode(charset)))
                )
                assert alive.result_count == 1
                return out
        finally:
            await target.close()

    return asyncio.run(asyncio.wait_for(main(), 30))


def check(resp: SearchResponse) -> None:
    if isinstance(resp.records, DefaultDiag):
        assert not resp.search_status and 1 <= resp.records.condition < 1000
    else:
        assert resp.search_status and resp.result_count >= 0


attributes = st.lists(
    st.builds(
        AttributeElement,
        st.sampled_from([1, 2, 3, 4, 5, 6, 7, 9]),
        st.one_of(
            st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 12, 21, 31, 100, 101, 1003, 1016]),
            st.integers(-5, 70000),
        ),
    ),
    max_size=4,
)
terms = st.one_of(
    st.binary(max_size=24),
    st.text(max_size=12).map(lambda t: t.encode("utf-8")),
    st.text(max_size=12).map(lambda t: t.encode("gb18030")),
)


@given(
    st.lists(st.tuples(attributes, terms), min_size=1, max_size=6),
    st.sampled_from(["UTF-8", "GB18030"]),
)
def test_random_terms_and_attributes(
    small_catalogue: Catalogue, leaves: list[tuple[list[AttributeElement], bytes]], charset: str
) -> None:
    queries = [RpnQuery(AttributesPlusTerm(tuple(a), t)) for a, t in leaves]
    if len(leaves) > 1:
        (a0, t0), (a1, t1) = leaves[0], leaves[1]
        queries.append(
            RpnQuery(
                RpnOp("and", AttributesPlusTerm(tuple(a0), t0), AttributesPlusTerm(tuple(a1), t1))
            )
        )
    for resp in run_queries(small_catalogue, charset, queries):
        check(resp)


@given(
    st.text(alphabet=st.sampled_from(list('@attr 1=4 and or not{}"\\ 红楼梦x7*#%')), max_size=40)
)
def test_random_pqf_text(small_catalogue: Catalogue, text: str) -> None:
    try:
        query = parse_pqf(text, "gb18030")
    except (PqfError, UnicodeError):
        return
    for resp in run_queries(small_catalogue, "GB18030", [query]):
        check(resp)
