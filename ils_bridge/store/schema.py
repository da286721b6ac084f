"""The cluster schema: one set of tables for SQLite and PostgreSQL.

Invariants that must survive two hub processes racing are declared here as database
constraints, never only checked in Python:

* ``identifiers``: unique on ``(namespace, value)`` *including tombstones* — a code is never
  reused. Item barcodes and reader cards share the ``circ`` namespace, so a number scanned at a
  terminal resolves to at most one entity.
* ``loans``: at most one open loan per item (partial unique index on ``item_id`` where
  ``returned_at`` is null).
* ``transits``: at most one open transit per item (partial unique index).
* ``patrons``: one resident ID (keyed hash) belongs to at most one patron that is not closed.
* ``events``: append-only (triggers refuse UPDATE and DELETE; see the migration).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# An integer primary key that is BIGINT on PostgreSQL and the rowid alias on SQLite.
PK = BigInteger().with_variant(Integer(), "sqlite")

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

libraries = Table(
    "libraries",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("parent_id", PK, ForeignKey("libraries.id"), nullable=True),
    Column("owner_code", String(16), nullable=True, unique=True),
    Column("opened_on", Date, nullable=True),
    Column("closed_on", Date, nullable=True),
    Column("adapter", String(64), nullable=False, server_default="local"),
    Column("endpoint_kind", String(16), nullable=True),
    Column("endpoint_host", String(255), nullable=True),
    Column("endpoint_port", Integer, nullable=True),
    Column("endpoint_updated_at", DateTime(timezone=True), nullable=True),
    Column("encoding", String(16), nullable=False, server_default="utf-8"),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('central', 'branch', 'service-point')", name="kind"),
    CheckConstraint("status IN ('active', 'removed')", name="status"),
    CheckConstraint(
        "endpoint_kind IS NULL OR endpoint_kind IN ('fixed-ip', 'domain', 'dynamic')",
        name="endpoint_kind",
    ),
)

locations = Table(
    "locations",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("loanable", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("library_id", "code", name="uq_locations_library_code"),
)

code_ranges = Table(
    "code_ranges",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("prefix", String(16), nullable=False, server_default=""),
    Column("width", Integer, nullable=False),
    Column("first", BigInteger, nullable=False),
    Column("last", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('item', 'patron')", name="kind"),
    CheckConstraint("first <= last AND first >= 0", name="bounds"),
    CheckConstraint("width BETWEEN 1 AND 18", name="width"),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("namespace", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(128), nullable=False),
    Column("raw", String(256), nullable=False),
    Column("entity_type", String(16), nullable=False),
    Column("entity_id", PK, nullable=False),
    Column("library_id", PK, ForeignKey("libraries.id"), nullable=True),
    Column("status", String(16), nullable=False, server_default="ACTIVE"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The R3 invariant: one row per code ever issued, tombstones included.
    UniqueConstraint("namespace", "value", name="uq_identifiers_namespace_value"),
    CheckConstraint("status IN ('ACTIVE', 'ALIAS', 'TOMBSTONE')", name="status"),
    Index("ix_identifiers_entity", "entity_type", "entity_id"),
)

bibs = Table(
    "bibs",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("author", Text, nullable=True),
    Column("isbn", String(13), nullable=True),
    Column("flavour", String(16), nullable=True),
    Column("marc", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # --- the unified catalogue (0003); all NULL for brief records made by `item add --title`.
    # ``marc`` holds the full record in UTF-8, as ISO 2709 (``marc_syntax`` "iso2709") or, when
    # it is too long for ISO 2709, as MARCXML ("marcxml").
    Column("marc_syntax", String(8), nullable=True),
    Column("charset", String(16), nullable=True),  # charset the record arrived in (decision.used)
    Column("charset_declared", String(32), nullable=True),  # its own declaration, verbatim
    Column("source", Text, nullable=True),  # file (or copy-cataloguing target) it came from
    Column("publisher", Text, nullable=True),
    Column("year", Integer, nullable=True),
    Column("clc", String(64), nullable=True),  # first 中图法 class number
    Column("local_number", String(64), nullable=True),  # 001
    Column("title_key", Text, nullable=True),  # dedup key "title|author|year" (MatchKeys)
    # Search tokens (ils_bridge.catalogue.search.index_text) per field; SQLite indexes them with
    # the FTS5 table bib_fts, PostgreSQL with pg_trgm GIN indexes (both hand-written in 0003).
    Column("search_title", Text, nullable=True),
    Column("search_author", Text, nullable=True),
    Column("search_publisher", Text, nullable=True),
    Column("search_subject", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    # brief records only (migration 0007): the import completes them by ISBN; full records are
    # found by ISBN through bib_isbns
    Index(
        "ix_bibs_isbn",
        "isbn",
        sqlite_where=text("marc IS NULL"),
        postgresql_where=text("marc IS NULL"),
    ),
    Index("ix_bibs_title_key", "title_key"),
    Index("ix_bibs_local_number", "local_number"),
    Index("ix_bibs_clc", "clc"),
    Index("ix_bibs_year", "year"),
)

patrons = Table(
    "patrons",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("card", String(128), nullable=False, unique=True),
    Column("card_display", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("home_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("category", String(32), nullable=False, server_default="adult"),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("expires_on", Date, nullable=True),
    Column("resident_id_hash", String(64), nullable=True),
    Column("resident_id_masked", String(32), nullable=True),
    Column("password_hash", String(200), nullable=True),  # patron PIN for SIP2 AD, salted scrypt
    Column("block_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("status IN ('active', 'blocked', 'closed')", name="status"),
    Index(
        "uq_patrons_resident_id_open",
        "resident_id_hash",
        unique=True,
        sqlite_where=text("resident_id_hash IS NOT NULL AND status <> 'closed'"),
        postgresql_where=text("resident_id_hash IS NOT NULL AND status <> 'closed'"),
    ),
)

items = Table(
    "items",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("barcode", String(64), nullable=False, unique=True),
    Column("bib_id", PK, ForeignKey("bibs.id"), nullable=True),
    Column("owner_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("home_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("home_location_id", PK, ForeignKey("locations.id"), nullable=True),
    Column("current_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("item_type", String(32), nullable=False, server_default="book"),
    Column("status", String(16), nullable=False, server_default="available"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The last scan (checkin) — for ignoring double scans within the configured interval.
    Column("last_scan_at", DateTime(timezone=True), nullable=True),
    Column("last_scan_library_id", PK, ForeignKey("libraries.id"), nullable=True),
    Column("properties", Text, nullable=True),  # SIP2 item status update (19, CH)
    CheckConstraint(
        "status IN ('available', 'on-loan', 'in-transit', 'on-hold-shelf', 'lost', "
        "'missing', 'damaged', 'withdrawn')",
        name="status",
    ),
    Index("ix_items_bib", "bib_id"),
)

loans = Table(
    "loans",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("item_id", PK, ForeignKey("items.id"), nullable=False),
    Column("patron_id", PK, ForeignKey("patrons.id"), nullable=False),
    Column("checkout_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("policy_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("terminal", String(64), nullable=True),
    Column("checked_out_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("renewals", Integer, nullable=False, server_default="0"),
    Column("returned_at", DateTime(timezone=True), nullable=True),
    Column("return_library_id", PK, ForeignKey("libraries.id"), nullable=True),
    Index(
        "uq_loans_open_item",
        "item_id",
        unique=True,
        sqlite_where=text("returned_at IS NULL"),
        postgresql_where=text("returned_at IS NULL"),
    ),
    Index("ix_loans_patron", "patron_id"),
    # A patron's open loans (limits, patron information) without reading their whole history.
    Index(
        "ix_loans_open_patron",
        "patron_id",
        sqlite_where=text("returned_at IS NULL"),
        postgresql_where=text("returned_at IS NULL"),
    ),
)

transits = Table(
    "transits",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("item_id", PK, ForeignKey("items.id"), nullable=False),
    Column("from_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("to_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("reason", String(24), nullable=False),
    Column("hold_id", PK, nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Column("last_scan_library_id", PK, ForeignKey("libraries.id"), nullable=True),
    Column("last_scan_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(
        "reason IN ('return-home', 'hold', 'return-to-issuing', 'distribution', "
        "'rotation', 'manual')",
        name="reason",
    ),
    Index(
        "uq_transits_open_item",
        "item_id",
        unique=True,
        sqlite_where=text("received_at IS NULL AND cancelled_at IS NULL"),
        postgresql_where=text("received_at IS NULL AND cancelled_at IS NULL"),
    ),
)

holds = Table(
    "holds",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("bib_id", PK, ForeignKey("bibs.id"), nullable=False),
    Column("item_id", PK, ForeignKey("items.id"), nullable=True),
    Column("patron_id", PK, ForeignKey("patrons.id"), nullable=False),
    Column("pickup_library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("status", String(16), nullable=False, server_default="waiting"),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("filled_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(
        "status IN ('waiting', 'in-transit', 'on-shelf', 'filled', 'cancelled', 'expired')",
        name="status",
    ),
    Index("ix_holds_bib_status", "bib_id", "status"),
    Index("ix_holds_item", "item_id"),
    Index("ix_holds_patron_status", "patron_id", "status"),
)

events = Table(
    "events",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("type", String(32), nullable=False),
    Column("library_id", PK, nullable=True),
    Column("library_code", String(16), nullable=True),
    Column("item_id", PK, nullable=True),
    Column("patron_id", PK, nullable=True),
    Column("item_home_code", String(16), nullable=True),
    Column("patron_home_code", String(16), nullable=True),
    Column("terminal", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_events_type_at", "type", "at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("adapter", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
)

terminals = Table(
    "terminals",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("allowed", Text, nullable=False, server_default=""),  # comma-separated CIDRs; empty = any
    Column("encoding", String(16), nullable=False, server_default="utf-8"),
    Column("terminator", String(4), nullable=False, server_default="CR"),
    Column("mobile", Boolean, nullable=False, server_default=text("false")),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("status IN ('active', 'disabled')", name="status"),
    CheckConstraint("terminator IN ('CR', 'CRLF')", name="terminator"),
)

# Circulation rules. A rule applies to (library, item type); "*" means any. Lookup order:
# (library, type), (library, *), (central, type), (central, *), (*, type), (*, *), then the
# built-in defaults — a NULL column inherits from the next rule in that order.
circ_policies = Table(
    "circ_policies",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("library", String(16), nullable=False),
    Column("item_type", String(32), nullable=False),
    Column("loan_days", Integer, nullable=True),
    Column("renewals_max", Integer, nullable=True),
    Column("renewal_days", Integer, nullable=True),
    Column("max_loans", Integer, nullable=True),
    Column("max_overdues", Integer, nullable=True),
    Column("max_fines_cents", Integer, nullable=True),
    Column("fine_per_day_cents", Integer, nullable=True),
    Column("hold_shelf_days", Integer, nullable=True),
    Column("return_policy", String(24), nullable=True),
    Column("float_group", String(32), nullable=True),
    Column("double_scan_seconds", Integer, nullable=True),
    UniqueConstraint("library", "item_type", name="uq_circ_policies_library_item_type"),
    CheckConstraint(
        "return_policy IS NULL OR return_policy IN ('return-home', 'float', 'return-to-issuing')",
        name="return_policy",
    ),
)

holidays = Table(
    "holidays",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("library", String(16), nullable=False),  # a library code, or "*" for the whole cluster
    Column("day", Date, nullable=False),
    Column("name", String(100), nullable=True),
    UniqueConstraint("library", "day", name="uq_holidays_library_day"),
)

fees = Table(
    "fees",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("patron_id", PK, ForeignKey("patrons.id"), nullable=False),
    Column("item_id", PK, ForeignKey("items.id"), nullable=True),
    Column("loan_id", PK, ForeignKey("loans.id"), nullable=True),
    Column("library_id", PK, ForeignKey("libraries.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("paid_cents", Integer, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False, server_default="CNY"),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("kind IN ('overdue', 'lost', 'damage', 'card', 'other')", name="kind"),
    CheckConstraint("status IN ('open', 'paid', 'waived')", name="status"),
    CheckConstraint("amount_cents >= 0 AND paid_cents >= 0 AND paid_cents <= amount_cents", name="amounts"),
    # One overdue fine per loan, so a replayed checkin never charges twice.
    Index(
        "uq_fees_overdue_loan",
        "loan_id",
        unique=True,
        sqlite_where=text("kind = 'overdue'"),
        postgresql_where=text("kind = 'overdue'"),
    ),
    Index("ix_fees_patron_status", "patron_id", "status"),
)

# --------------------------------------------------------------------------- catalogue (0003)

# Every ISBN-13 / ISSN of a catalogue record, for dedup and for ISBN/ISSN search. ``kind`` is
# "isbn" or "issn" for valid codes (match keys), "weak" for cancelled/invalid ones (010$z, 020$z:
# searchable, never a match alone).
bib_isbns = Table(
    "bib_isbns",
    metadata,
    Column("bib_id", PK, ForeignKey("bibs.id", ondelete="CASCADE"), primary_key=True),
    Column("isbn", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),
    CheckConstraint("kind IN ('isbn', 'issn', 'weak')", name="kind"),
    Index("ix_bib_isbns_isbn", "isbn"),
)

#: Database objects the migrations create by hand and ``metadata`` does not describe: the SQLite
#: FTS5 table over ``bibs`` (and the shadow tables SQLite makes for it), and the PostgreSQL
#: pg_trgm GIN indexes. Autogenerate and schema comparisons must skip them (:func:`include_name`).
HAND_MADE_TABLES = ("bib_fts",)
HAND_MADE_INDEX_PREFIX = "ix_bibs_trgm_"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: False for the hand-made catalogue search objects."""
    if name is None:
        return True
    if type_ == "table":
        return not any(name == t or name.startswith(t + "_") for t in HAND_MADE_TABLES)
    if type_ == "index":
        return not name.startswith(HAND_MADE_INDEX_PREFIX)
    return True

# --------------------------------------------------------------------------- copy cataloguing (0004)

# External catalogue sources (Z39.50 targets …) that cataloguers copy records from. ``kind``
# names the source plugin (``z3950`` is built in); ``syntax`` is the record syntax asked for
# (``unimarc`` for CNMARC, ``usmarc`` for MARC21); ``record_encoding`` the charset the records
# arrive in ("auto" to detect), ``term_encoding`` the charset query terms are sent in. The
# password has to be sent to the target, so it is kept as given; listings never show it.
z3950_targets = Table(
    "z3950_targets",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("kind", String(32), nullable=False, server_default="z3950"),
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("database", String(255), nullable=False),
    Column("syntax", String(16), nullable=False),
    Column("record_encoding", String(16), nullable=False, server_default="auto"),
    Column("term_encoding", String(16), nullable=False, server_default="utf-8"),
    Column("negotiate", Boolean, nullable=False, server_default=text("true")),
    Column("username", String(255), nullable=True),
    Column("password", String(255), nullable=True),
    Column("timeout_ms", Integer, nullable=False, server_default="15000"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
    CheckConstraint("timeout_ms > 0", name="timeout"),
)
