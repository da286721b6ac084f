"""catalogue: the ISBN index of ``bibs`` covers brief records only

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:40:00.000000

``bibs.isbn`` is looked up in one place: an import matching a full record to a *brief* record
(one made by ``item add --title --isbn``, ``marc IS NULL``) so the full record completes it.
Searches by ISBN and deduplication use ``bib_isbns``. An index over every record's ISBN was
one more random-order B-tree insert per imported record (about a tenth of a large import's
write time) for nothing; the partial index keeps the brief-record look-up as fast as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BRIEF = "marc IS NULL"


def upgrade() -> None:
    # plain op.* (not batch): on SQLite a batch could rebuild bibs and drop its FTS5 triggers
    op.drop_index("ix_bibs_isbn", table_name="bibs")
    op.create_index(
        "ix_bibs_isbn",
        "bibs",
        ["isbn"],
        unique=False,
        sqlite_where=sa.text(_BRIEF),
        postgresql_where=sa.text(_BRIEF),
    )


def downgrade() -> None:
    op.drop_index("ix_bibs_isbn", table_name="bibs")
    op.create_index("ix_bibs_isbn", "bibs", ["isbn"], unique=False)
