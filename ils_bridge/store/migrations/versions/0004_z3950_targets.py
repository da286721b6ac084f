"""copy cataloguing: z3950 targets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:09:15.732982

Target profiles of external catalogue sources (Z39.50 targets …) for copy cataloguing
(``ils-bridge z3950 target add``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "z3950_targets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), server_default="z3950", nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("database", sa.String(length=255), nullable=False),
        sa.Column("syntax", sa.String(length=16), nullable=False),
        sa.Column("record_encoding", sa.String(length=16), server_default="auto", nullable=False),
        sa.Column("term_encoding", sa.String(length=16), server_default="utf-8", nullable=False),
        sa.Column("negotiate", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("timeout_ms", sa.Integer(), server_default="15000", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name=op.f("ck_z3950_targets_port")),
        sa.CheckConstraint("timeout_ms > 0", name=op.f("ck_z3950_targets_timeout")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_z3950_targets")),
        sa.UniqueConstraint("name", name=op.f("uq_z3950_targets_name")),
    )


def downgrade() -> None:
    op.drop_table("z3950_targets")
