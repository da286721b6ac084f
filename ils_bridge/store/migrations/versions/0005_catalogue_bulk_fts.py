"""catalogue: bulk imports write the full-text index themselves

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:02:00.000000

SQLite only (PostgreSQL's trigram indexes need nothing). The FTS5 insert trigger on ``bibs``
(0003) costs a full-text segment flush per row when it fires (a trigger statement runs under
a savepoint, and FTS5 flushes its pending terms at every savepoint): most of a catalogue
import's write time. The trigger now stands aside while the one-row table ``bib_fts_bulk``
holds a row. The importer inserts that row, the records and their ``bib_fts`` entries (one
``executemany``, the same values the trigger would have written), and deletes the row again,
all in its one write transaction: no other connection ever sees the row (a crash rolls it back
with the rest), so for everyone else the trigger behaves as before.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = ("search_title", "search_author", "search_publisher", "search_subject")


def _insert_trigger(when: str) -> str:
    columns = ", ".join(_COLUMNS)
    new = ", ".join(f"new.{c}" for c in _COLUMNS)
    return (
        f"CREATE TRIGGER bibs_fts_ai AFTER INSERT ON bibs {when}BEGIN "
        f"INSERT INTO bib_fts (rowid, {columns}) VALUES (new.id, {new}); END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE bib_fts_bulk (active INTEGER NOT NULL)")
    op.execute("DROP TRIGGER bibs_fts_ai")
    op.execute(_insert_trigger("WHEN NOT EXISTS (SELECT 1 FROM bib_fts_bulk) "))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER bibs_fts_ai")
    op.execute(_insert_trigger(""))
    op.execute("DROP TABLE bib_fts_bulk")
