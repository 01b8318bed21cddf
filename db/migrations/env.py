"""Alembic environment: runs on the connection handed over by db.schema (sync side of async)."""

from __future__ import annotations

from alembic import context

from db.models import Base
from db.schema import ours

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=ours,
)
with context.begin_transaction():
    context.run_migrations()
