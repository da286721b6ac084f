"""Alembic environment: always run with a connection handed in by ``ils_bridge.store.migrate``."""

from __future__ import annotations

from alembic import context

from ils_bridge.store.schema import include_name, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,  # hand-written full-text objects are not in the metadata
)
with context.begin_transaction():
    context.run_migrations()
