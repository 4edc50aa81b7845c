"""`hotelbot status` answers from one query: through SQLAlchemy on either database, and
without it (a SQLite file through the standard library, PostgreSQL through asyncpg alone);
the paths give the same report, and the schema check still speaks in its usual words."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update

from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.status_writer import write_status
from hotelbot.errors import SchemaError
from hotelbot.storage.db import Database
from hotelbot.storage.models import DeadLetter
from hotelbot.storage.models_leases import HotelLease
from hotelbot.storage.models_llm import LlmUsageRow
from hotelbot.storage.models_messaging import Message
from hotelbot.storage.schema import upgrade
from hotelbot.storage.status_report import (
    StatusReport,
    _numbered,
    _pg_connect_args,
    checked_status_report,
    read_status_directly,
    sqlite_file_of,
)
from hotelbot.storage.types import utcnow
from tests.ops_seed import add_hotel, seed


async def _rich(db: Database) -> tuple[int, int]:
    """The ops seed (hotel "riga") plus a second hotel "other" with a status row written by a
    daemon, a live and an expired lease, LLM use today and yesterday, dead letters inside and
    outside the last 24 h, and guest messages in several languages."""
    now = utcnow()
    riga = (await seed(db, now - timedelta(minutes=10))).hotel_id
    other = await add_hotel(db, slug="other", instance_id="1101000002", default_language="lv")
    ok = HotelHealth(riga, "riga", polling=True)
    ok.mark_ok()
    broken = HotelHealth(other, "other", polling=True)
    broken.mark_failure("token rejected by Green API", fatal_reason="token rejected")
    await write_status(db, "host-a:42", [ok, broken])
    async with db.write() as conn:
        await conn.execute(
            insert(HotelLease),
            [
                {
                    "hotel_id": riga,
                    "owner": "host-b:7",
                    "epoch": 1,
                    "expires_at": now + timedelta(minutes=1),
                },
                {
                    "hotel_id": other,
                    "owner": "host-c:1",
                    "epoch": 1,
                    "expires_at": now - timedelta(minutes=1),
                },
            ],
        )
        await conn.execute(
            insert(LlmUsageRow),
            [
                {
                    "hotel_id": other,
                    "day": now.date().isoformat(),
                    "calls": 5,
                    "limited": 2,
                    "over_budget_logged": True,
                },
                {
                    "hotel_id": riga,
                    "day": (now - timedelta(days=1)).date().isoformat(),
                    "calls": 7,
                    "limited": 0,
                    "over_budget_logged": True,
                },
            ],
        )
        await conn.execute(
            insert(DeadLetter),
            [
                {
                    "hotel_id": other,
                    "receipt_id": 10 + i,
                    "fingerprint": f"g{i}",
                    "raw": "x",
                    "error": "bad",
                    "received_at": now - timedelta(hours=hours),
                }
                for i, hours in enumerate((2, 25))
            ],
        )
        b1 = (
            await conn.execute(
                select(Message.conversation_id, Message.chat_id).where(Message.id_message == "B1")
            )
        ).one()
        for i, language in enumerate(("pt", "pt", '"q":{x}')):
            when = now - timedelta(hours=i + 1)
            await conn.execute(
                insert(Message).values(
                    hotel_id=riga,
                    conversation_id=b1.conversation_id,
                    chat_id=b1.chat_id,
                    id_message=f"P{i}",
                    kind="text",
                    type_message="textMessage",
                    direction="in",
                    text="olá",
                    language=language,
                    analyser="rules",
                    sent_at=when,
                    created_at=when,
                    updated_at=when,
                )
            )
        await conn.execute(
            update(Message)
            .where(Message.id_message == "B2")
            .values(language="en", analyser="rules")
        )
    return riga, other


async def _direct(
    url: str, now: datetime, *, pgbouncer: bool = False, languages_since: datetime | None = None
) -> StatusReport | None:
    """`read_status_directly` as the CLI calls it: outside any event loop (asyncpg's path
    runs its own)."""
    call = partial(
        read_status_directly,
        url,
        busy_timeout_ms=1000,
        pgbouncer=pgbouncer,
        now=now,
        stale_after_s=60,
        languages_since=languages_since,
    )
    return await asyncio.to_thread(call)


async def test_both_paths_give_the_same_report(db: Database, db_url: str, backend: str) -> None:
    riga, other = await _rich(db)
    now = utcnow()
    since = now - timedelta(days=14)
    report = await checked_status_report(db, now=now, stale_after_s=60, languages_since=since)
    assert [row.slug for row in report.hotels] == ["other", "riga"]
    by_slug = {row.slug: row for row in report.hotels}
    r, o = by_slug["riga"], by_slug["other"]
    assert (r.hotel_id, o.hotel_id) == (riga, other)
    assert (r.polling, r.stale, r.lease_owner, r.daemon) == (True, False, "host-b:7", "host-a:42")
    assert (r.unprocessed, r.outbox_open, r.outbox_failed) == (2, 1, 1)
    assert (r.open_alerts_24h, r.dead_letters_24h, r.llm_calls_today) == (1, 0, 0)
    assert r.last_alert_at is not None and r.last_alert_at.utcoffset() == timedelta(0)
    assert r.last_ok_at is not None and abs(r.last_ok_at - now) < timedelta(minutes=1)
    assert (o.healthy, o.unhealthy_reason, o.lease_owner) == (False, "token rejected", None)
    assert (o.dead_letters_24h, o.llm_calls_today, o.llm_over_budget_today) == (1, 5, True)
    assert report.languages == {riga: Counter({"pt": 2, "en": 1, '"q":{x}': 1})}
    without = await checked_status_report(db, now=now, stale_after_s=60)
    assert without.hotels == report.hotels and without.languages == {}
    assert await _direct(db_url, now, languages_since=since) == report
    # Through PgBouncer SQLAlchemy's path answers (it sets the session bounds per transaction).
    assert await _direct(db_url, now, pgbouncer=True) == (without if backend == "sqlite" else None)


async def test_an_empty_database_answers_with_no_hotels(db: Database, db_url: str) -> None:
    now = utcnow()
    report = await checked_status_report(db, now=now, stale_after_s=60)
    assert (report.hotels, report.languages) == ([], {})
    assert await _direct(db_url, now) == report


async def test_a_revision_other_than_the_head_leaves_the_answer_to_sqlalchemy(
    db: Database, db_url: str, backend: str
) -> None:
    now = utcnow()
    assert await _direct(db_url, now) is not None
    async with db.write() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0012_older'"))
    assert await _direct(db_url, now) is None
    with pytest.raises(SchemaError, match="schema is at 0012_older"):
        await checked_status_report(db, now=now, stale_after_s=60)


def test_only_plain_sqlite_file_urls_take_the_standard_library_path() -> None:
    assert sqlite_file_of("sqlite+aiosqlite:////var/lib/hb.sqlite3") == Path("/var/lib/hb.sqlite3")
    assert sqlite_file_of("sqlite:///relative.db") == Path("relative.db")
    for url in (
        "postgresql+asyncpg://u@h/db",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:////var/lib/hb.sqlite3?mode=ro",
        "sqlite+aiosqlite:////var/lib/h%20b.sqlite3",
    ):
        assert sqlite_file_of(url) is None, url


def test_only_plain_postgresql_urls_take_the_asyncpg_path() -> None:
    assert _pg_connect_args("postgresql+asyncpg://us%40er:p%3Aw%40d@db.example:5433/hb%5F1") == {
        "host": "db.example",
        "port": 5433,
        "user": "us@er",
        "password": "p:w@d",
        "database": "hb_1",
    }
    assert _pg_connect_args("postgresql+asyncpg://hb@localhost/hotelbot") == {
        "host": "localhost",
        "user": "hb",
        "database": "hotelbot",
    }
    for url in (
        "sqlite+aiosqlite:////var/lib/hb.sqlite3",
        "postgresql+asyncpg://hb@localhost/hotelbot?ssl=require",
        "postgresql+asyncpg://hb@/hotelbot?host=/run/postgresql",
        "postgresql+asyncpg://hb@a:5432,b:5432/hotelbot",
        "postgresql+asyncpg://hb@localhost/",
        "postgresql+asyncpg://hb@localhost:port/hotelbot",
    ):
        assert _pg_connect_args(url) is None, url


def test_named_parameters_become_numbered_ones() -> None:
    assert _numbered("a >= :since AND b = :day AND c >= :since") == (
        "a >= $1 AND b = $2 AND c >= $1",
        ["since", "day"],
    )


_PROBE = """
import sys
sys.argv = ["hotelbot", "status"]
from hotelbot.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "aiosqlite", "alembic"))
print("HEAVY", *heavy, file=sys.stderr)
"""


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(HOME=str(tmp_path / "home"), HOTELBOT_DATABASE_URL=url)
    return env


def _migrated_sqlite(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "status.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"

    async def prepare() -> None:
        db = Database.open(url)
        try:
            await upgrade(db)
            await _rich(db)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    return path, url


def test_status_on_sqlite_imports_no_sqlalchemy(tmp_path: Path) -> None:
    _, url = _migrated_sqlite(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=_env(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "yes (host-b:7)" in next(x for x in done.stdout.splitlines() if x.startswith("riga"))
    heavy = [x for x in done.stderr.splitlines() if x.startswith("HEAVY")]
    assert heavy == ["HEAVY"], done.stderr


def test_a_schema_that_is_not_the_head_is_named_as_before(tmp_path: Path) -> None:
    path, url = _migrated_sqlite(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '0012_older'")
    conn.commit()
    conn.close()
    done = subprocess.run(
        [sys.executable, "-m", "hotelbot", "status"],
        env=_env(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78, done.stderr
    assert "the database schema is at 0012_older, this hotelbot needs" in done.stderr
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE alembic_version")
    conn.commit()
    conn.close()
    done = subprocess.run(
        [sys.executable, "-m", "hotelbot", "status"],
        env=_env(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78, done.stderr
    assert "the database has no hotelbot schema yet" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
