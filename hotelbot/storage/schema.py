"""Schema version management: `hotelbot db upgrade` and the daemon's start-up check.

Choice: the daemon never migrates by itself. On an out-of-date (or missing) schema it refuses
to start and says which command to run. With several daemons on one PostgreSQL, or a rolling
upgrade, an implicit migration from whichever process starts first would be a surprise.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from hotelbot.errors import SchemaError
from hotelbot.storage.db import Database

# The newest migration this code knows. tests/test_schema.py checks it equals Alembic's head.
SCHEMA_HEAD = "0005_alerts"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_upgrade(connection: Connection, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, target)


async def upgrade(db: Database, target: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations up to `target`. Idempotent. Returns (before, after) revisions."""
    before = await current_revision(db)
    async with db.engine.begin() as conn:
        await conn.run_sync(_alembic_upgrade, target)
    return before, await current_revision(db)


async def current_revision(db: Database) -> str | None:
    """The revision recorded in the database, or None when it was never initialised."""
    async with db.read() as conn:
        try:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return None
        row = result.first()
    return None if row is None else str(row[0])


async def check_schema(db: Database) -> None:
    """Raise SchemaError (with the command to run) unless the schema is exactly SCHEMA_HEAD."""
    current = await current_revision(db)
    if current == SCHEMA_HEAD:
        return
    if current is None:
        raise SchemaError("the database has no hotelbot schema yet: run `hotelbot db upgrade`")
    raise SchemaError(
        f"the database schema is at {current}, this hotelbot needs {SCHEMA_HEAD}: "
        "run `hotelbot db upgrade` (if the database is newer, upgrade hotelbot instead)"
    )
