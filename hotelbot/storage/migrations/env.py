"""Alembic environment: runs on the connection hotelbot hands over (see storage/schema.py)."""

from __future__ import annotations

from alembic import context

from hotelbot.storage.all_models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs table rebuilds
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
