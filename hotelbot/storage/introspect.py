"""Which tables and columns the connected database has, for code that must cope with a
schema from an older or newer hotelbot (operator reports, privacy tools), and the probes
`hotelbot doctor` runs against the server (`ping`, `database_clock`).

Such code names tables with lightweight `sqlalchemy.table()` constructs built from what is
present, so a feature whose tables are not there yet reads as "not available" rather than
failing.
"""

from __future__ import annotations

from sqlalchemy import Connection, Date, TableClause, column, inspect, table, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from hotelbot.storage.types import UtcDateTime

Schema = dict[str, frozenset[str]]

# hotelbot's naming rules give each column's type away: "*_at" are aware UTC timestamps,
# check_in/check_out are calendar dates. Typed columns make binds and results convert the
# same way as through the mapped models (SQLite stores naive UTC text).
_DATES = frozenset({"check_in", "check_out"})


def _type_of(name: str) -> TypeEngine[object] | None:
    if name.endswith("_at"):
        return UtcDateTime()  # type: ignore[return-value]
    if name in _DATES:
        return Date()  # type: ignore[return-value]
    return None


def _read(sync_conn: Connection) -> Schema:
    inspector = inspect(sync_conn)
    return {
        name: frozenset(col["name"] for col in inspector.get_columns(name))
        for name in inspector.get_table_names()
    }


async def read_schema(conn: AsyncConnection) -> Schema:
    """Table name -> column names, as the database has them now. Read-only."""
    return await conn.run_sync(_read)


def has(schema: Schema, name: str, *columns: str) -> bool:
    present = schema.get(name)
    return present is not None and set(columns) <= present


def view(schema: Schema, name: str, *columns: str) -> TableClause | None:
    """A `table()` with the given columns, or None unless the table has all of them."""
    if not has(schema, name, *columns):
        return None
    return lightweight(name, *columns)


def lightweight(name: str, *columns: str) -> TableClause:
    """A `table()` with the given columns, typed by the naming rules above, for a table every
    supported schema has (hotels, notifications, outbox...). Read-only commands use it
    instead of the mapped models, whose construction costs more than their whole query."""
    return table(name, *(column(c, _type_of(c)) for c in columns))


async def ping(conn: AsyncConnection) -> None:
    """One trivial round trip (`SELECT 1`): the database answers on `conn`. Read-only.
    Raises what the driver raises when it does not (unchanged, for the caller to show)."""
    await conn.execute(text("SELECT 1"))


async def database_clock(conn: AsyncConnection) -> float:
    """The PostgreSQL server's own clock now (`clock_timestamp()`, not the transaction's
    start), as seconds since the epoch, to compare with this host's. Read-only. PostgreSQL
    only: raises ValueError on SQLite, which has no clock but the host's."""
    if conn.dialect.name != "postgresql":
        raise ValueError(f"no database clock on {conn.dialect.name}: the host's is the only one")
    query = text("SELECT extract(epoch from clock_timestamp())")
    return float((await conn.execute(query)).scalar_one())
