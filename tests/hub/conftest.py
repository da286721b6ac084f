"""Fixtures for the hub: a fresh database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ils_bridge.cluster import Cluster
from ils_bridge.plugin_manager import build_registries, make_plugin_manager
from ils_bridge.store import migrate
from ils_bridge.store.engine import Store, open_store

PG_URL = os.environ.get("ILS_BRIDGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = b"test-secret-not-for-production-0123456789"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # the reason is shown in the skip message
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


_PG_PROBLEM: str | bool | None = False


def pg_problem() -> str | None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_available()
    return _PG_PROBLEM  # type: ignore[return-value]


def require_pg() -> None:
    problem = pg_problem()
    if problem:
        if os.environ.get("ILS_BRIDGE_REQUIRE_PG"):
            pytest.fail(f"PostgreSQL at {PG_URL} is required (ILS_BRIDGE_REQUIRE_PG) but: {problem}")
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable ({problem}); set ILS_BRIDGE_TEST_PG")


def fresh_pg_url() -> Iterator[str]:
    """A URL whose search_path is a brand-new schema, dropped afterwards."""
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cluster.sqlite3'}"
    else:
        yield from fresh_pg_url()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    migrate.upgrade(s)
    yield s
    s.dispose()


def make_cluster(store: Store) -> Cluster:
    import plugins.local

    pm = make_plugin_manager(entry_points=False, plugins=[(plugins.local, "local")])
    reg = build_registries(pm)
    return Cluster(store, normalisers=reg.normalisers, adapters=reg.adapters, secret=SECRET)


@pytest.fixture
def cluster(store: Store) -> Cluster:
    return make_cluster(store)


@pytest.fixture
def cluster3(cluster: Cluster) -> Cluster:
    """A central library and two branches, with item ranges and one patron range."""
    cluster.add_library("CEN", name="市图书馆", kind="central", owner_code="CN-330400-1-CEN")
    cluster.add_library("XT", name="新塍镇分馆", owner_code="CN-330411-B-XT")
    cluster.add_library("WZ", name="王江泾镇分馆", owner_code="CN-330411-B-WZ")
    cluster.add_range("CEN", "item", "C0000000", "C4999999")
    cluster.add_range("XT", "item", "X0000000", "X4999999")
    cluster.add_range("CEN", "patron", "P0000000", "P4999999")
    for lib in ("CEN", "XT", "WZ"):
        cluster.add_location(lib, "流通库")
    return cluster
