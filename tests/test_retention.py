"""Retention purge, `guest forget` and `guest export` on a seeded database (both backends)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hotelbot.domain.erasure import ERASED_TEXT
from hotelbot.domain.guest_identity import GuestIdentity, IdentityError, parse_identity
from hotelbot.ops.guest_data import export_guest
from hotelbot.ops.retention import PURGED_BODY, purge_expired
from hotelbot.storage.db import Database
from hotelbot.storage.models import DeadLetter, Notification, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Guest, Message
from hotelbot.storage.models_stays import Stay
from hotelbot.storage.models_triggers import TriggerFire
from tests.helpers import count, forget
from tests.ops_seed import ANNA, ANNA_TEXT, BORIS, BORIS_TEXT, seed

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


async def _all_text(db: Database) -> str:
    """Every stored string column of every table that can hold personal data, joined."""
    parts: list[str] = []
    async with db.read() as conn:
        for query in (
            select(Message.text, Message.sender_name),
            select(Notification.body),
            select(OutboxMessage.text),
            select(DeadLetter.raw),
            select(Guest.name, Guest.phone, Guest.chat_id),
            select(Stay.guest_name, Stay.chat_id),
        ):
            for row in await conn.execute(query):
                parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


async def test_purge_erases_old_personal_data_and_keeps_labels(db: Database) -> None:
    await seed(db, NOW)
    result = await purge_expired(db, retention_days=365, now=NOW)
    text = await _all_text(db)
    assert ANNA_TEXT not in text and "Anna" not in text  # old guest: text and names gone
    assert BORIS_TEXT in text and "Boris" in text  # current guest: kept
    async with db.read() as conn:
        labels = (
            await conn.execute(select(Message.sentiment).where(Message.id_message == "A1"))
        ).scalar_one()
        body = (
            await conn.execute(select(Notification.body).where(Notification.dedupe_key == "n1"))
        ).scalar_one()
    assert labels == "negative"  # statistics survive
    assert body == PURGED_BODY
    assert await count(db, Message) == 5  # rows are kept, only contents go
    assert result.changed["messages.text"] == 2
    assert result.changed["guests.name"] == 1
    # Idempotent: nothing left to change.
    assert (await purge_expired(db, retention_days=365, now=NOW)).total == 0


async def test_a_recent_stay_protects_old_messages(db: Database) -> None:
    await seed(db, NOW)
    # Anna's stay ended 399 days before NOW: with 500 days of retention nothing of hers goes.
    result = await purge_expired(db, retention_days=500, now=NOW)
    assert result.total == 0
    assert ANNA_TEXT in await _all_text(db)


async def test_forget_erases_the_guest_everywhere_and_only_them(db: Database) -> None:
    seeded = await seed(db, NOW)
    result = await forget(db, parse_identity([f"+{BORIS[:3]} {BORIS[3:]}"]))
    text = await _all_text(db)
    assert BORIS not in text and BORIS_TEXT not in text and "Boris" not in text
    assert ANNA_TEXT in text  # the other guest is untouched
    assert await count(db, Message, Message.chat_id == f"{BORIS}@c.us") == 0
    assert await count(db, Alert, Alert.hotel_id == seeded.hotel_id) == 1  # Anna's remains
    assert await count(db, TriggerFire) == 0  # Boris's stay had all the fires
    async with db.read() as conn:
        staff = (
            await conn.execute(
                select(OutboxMessage.text).where(OutboxMessage.idempotency_key == "alert:b1")
            )
        ).scalar_one()
    assert staff == ERASED_TEXT  # the staff alert that quoted him
    assert result.changed["messages"] == 3 and result.changed["notifications"] == 2
    assert (await forget(db, _who(BORIS))).total == 0  # idempotent


async def test_forget_scoped_to_another_hotel_keeps_the_guest(db: Database) -> None:
    await seed(db, NOW)
    from tests.ops_seed import add_hotel

    await add_hotel(db, "other", instance_id="1101000002")
    assert (await forget(db, _who(ANNA), hotel_slug="other")).total == 0
    assert ANNA_TEXT in await _all_text(db)
    with pytest.raises(IdentityError, match="no hotel"):
        await forget(db, _who(ANNA), hotel_slug="nope")


async def test_export_holds_everything_about_the_guest(db: Database) -> None:
    await seed(db, NOW)
    data = await export_guest(db, _who(ANNA))
    dumped = json.dumps(data)  # must be JSON-ready
    assert ANNA_TEXT in dumped and BORIS_TEXT not in dumped
    tables = data["tables"]
    assert [m["id_message"] for m in tables["messages"]] == ["A1", "A2"]
    assert tables["guests"][0]["name"] == "Anna"
    assert tables["stays"][0]["guest_name"] == "Anna A."
    assert tables["notifications"][0]["body"]["senderData"]["chatId"] == f"{ANNA}@c.us"
    assert len(tables["alerts"]) == 1 and tables["outbox"][0]["text"] == "Old reply to Anna"


def _who(phone: str) -> GuestIdentity:
    return parse_identity([phone])


async def test_the_daemon_purges_on_start_and_keeps_current_data(db: Database, db_url: str) -> None:
    from hotelbot.storage.types import utcnow
    from tests.helpers import fast_settings, running_daemon, wait_for

    await seed(db, utcnow())

    async def anna_gone() -> bool:
        return ANNA_TEXT not in await _all_text(db)

    settings = fast_settings(db_url, privacy={"retention_days": 365})
    async with running_daemon(settings):
        await wait_for(anna_gone, 10)
    assert BORIS_TEXT in await _all_text(db)
