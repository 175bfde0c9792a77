"""Alembic environment: migrations run on the connection that ``liaison.db.upgrade_schema`` opens."""

from __future__ import annotations

from alembic import context

from liaison.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
