"""The cluster store: engine set-up for SQLite (default) and PostgreSQL, and migrations."""

from __future__ import annotations

from .engine import Store, default_database_url, open_store
from .schema import metadata

__all__ = ["Store", "default_database_url", "metadata", "open_store"]
