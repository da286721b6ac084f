"""circulation: terminals, policies, holidays, fees

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:56:45.987856
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "circ_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("library", sa.String(length=16), nullable=False),
        sa.Column("item_type", sa.String(length=32), nullable=False),
        sa.Column("loan_days", sa.Integer(), nullable=True),
        sa.Column("renewals_max", sa.Integer(), nullable=True),
        sa.Column("renewal_days", sa.Integer(), nullable=True),
        sa.Column("max_loans", sa.Integer(), nullable=True),
        sa.Column("max_overdues", sa.Integer(), nullable=True),
        sa.Column("max_fines_cents", sa.Integer(), nullable=True),
        sa.Column("fine_per_day_cents", sa.Integer(), nullable=True),
        sa.Column("hold_shelf_days", sa.Integer(), nullable=True),
        sa.Column("return_policy", sa.String(length=24), nullable=True),
        sa.Column("float_group", sa.String(length=32), nullable=True),
        sa.Column("double_scan_seconds", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "return_policy IS NULL OR return_policy IN ('return-home', 'float', 'return-to-issuing')",
            name=op.f("ck_circ_policies_return_policy"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circ_policies")),
        sa.UniqueConstraint("library", "item_type", name="uq_circ_policies_library_item_type"),
    )
    op.create_table(
        "holidays",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("library", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
        sa.UniqueConstraint("library", "day", name="uq_holidays_library_day"),
    )
    op.create_table(
        "terminals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("allowed", sa.Text(), server_default="", nullable=False),
        sa.Column("encoding", sa.String(length=16), server_default="utf-8", nullable=False),
        sa.Column("terminator", sa.String(length=4), server_default="CR", nullable=False),
        sa.Column("mobile", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_terminals_status")),
        sa.CheckConstraint("terminator IN ('CR', 'CRLF')", name=op.f("ck_terminals_terminator")),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_terminals_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
        sa.UniqueConstraint("login", name=op.f("uq_terminals_login")),
    )
    op.create_table(
        "fees",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "patron_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("loan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("paid_cents", sa.Integer(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="CNY", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('overdue', 'lost', 'damage', 'card', 'other')", name=op.f("ck_fees_kind")
        ),
        sa.CheckConstraint("status IN ('open', 'paid', 'waived')", name=op.f("ck_fees_status")),
        sa.CheckConstraint(
            "amount_cents >= 0 AND paid_cents >= 0 AND paid_cents <= amount_cents",
            name=op.f("ck_fees_amounts"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_fees_item_id_items")),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_fees_library_id_libraries")
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_fees_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_fees_patron_id_patrons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fees")),
    )
    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.create_index("ix_fees_patron_status", ["patron_id", "status"], unique=False)
        batch_op.create_index(
            "uq_fees_overdue_loan",
            ["loan_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'overdue'"),
            postgresql_where=sa.text("kind = 'overdue'"),
        )

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_scan_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "last_scan_library_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("properties", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_items_last_scan_library_id_libraries"),
            "libraries",
            ["last_scan_library_id"],
            ["id"],
        )

    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("block_reason", sa.Text(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.drop_column("block_reason")
        batch_op.drop_column("password_hash")

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_items_last_scan_library_id_libraries"), type_="foreignkey"
        )
        batch_op.drop_column("properties")
        batch_op.drop_column("last_scan_library_id")
        batch_op.drop_column("last_scan_at")

    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_fees_overdue_loan",
            sqlite_where=sa.text("kind = 'overdue'"),
            postgresql_where=sa.text("kind = 'overdue'"),
        )
        batch_op.drop_index("ix_fees_patron_status")

    op.drop_table("fees")
    op.drop_table("terminals")
    op.drop_table("holidays")
    op.drop_table("circ_policies")
