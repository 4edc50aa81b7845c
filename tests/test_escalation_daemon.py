"""Escalation in the running daemon, over real HTTP to the fake Green API: exactly once
across restarts (SQLite and PostgreSQL) and with two daemons on one PostgreSQL; a reminder
in the staff chat; an acknowledged alert is not escalated. The decisions step by step:
tests/test_escalation.py."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.conftest import create_pg_database, drop_pg_database, require_postgres
from tests.helpers import add_hotels, count, fast_settings, running_daemon, wait_for

TOKEN = "tok"
STAFF = "120363000000000088@g.us"
MANAGER = "37129990000@c.us"
# 6 s: long enough for a reaction to land first, short enough for a test.
ESCALATE_AFTER_MIN = 0.1


def chat(n: int) -> str:
    return f"3712000{n:04d}@c.us"


def sent_to(inst: FakeInstance, chat_id: str) -> list[str]:
    return [s.message for s in inst.sent if s.chat_id == chat_id]


async def test_escalated_once_across_restarts_unless_acknowledged(
    db: Database, db_url: str
) -> None:
    instance = "1101000001"
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(instance, TOKEN)
        await add_hotels(
            db,
            fake.url,
            [(instance, TOKEN)],
            staff_chat_id=STAFF,
            escalation_chat_id=MANAGER,
            escalate_after_min=ESCALATE_AFTER_MIN,
        )
        inst.push(
            shapes.incoming_text(instance, chat(1), "The shower is broken", sender_name="Anna")
        )
        inst.push(
            shapes.incoming_text(instance, chat(2), "The heating is broken", sender_name="Boris")
        )
        settings = fast_settings(db_url)
        async with running_daemon(settings):

            async def alerted() -> bool:
                return len(sent_to(inst, STAFF)) == 2

            await wait_for(alerted, timeout_s=30)
            (boris,) = [s for s in inst.sent if "Boris" in s.message]
            inst.push(
                shapes.incoming_reaction(
                    instance, STAFF, "👍", stanza_id=boris.id_message, sender="37120009999@c.us"
                )
            )

            async def acknowledged() -> bool:
                return await count(db, Alert, Alert.acknowledged_via == "reaction") == 1

            await wait_for(acknowledged, timeout_s=10)
        # A restart, then the escalation falls due and is sent.
        async with running_daemon(settings):

            async def escalated() -> bool:
                return len(sent_to(inst, MANAGER)) >= 1 and len(sent_to(inst, STAFF)) >= 3

            await wait_for(escalated, timeout_s=40)
            await asyncio.sleep(6)  # at least one more periodic scan
        async with running_daemon(settings):  # and another restart
            await asyncio.sleep(6)
    (escalation,) = sent_to(inst, MANAGER)
    assert "Anna" in escalation and "#1" in escalation
    staff = sent_to(inst, STAFF)
    assert len(staff) == 3 and staff[2].startswith("⏰ Reminder, alert #1 is still open")
    # the reminder is a WhatsApp reply to Anna's alert: staff see which one is open
    anna, reminder = [s for s in inst.sent if s.chat_id == STAFF and "Anna" in s.message]
    assert reminder.quoted_message_id == anna.id_message is not None
    assert not any("Boris" in m for m in [*staff[2:], escalation])
    assert await count(db, OutboxMessage, OutboxMessage.kind == "escalation") == 1


@pytest.fixture
def pg_available() -> None:
    require_postgres()  # runs asyncio.run(): must be a sync fixture


@pytest.fixture
async def pg_db(pg_available: None) -> AsyncIterator[tuple[Database, str]]:
    """A migrated PostgreSQL database: several daemons share one only on PostgreSQL."""
    url = await create_pg_database()
    db = Database.open(url)
    try:
        await upgrade(db)
        yield db, url
    finally:
        await db.dispose()
        await drop_pg_database(url)


@pytest.mark.postgres
async def test_two_daemons_on_postgres_escalate_each_alert_once(
    pg_db: tuple[Database, str],
) -> None:
    db, db_url = pg_db
    instances = ["1101000001", "1101000002"]
    async with FakeGreenApi() as fake:
        insts = [fake.add_instance(i, TOKEN) for i in instances]
        await add_hotels(
            db,
            fake.url,
            [(i, TOKEN) for i in instances],
            staff_chat_id=STAFF,
            escalation_chat_id=MANAGER,
            escalate_after_min=ESCALATE_AFTER_MIN,
        )
        for n, (instance, inst) in enumerate(zip(instances, insts, strict=True), start=1):
            inst.push(
                shapes.incoming_text(
                    instance, chat(n), "The shower is broken", sender_name=f"Guest{n}"
                )
            )
        async with contextlib.AsyncExitStack() as stack:
            for name in ("daemon-a", "daemon-b"):
                settings = fast_settings(db_url, daemon={"name": name}, leases={"ttl_s": 6})
                await stack.enter_async_context(running_daemon(settings))

            async def escalated() -> bool:
                return all(len(sent_to(inst, MANAGER)) >= 1 for inst in insts)

            await wait_for(escalated, timeout_s=45)
            await asyncio.sleep(6)  # more scans by both daemons
    for n, inst in enumerate(insts, start=1):
        (escalation,) = sent_to(inst, MANAGER)
        assert f"Guest{n}" in escalation
        assert len(sent_to(inst, STAFF)) == 2  # the alert and one reminder
    assert await count(db, OutboxMessage, OutboxMessage.kind == "escalation") == 2
