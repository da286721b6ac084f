"""The schema revision this code needs, readable without importing Alembic (CLI start-up)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .engine import Store

#: Must equal the Alembic head; tests/hub/test_store.py checks it.
HEAD = "0007"


def stored_revision(store: Store) -> str | None:
    """The revision recorded in the database, or None when it was never set up."""
    try:
        with store.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        if "alembic_version" in str(exc.orig):
            return None
        raise
