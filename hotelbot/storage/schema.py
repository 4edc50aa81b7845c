"""Schema version management: `hotelbot db upgrade` and the daemon's start-up check.

Choice: the daemon never migrates by itself. On an out-of-date (or missing) schema it refuses
to start and says which command to run. With several daemons on one PostgreSQL, or a rolling
upgrade, an implicit migration from whichever process starts first would be a surprise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hotelbot.errors import ConfigError, SchemaError

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.exc import DBAPIError

    from hotelbot.storage.db import Database

# SQLAlchemy is imported inside the functions: `hotelbot status` on SQLite reads SCHEMA_HEAD
# from here without SQLAlchemy (storage/status_report.py).

# The newest migration this code knows. tests/test_schema.py checks it equals Alembic's head.
SCHEMA_HEAD = "0013_outbox_quoted"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_upgrade(connection: Connection, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    if connection.dialect.name == "postgresql":
        # Migrations may rewrite big tables: no statement bound (lock waits stay bounded, so
        # a migration cannot queue every daemon's statement behind a lock for long).
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
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


def _no_version_table(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "no such table" in message or "does not exist" in message


async def current_revision(db: Database) -> str | None:
    """The revision recorded in the database, or None when it was never initialised.

    Any other database error (unreadable file, server down) propagates: "cannot read" must
    not be mistaken for "empty"."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    async with db.read() as conn:
        try:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError as exc:
            if _no_version_table(exc):
                return None
            raise
        row = result.first()
    return None if row is None else str(row[0])


async def check_schema(db: Database) -> None:
    """Raise SchemaError (with the command to run) unless the schema is exactly SCHEMA_HEAD.

    A SQLite file that cannot be read raises ConfigError naming it (a deploy problem that a
    restart cannot fix); PostgreSQL connection errors propagate (the server may come back)."""
    from sqlalchemy.exc import DBAPIError

    try:
        current = await current_revision(db)
    except DBAPIError as exc:
        if not db.is_sqlite:
            raise
        detail = " ".join(str(exc.orig).split())[:160]
        raise ConfigError(f"cannot read {db.location}: {detail}") from None
    if current == SCHEMA_HEAD:
        return
    if current is None:
        raise SchemaError(
            f"the database has no hotelbot schema yet ({db.location}): run `hotelbot db upgrade`"
        )
    raise SchemaError(
        f"the database schema is at {current}, this hotelbot needs {SCHEMA_HEAD} "
        f"({db.location}): run `hotelbot db upgrade` (if the database is newer, upgrade "
        "hotelbot instead)"
    )
