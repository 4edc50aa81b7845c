"""A throw-away PostgreSQL database for one benchmark subject: created before, dropped after.

The server is the machine's (`HOTELBOT_TEST_PG_URL`, default the tests' 127.0.0.1:5432, db
`test`, trust auth); the bench never writes into that database itself, only creates and drops
its own `hb_bench_<random>` beside it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def admin_url() -> str:
    return os.environ.get("HOTELBOT_TEST_PG_URL", DEFAULT_PG_URL)


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(_dsn(admin_url())), timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database() -> str:
    """A new empty database; returns its SQLAlchemy URL (postgresql+asyncpg://...)."""
    name = f"hb_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    if name and name.startswith("hb_bench_"):
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _leases_by_owner(url: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        rows: list[Any] = await conn.fetch(
            "SELECT owner, count(*) AS n FROM hotel_leases "
            "WHERE owner IS NOT NULL AND expires_at > now() GROUP BY owner"
        )
    finally:
        await conn.close()
    return {str(row["owner"]): int(row["n"]) for row in rows}


def leases_by_owner(url: str) -> dict[str, int]:
    """Live hotel leases per daemon name."""
    return asyncio.run(_leases_by_owner(url))
