"""Prebuilt statements for the hot circulation path, and a lean way to run them.

A :class:`Stmt` wraps a SQLAlchemy Core statement built **once** (at import) with named
``bindparam``s, so nothing is constructed or cache-keyed per call. On PostgreSQL it runs
through ``Connection.execute`` as usual (SQLAlchemy's compiled cache always hits). On SQLite
it is compiled once per dialect and run directly on the DBAPI connection of the SQLAlchemy
connection — the same connection and therefore the same transaction (``BEGIN IMMEDIATE``
issued by the engine) — with SQLAlchemy's own bind and result processors, so values go in
and come out exactly as through ``Connection.execute`` (dates as SQLAlchemy stores them,
booleans as ``bool``). DBAPI errors are wrapped into SQLAlchemy's exception classes
(``IntegrityError``, ``OperationalError`` …) so callers' race handling is unchanged.

Rows come back as plain ``dict``s keyed by the statement's column keys (on PostgreSQL as
``RowMapping``s); both are read-only ``Mapping``s to callers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

__all__ = ["Stmt", "count_raw", "raw_statements"]

Row = Mapping[str, Any]

#: How many statements ran on the DBAPI connection directly (profiling aid; see bench).
raw_statements = [0]


def count_raw() -> int:
    return raw_statements[0]


class _Compiled:
    __slots__ = ("binds", "fixed", "keys", "procs", "result_procs", "slots", "sql")

    def __init__(self, stmt: Any, conn: Connection) -> None:
        dialect = conn.dialect
        compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        names = tuple(compiled.positiontup or ())
        bind_procs = compiled._bind_processors
        # Each position takes a caller's parameter (a bindparam() without a value) or a value
        # fixed in the statement (a literal such as status == 'waiting', LIMIT 1), processed once.
        self.binds: tuple[str | None, ...] = ()
        self.procs: tuple[Callable[[Any], Any] | None, ...] = ()
        self.fixed: tuple[Any, ...] = ()
        binds: list[str | None] = []
        procs: list[Callable[[Any], Any] | None] = []
        fixed: list[Any] = []
        for name in names:
            bp = compiled.binds[name]
            proc = bind_procs.get(name)
            if bp.required:
                binds.append(name)
                procs.append(proc)
                fixed.append(None)
            else:
                if bp.expanding or bp.callable is not None:
                    raise ValueError(f"Stmt does not support the parameter {name!r}")
                value = bp.value
                binds.append(None)
                procs.append(None)
                fixed.append(proc(value) if proc is not None and value is not None else value)
        self.binds, self.procs, self.fixed = tuple(binds), tuple(procs), tuple(fixed)
        # The caller's parameters by position: (index, name, processor or None).
        self.slots: tuple[tuple[int, str, Callable[[Any], Any] | None], ...] = tuple(
            (i, name, proc) for i, (name, proc) in enumerate(zip(binds, procs, strict=True)) if name is not None
        )
        cols = list(getattr(compiled, "_result_columns", None) or [])
        self.keys: tuple[str, ...] = tuple(str(c[0]) for c in cols)
        rprocs = [c[3]._cached_result_processor(dialect, None) for c in cols]
        self.result_procs: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, p) for i, p in enumerate(rprocs) if p is not None
        )

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        out = list(self.fixed)
        for i, name, proc in self.slots:
            value = params[name]
            out[i] = proc(value) if proc is not None and value is not None else value
        return out

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        if self.result_procs:
            values = list(raw)
            for i, proc in self.result_procs:
                if values[i] is not None:
                    values[i] = proc(values[i])
            return dict(zip(self.keys, values, strict=True))
        return dict(zip(self.keys, raw, strict=True))


class Stmt:
    """One statement, built once; see the module docstring."""

    __slots__ = ("_sqlite", "stmt")

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._sqlite: _Compiled | None = None

    def _raw(self, conn: Connection) -> _Compiled | None:
        if conn.dialect.name != "sqlite":
            return None
        c = self._sqlite
        if c is None:
            c = self._sqlite = _Compiled(self.stmt, conn)
        return c

    @staticmethod
    def _cursor_execute(conn: Connection, c: _Compiled, args: list[Any]) -> sqlite3.Cursor:
        raw_statements[0] += 1
        dbapi = conn.connection.driver_connection
        assert isinstance(dbapi, sqlite3.Connection)
        try:
            return dbapi.execute(c.sql, args)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(c.sql, args, exc, sqlite3.Error, dialect=conn.dialect) from exc

    # ------------------------------------------------------------------ running
    def all(self, conn: Connection, **params: Any) -> list[Row]:
        c = self._raw(conn)
        if c is None:
            return [dict(r) for r in conn.execute(self.stmt, params).mappings()]
        cur = self._cursor_execute(conn, c, c.args(params))
        return [c.row(r) for r in cur.fetchall()]

    def first(self, conn: Connection, **params: Any) -> Row | None:
        c = self._raw(conn)
        if c is None:
            found = conn.execute(self.stmt, params).mappings().first()
            return None if found is None else dict(found)
        cur = self._cursor_execute(conn, c, c.args(params))
        raw = cur.fetchone()
        cur.close()
        return None if raw is None else c.row(raw)

    def scalar(self, conn: Connection, **params: Any) -> Any:
        row = self.first(conn, **params)
        return None if row is None else next(iter(row.values()))

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute a DML statement; the row count."""
        c = self._raw(conn)
        if c is None:
            return int(conn.execute(self.stmt, params).rowcount)
        cur = self._cursor_execute(conn, c, c.args(params))
        n = cur.rowcount
        cur.close()
        return n

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute a DML statement once per parameter set (in order)."""
        if not rows:
            return
        c = self._raw(conn)
        if c is None:
            conn.execute(self.stmt, list(rows))
            return
        if len(rows) == 1:
            self._cursor_execute(conn, c, c.args(rows[0])).close()
            return
        raw_statements[0] += 1
        dbapi = conn.connection.driver_connection
        assert isinstance(dbapi, sqlite3.Connection)
        args = [c.args(r) for r in rows]
        try:
            dbapi.executemany(c.sql, args).close()
        except sqlite3.Error as exc:
            raise DBAPIError.instance(c.sql, args, exc, sqlite3.Error, dialect=conn.dialect) from exc
