"""The invariants the database itself enforces, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from ils_bridge.cluster import Cluster
from ils_bridge.store import migrate
from ils_bridge.store.engine import Store
from ils_bridge.store.schema import (
    events,
    identifiers,
    include_name,
    items,
    libraries,
    loans,
    metadata,
    patrons,
    transits,
)

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    assert migrate.current_revision(store) == migrate.head_revision()
    with store.engine.connect() as conn:
        # Hand-written full-text objects (FTS5 tables, trigram indexes) are skipped, as in env.py.
        ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
        assert compare_metadata(ctx, metadata) == []


def test_cli_knows_the_head_revision(store: Store) -> None:
    from ils_bridge.store.version import HEAD, stored_revision

    assert HEAD == migrate.head_revision() == stored_revision(store)


def test_upgrade_twice_is_a_no_op(store: Store) -> None:
    before, after = migrate.upgrade(store)
    assert before == after == migrate.head_revision()


def _ids(cluster3: Cluster) -> tuple[int, int, int]:
    cluster3.add_item("C0000001", library="CEN", title="红楼梦")
    cluster3.add_patron("P0000001", library="CEN", name="张三")
    with cluster3.store.read() as conn:
        item_id = conn.execute(select(items.c.id)).scalar_one()
        patron_id = conn.execute(select(patrons.c.id)).scalar_one()
        lib_id = conn.execute(select(libraries.c.id).where(libraries.c.code == "CEN")).scalar_one()
    return item_id, patron_id, lib_id


def test_identifier_unique_including_tombstones(cluster3: Cluster) -> None:
    _ids(cluster3)
    store = cluster3.store
    with store.write() as conn:
        conn.execute(update(identifiers).where(identifiers.c.value == "C0000001").values(status="TOMBSTONE"))
    with pytest.raises(IntegrityError), store.write() as conn:
        conn.execute(insert(identifiers).values(
            namespace="circ", kind="barcode", value="C0000001", raw="C0000001", entity_type="item",
            entity_id=999, status="ACTIVE", created_at=NOW, updated_at=NOW))


def test_barcode_and_card_share_one_namespace(cluster3: Cluster) -> None:
    _ids(cluster3)
    with pytest.raises(IntegrityError), cluster3.store.write() as conn:
        conn.execute(insert(identifiers).values(
            namespace="circ", kind="card", value="C0000001", raw="C0000001", entity_type="patron",
            entity_id=1, status="ACTIVE", created_at=NOW, updated_at=NOW))


def test_one_open_loan_per_item(cluster3: Cluster) -> None:
    item_id, patron_id, lib_id = _ids(cluster3)
    loan = {"item_id": item_id, "patron_id": patron_id, "checkout_library_id": lib_id,
            "policy_library_id": lib_id, "checked_out_at": NOW, "due_at": NOW + dt.timedelta(days=30)}
    with cluster3.store.write() as conn:
        conn.execute(insert(loans).values(**loan))
    with pytest.raises(IntegrityError), cluster3.store.write() as conn:
        conn.execute(insert(loans).values(**loan))
    with cluster3.store.write() as conn:  # once returned, the item can go out again
        conn.execute(update(loans).values(returned_at=NOW, return_library_id=lib_id))
        conn.execute(insert(loans).values(**loan))


def test_one_open_transit_per_item(cluster3: Cluster) -> None:
    item_id, _patron_id, lib_id = _ids(cluster3)
    with cluster3.store.read() as conn:
        xt = conn.execute(select(libraries.c.id).where(libraries.c.code == "XT")).scalar_one()
    transit = {"item_id": item_id, "from_library_id": xt, "to_library_id": lib_id,
               "reason": "return-home", "sent_at": NOW}
    with cluster3.store.write() as conn:
        conn.execute(insert(transits).values(**transit))
    with pytest.raises(IntegrityError), cluster3.store.write() as conn:
        conn.execute(insert(transits).values(**transit))
    with cluster3.store.write() as conn:
        conn.execute(update(transits).values(cancelled_at=NOW))
        conn.execute(insert(transits).values(**transit))


def test_event_log_is_append_only(cluster3: Cluster) -> None:
    with pytest.raises(DBAPIError, match="append-only"), cluster3.store.write() as conn:
        conn.execute(update(events).values(type="tampered"))
    with pytest.raises(DBAPIError, match="append-only"), cluster3.store.write() as conn:
        conn.execute(delete(events))
    with cluster3.store.read() as conn:
        assert conn.execute(select(events.c.type)).scalars().all()[0] == "library-added"


def test_one_resident_id_per_open_patron(cluster3: Cluster) -> None:
    cluster3.add_patron("P0000001", library="CEN", name="张三", resident_id="11010519491231002X")
    with cluster3.store.read() as conn:
        row = conn.execute(select(patrons)).mappings().one()
    clone = {k: v for k, v in row.items() if k != "id"} | {"card": "P0000002", "card_display": "P0000002"}
    with pytest.raises(IntegrityError), cluster3.store.write() as conn:
        conn.execute(insert(patrons).values(**clone))
    # A closed patron's document no longer blocks a new registration.
    with cluster3.store.write() as conn:
        conn.execute(update(patrons).values(status="closed"))
        conn.execute(insert(patrons).values(**clone))


def test_upgrade_from_the_first_schema_keeps_data(db_url: str) -> None:
    from ils_bridge.store.engine import open_store
    from tests.hub.conftest import make_cluster

    s = open_store(db_url)
    migrate.upgrade(s, "0001")
    cluster = make_cluster(s)
    with s.write() as conn:  # 0001 has no newer columns: insert through the raw tables
        conn.execute(insert(libraries).values(code="CEN", name="总馆", kind="central", created_at=NOW))
    del cluster
    migrate.upgrade(s)
    assert migrate.current_revision(s) == migrate.head_revision()
    with s.read() as conn:
        assert conn.execute(select(libraries.c.code)).scalar_one() == "CEN"
        names = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master" if s.is_sqlite else
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    assert {"uq_loans_open_item", "uq_transits_open_item", "uq_patrons_resident_id_open"} <= names
    s.dispose()
