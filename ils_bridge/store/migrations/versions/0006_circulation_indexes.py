"""circulation: indexes for a patron's open loans and for hold look-ups by item and patron

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loans_open_patron",
            ["patron_id"],
            unique=False,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("ix_holds_item", ["item_id"], unique=False)
        batch_op.create_index("ix_holds_patron_status", ["patron_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_patron_status")
        batch_op.drop_index("ix_holds_item")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_loans_open_patron",
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )
