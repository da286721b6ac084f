"""Engines for the two supported databases, with the settings each one needs.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` so that two processes never both read-then-write
on a stale snapshot. PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

APP_NAME = "ils-bridge"


def data_dir() -> Path:
    """The user data directory (honours ``XDG_DATA_HOME`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    """``ILS_BRIDGE_DB`` if set, else an SQLite file under the user data directory."""
    env = os.environ.get("ILS_BRIDGE_DB")
    if env:
        return env
    return f"sqlite:///{data_dir() / 'ils-bridge.sqlite3'}"


def _normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # We ship psycopg 3 (the `postgres` extra); SQLAlchemy's bare name means psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Store:
    """An engine plus the facts about it that the services need."""

    engine: Engine
    url: str

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a plain deferred ``BEGIN`` on SQLite)."""
        with self.engine.connect().execution_options(ils_bridge_readonly=True) as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own transaction handling defers it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight on the DBAPI connection (the path of ils_bridge.store.statements): the full
        # execution path costs more than the BEGIN itself. Errors are wrapped as SQLAlchemy's.
        sql = "BEGIN" if conn.get_execution_options().get("ils_bridge_readonly") else "BEGIN IMMEDIATE"
        dbapi = conn.connection.driver_connection
        try:
            dbapi.execute(sql).close()  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


def open_store(url: str | None = None, *, create_dirs: bool = True) -> Store:
    """Open (not migrate) the store at ``url`` or the default location."""
    url = _normalise_url(url or default_database_url())
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and create_dirs:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if database in (None, "", ":memory:"):
            kwargs["poolclass"] = NullPool
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
    else:
        kwargs["pool_pre_ping"] = True
        engine = create_engine(url, **kwargs)
    return Store(engine=engine, url=url)
