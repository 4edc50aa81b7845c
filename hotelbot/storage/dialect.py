"""The dialect's INSERT, for `ON CONFLICT DO NOTHING / DO UPDATE` on SQLite and PostgreSQL.

Idempotent writes here rest on unique keys and ON CONFLICT, never on select-then-insert; the
two dialects spell the statement with different classes, chosen in this one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

Upsert = sqlite.Insert | postgresql.Insert


def insert_for(on: AsyncConnection | str, table: Any) -> Upsert:
    """`INSERT INTO table` of the connection's dialect (or of a dialect name, "sqlite" or
    "postgresql"), with its `on_conflict_do_nothing` / `on_conflict_do_update` and
    `excluded`. Pure: builds a statement, runs nothing."""
    name = on if isinstance(on, str) else on.dialect.name
    return sqlite.insert(table) if name == "sqlite" else postgresql.insert(table)
