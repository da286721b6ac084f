"""initial cluster schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 13:39:14.936666
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bibs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("isbn", sa.String(length=13), nullable=True),
        sa.Column("flavour", sa.String(length=16), nullable=True),
        sa.Column("marc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bibs")),
    )
    with op.batch_alter_table("bibs", schema=None) as batch_op:
        batch_op.create_index("ix_bibs_isbn", ["isbn"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column(
            "library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("library_code", sa.String(length=16), nullable=True),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("patron_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("item_home_code", sa.String(length=16), nullable=True),
        sa.Column("patron_home_code", sa.String(length=16), nullable=True),
        sa.Column("terminal", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_type_at", ["type", "at"], unique=False)

    op.create_table(
        "libraries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("owner_code", sa.String(length=16), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("adapter", sa.String(length=64), server_default="local", nullable=False),
        sa.Column("endpoint_kind", sa.String(length=16), nullable=True),
        sa.Column("endpoint_host", sa.String(length=255), nullable=True),
        sa.Column("endpoint_port", sa.Integer(), nullable=True),
        sa.Column("endpoint_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("encoding", sa.String(length=16), server_default="utf-8", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "endpoint_kind IS NULL OR endpoint_kind IN ('fixed-ip', 'domain', 'dynamic')",
            name=op.f("ck_libraries_endpoint_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('central', 'branch', 'service-point')", name=op.f("ck_libraries_kind")
        ),
        sa.CheckConstraint("status IN ('active', 'removed')", name=op.f("ck_libraries_status")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["libraries.id"], name=op.f("fk_libraries_parent_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libraries")),
        sa.UniqueConstraint("code", name=op.f("uq_libraries_code")),
        sa.UniqueConstraint("owner_code", name=op.f("uq_libraries_owner_code")),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "code_ranges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("prefix", sa.String(length=16), server_default="", nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('item', 'patron')", name=op.f("ck_code_ranges_kind")),
        sa.CheckConstraint("first <= last AND first >= 0", name=op.f("ck_code_ranges_bounds")),
        sa.CheckConstraint("width BETWEEN 1 AND 18", name=op.f("ck_code_ranges_width")),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_code_ranges_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_ranges")),
    )
    op.create_table(
        "identifiers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("namespace", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("raw", sa.String(length=256), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column(
            "entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), server_default="ACTIVE", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'ALIAS', 'TOMBSTONE')", name=op.f("ck_identifiers_status")
        ),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_identifiers_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifiers")),
        sa.UniqueConstraint("namespace", "value", name="uq_identifiers_namespace_value"),
    )
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.create_index("ix_identifiers_entity", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "locations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("loanable", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_locations_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("library_id", "code", name="uq_locations_library_code"),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("adapter", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_outbox_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_pending", ["delivered_at", "next_attempt_at"], unique=False
        )

    op.create_table(
        "patrons",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("card", sa.String(length=128), nullable=False),
        sa.Column("card_display", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "home_library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("category", sa.String(length=32), server_default="adult", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("resident_id_hash", sa.String(length=64), nullable=True),
        sa.Column("resident_id_masked", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'blocked', 'closed')", name=op.f("ck_patrons_status")
        ),
        sa.ForeignKeyConstraint(
            ["home_library_id"], ["libraries.id"], name=op.f("fk_patrons_home_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrons")),
        sa.UniqueConstraint("card", name=op.f("uq_patrons_card")),
    )
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.create_index(
            "uq_patrons_resident_id_open",
            ["resident_id_hash"],
            unique=True,
            sqlite_where=sa.text("resident_id_hash IS NOT NULL AND status <> 'closed'"),
            postgresql_where=sa.text("resident_id_hash IS NOT NULL AND status <> 'closed'"),
        )

    op.create_table(
        "items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("bib_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "owner_library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "home_library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "home_location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "current_library_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("item_type", sa.String(length=32), server_default="book", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="available", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('available', 'on-loan', 'in-transit', 'on-hold-shelf', 'lost', 'missing', 'damaged', 'withdrawn')",
            name=op.f("ck_items_status"),
        ),
        sa.ForeignKeyConstraint(["bib_id"], ["bibs.id"], name=op.f("fk_items_bib_id_bibs")),
        sa.ForeignKeyConstraint(
            ["current_library_id"],
            ["libraries.id"],
            name=op.f("fk_items_current_library_id_libraries"),
        ),
        sa.ForeignKeyConstraint(
            ["home_library_id"], ["libraries.id"], name=op.f("fk_items_home_library_id_libraries")
        ),
        sa.ForeignKeyConstraint(
            ["home_location_id"], ["locations.id"], name=op.f("fk_items_home_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["owner_library_id"], ["libraries.id"], name=op.f("fk_items_owner_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("barcode", name=op.f("uq_items_barcode")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_bib", ["bib_id"], unique=False)

    op.create_table(
        "holds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("bib_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "patron_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "pickup_library_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), server_default="waiting", nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'in-transit', 'on-shelf', 'filled', 'cancelled', 'expired')",
            name=op.f("ck_holds_status"),
        ),
        sa.ForeignKeyConstraint(["bib_id"], ["bibs.id"], name=op.f("fk_holds_bib_id_bibs")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_holds_item_id_items")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_holds_patron_id_patrons")
        ),
        sa.ForeignKeyConstraint(
            ["pickup_library_id"],
            ["libraries.id"],
            name=op.f("fk_holds_pickup_library_id_libraries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("ix_holds_bib_status", ["bib_id", "status"], unique=False)

    op.create_table(
        "loans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "patron_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "checkout_library_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "policy_library_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("terminal", sa.String(length=64), nullable=True),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewals", sa.Integer(), server_default="0", nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "return_library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["checkout_library_id"],
            ["libraries.id"],
            name=op.f("fk_loans_checkout_library_id_libraries"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_loans_item_id_items")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_loans_patron_id_patrons")
        ),
        sa.ForeignKeyConstraint(
            ["policy_library_id"],
            ["libraries.id"],
            name=op.f("fk_loans_policy_library_id_libraries"),
        ),
        sa.ForeignKeyConstraint(
            ["return_library_id"],
            ["libraries.id"],
            name=op.f("fk_loans_return_library_id_libraries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_patron", ["patron_id"], unique=False)
        batch_op.create_index(
            "uq_loans_open_item",
            ["item_id"],
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )

    op.create_table(
        "transits",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "from_library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "to_library_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("hold_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_scan_library_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("last_scan_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reason IN ('return-home', 'hold', 'return-to-issuing', 'distribution', 'rotation', 'manual')",
            name=op.f("ck_transits_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["from_library_id"],
            ["libraries.id"],
            name=op.f("fk_transits_from_library_id_libraries"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_transits_item_id_items")),
        sa.ForeignKeyConstraint(
            ["last_scan_library_id"],
            ["libraries.id"],
            name=op.f("fk_transits_last_scan_library_id_libraries"),
        ),
        sa.ForeignKeyConstraint(
            ["to_library_id"], ["libraries.id"], name=op.f("fk_transits_to_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transits")),
    )
    with op.batch_alter_table("transits", schema=None) as batch_op:
        batch_op.create_index(
            "uq_transits_open_item",
            ["item_id"],
            unique=True,
            sqlite_where=sa.text("received_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=sa.text("received_at IS NULL AND cancelled_at IS NULL"),
        )

    _append_only_events()


def _append_only_events() -> None:
    """The event log is append-only: the database itself refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events "
                "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION ils_bridge_events_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'the event log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION ils_bridge_events_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS ils_bridge_events_append_only()")
    with op.batch_alter_table("transits", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_transits_open_item",
            sqlite_where=sa.text("received_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=sa.text("received_at IS NULL AND cancelled_at IS NULL"),
        )

    op.drop_table("transits")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_loans_open_item",
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )
        batch_op.drop_index("ix_loans_patron")

    op.drop_table("loans")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_bib_status")

    op.drop_table("holds")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_bib")

    op.drop_table("items")
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_patrons_resident_id_open",
            sqlite_where=sa.text("resident_id_hash IS NOT NULL AND status <> 'closed'"),
            postgresql_where=sa.text("resident_id_hash IS NOT NULL AND status <> 'closed'"),
        )

    op.drop_table("patrons")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    op.drop_table("locations")
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_identifiers_entity")

    op.drop_table("identifiers")
    op.drop_table("code_ranges")
    op.drop_table("meta")
    op.drop_table("libraries")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_type_at")

    op.drop_table("events")
    with op.batch_alter_table("bibs", schema=None) as batch_op:
        batch_op.drop_index("ix_bibs_isbn")

    op.drop_table("bibs")
