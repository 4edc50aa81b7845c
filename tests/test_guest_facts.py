"""Opt-out and staff pause read from the processor's tables (guests, conversations) through
`load_guest_facts`, the function the scheduler and the sender use.

The tables belong to the `understanding` branch; until it is merged the test creates the
columns it needs (checkfirst: after the merge the real migrated tables are used)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    insert,
    text,
    update,
)

from hotelbot.daemon.scheduler import Scheduler
from hotelbot.storage.db import Database
from hotelbot.storage.guest_facts import GuestPolicyFacts, load_guest_facts
from hotelbot.storage.types import UtcDateTime
from tests.scheduling_helpers import make_hotel, make_stay, make_trigger, outbox_rows

_meta = MetaData()
GUESTS = Table(
    "guests",
    _meta,
    Column("id", BigInteger, primary_key=True),
    Column("hotel_id", BigInteger, nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("opted_out", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
CONVERSATIONS = Table(
    "conversations",
    _meta,
    Column("id", BigInteger, primary_key=True),
    Column("hotel_id", BigInteger, nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("handled_by_staff_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
CHAT = "37120000001@c.us"
RIGA_10 = datetime(2026, 6, 2, 7, 1, tzinfo=UTC)  # 10:01 in Riga


async def test_facts_absent_tables_or_rows_mean_no_opt_out(db: Database) -> None:
    async with db.read() as conn:
        assert await load_guest_facts(conn, 1, [CHAT]) == {}


async def test_opt_out_and_resume_through_the_real_repository_function(db: Database) -> None:
    hotel = await make_hotel(db)
    await make_stay(db, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_trigger(db, hotel, "morning", "daily at 10:00")
    now = datetime.now(UTC)
    async with db.write() as conn:
        await conn.run_sync(lambda c: _meta.create_all(c, checkfirst=True))
        await conn.execute(
            insert(GUESTS).values(
                id=1, hotel_id=hotel, chat_id=CHAT, opted_out=True, created_at=now, updated_at=now
            )
        )
        await conn.execute(
            insert(CONVERSATIONS).values(
                id=1,
                hotel_id=hotel,
                chat_id=CHAT,
                handled_by_staff_until=RIGA_10,
                created_at=now,
                updated_at=now,
            )
        )
    async with db.read() as conn:
        facts = await load_guest_facts(conn, hotel, [CHAT, "37199999999@c.us"])
    assert facts == {CHAT: GuestPolicyFacts(opted_out=True, staff_paused_until=RIGA_10)}

    scheduler = Scheduler(db)  # default facts source: the tables above
    assert dict((await scheduler.run_once(RIGA_10)).outcomes) == {"skipped:opted_out": 1}
    async with db.write() as conn:  # the guest sends START
        await conn.execute(update(GUESTS).values(opted_out=False))
    report = await scheduler.run_once(RIGA_10 + timedelta(days=1))
    assert dict(report.outcomes) == {"enqueued": 1}
    assert len(await outbox_rows(db)) == 1
