"""The one-hop aiosqlite cursor (storage/sqlite_driver.py) gives what the stock one gives:
rows, rowcount, lastrowid, RETURNING, executemany, errors, and transactions that commit or
roll back as a whole, on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from hotelbot.storage.db import Database
from hotelbot.storage.sqlite_driver import one_hop_module


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        yield db
    finally:
        await db.dispose()


async def test_the_daemon_s_sqlite_engine_uses_the_one_hop_cursor(sqlite_db: Database) -> None:
    module = one_hop_module()
    assert module is not None
    async with sqlite_db.read() as conn:
        raw = await conn.get_raw_connection()
        assert raw.dbapi_connection is not None
        assert type(raw.dbapi_connection.cursor()).__name__ == "OneHopCursor"


async def test_statements_give_rows_counts_ids_and_returning(sqlite_db: Database) -> None:
    async with sqlite_db.write() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        many = await conn.execute(
            text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}, {"n": "d"}]
        )
        assert many.rowcount == 3
        returned = await conn.execute(
            text("UPDATE t SET name = name || '!' WHERE id > 2 RETURNING id, name")
        )
        assert sorted(returned.all()) == [(3, "c!"), (4, "d!")]
        changed = await conn.execute(text("DELETE FROM t WHERE name = 'b'"))
        assert changed.rowcount == 1
    async with sqlite_db.read() as conn:
        rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert rows == [(1, "a"), (3, "c!"), (4, "d!")]
        assert (await conn.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 3


async def test_errors_surface_and_a_failed_transaction_leaves_nothing(
    sqlite_db: Database,
) -> None:
    with pytest.raises(IntegrityError):
        async with sqlite_db.write() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
            await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(OperationalError):
        async with sqlite_db.read() as conn:
            await conn.execute(text("SELECT nope FROM t"))
    async with sqlite_db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    async with sqlite_db.write() as conn:  # the connections are usable after the errors
        await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
    async with sqlite_db.read() as conn:
        assert (await conn.execute(text("SELECT name FROM t"))).scalars().all() == ["x"]
