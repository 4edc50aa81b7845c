"""A small, fully known data set for the operator reports and privacy tools.

Hotel "riga" (id returned) with two guests:
* ANNA (37120000001): a stay that ended long ago; old messages (400 days back); one alert
  answered by staff after 30 minutes; an outbox alert to staff quoting her.
* BORIS (37120000002): a current stay; messages today (one negative with an alert that
  nobody answered), one opt-out today.
Plus trigger fires (enqueued, deferred, skipped), unprocessed notifications, open and
failed outbox rows, and a dead letter mentioning ANNA's number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert

from hotelbot.hotel_spec import validate_hotels
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import get_hotel, upsert_hotel
from hotelbot.storage.models import DeadLetter, Notification, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message
from hotelbot.storage.models_stays import Stay
from hotelbot.storage.models_triggers import Trigger, TriggerFire

ANNA = "37120000001"
BORIS = "37120000002"
ANNA_TEXT = "Anna-secret-text: the shower is broken"
BORIS_TEXT = "Boris-secret-text: no hot water again"


@dataclass
class Seeded:
    hotel_id: int
    now: datetime


async def add_hotel(db: Database, slug: str = "riga", **extra: object) -> int:
    entry = {
        "slug": slug,
        "name": "Riga",
        "instance_id": "1101000001",
        "api_token": "tok-riga",
        "api_url": "http://127.0.0.1:9",
        "timezone": "Europe/Riga",
        **extra,
    }
    async with db.write() as conn:
        for spec in validate_hotels([entry], "test"):
            await upsert_hotel(conn, spec)
        record = await get_hotel(conn, slug)
    assert record is not None
    return record.id


def _body(chat: str, text: str) -> str:
    return json.dumps(
        {
            "typeWebhook": "incomingMessageReceived",
            "senderData": {"chatId": chat, "senderName": "Guest"},
            "messageData": {"textMessageData": {"textMessage": text}},
        }
    )


async def seed(db: Database, now: datetime) -> Seeded:
    hotel_id = await add_hotel(db)
    old = now - timedelta(days=400)
    anna, boris = f"{ANNA}@c.us", f"{BORIS}@c.us"
    ts = {"created_at": now, "updated_at": now}
    async with db.write() as conn:
        await conn.execute(
            insert(Guest),
            [
                {
                    "hotel_id": hotel_id,
                    "chat_id": anna,
                    "name": "Anna",
                    "phone": ANNA,
                    "opted_out": False,
                    "opted_out_at": None,
                    "created_at": old,
                    "updated_at": old,
                },
                {
                    "hotel_id": hotel_id,
                    "chat_id": boris,
                    "name": "Boris",
                    "phone": BORIS,
                    "opted_out": True,
                    "opted_out_at": now,
                    **ts,
                },
            ],
        )
        conv = {}
        for chat in (anna, boris):
            result = await conn.execute(
                insert(Conversation)
                .values(hotel_id=hotel_id, chat_id=chat, **ts)
                .returning(Conversation.id)
            )
            conv[chat] = result.scalar_one()

        async def message(chat: str, mid: str, when: datetime, **values: object) -> int:
            result = await conn.execute(
                insert(Message)
                .values(
                    hotel_id=hotel_id,
                    conversation_id=conv[chat],
                    chat_id=chat,
                    id_message=mid,
                    kind="text",
                    type_message="textMessage",
                    sent_at=when,
                    created_at=when,
                    updated_at=when,
                    **values,
                )
                .returning(Message.id)
            )
            return int(result.scalar_one())

        a1 = await message(
            anna,
            "A1",
            old,
            direction="in",
            text=ANNA_TEXT,
            sender_name="Anna",
            sentiment="negative",
            requires_attention=True,
        )
        await message(
            anna,
            "A2",
            old + timedelta(minutes=30),
            direction="out",
            from_staff=True,
            text="We are sending someone",
        )
        b1 = await message(
            boris,
            "B1",
            now - timedelta(minutes=5),
            direction="in",
            text=BORIS_TEXT,
            sentiment="negative",
            sender_name="Boris",
        )
        await message(
            boris,
            "B2",
            now - timedelta(minutes=4),
            direction="in",
            text="thanks",
            sentiment="positive",
        )
        await message(
            boris, "B3", now - timedelta(minutes=3), direction="out", from_api=True, text="Welcome!"
        )
        outbox_ids = []
        for key, chat, text, state, when in (
            ("alert:a1", "staff@g.us", f"Guest +{ANNA}: {ANNA_TEXT}", "sent", old),
            ("alert:b1", "staff@g.us", f"Guest +{BORIS}: {BORIS_TEXT}", "pending", now),
            ("welcome:b", boris, "Welcome!", "sent", now),
            ("manual:a", anna, "Old reply to Anna", "failed", old),
        ):
            result = await conn.execute(
                insert(OutboxMessage)
                .values(
                    hotel_id=hotel_id,
                    idempotency_key=key,
                    kind=key.split(":")[0],
                    chat_id=chat,
                    text=text,
                    state=state,
                    available_at=when,
                    created_at=when,
                    updated_at=when,
                )
                .returning(OutboxMessage.id)
            )
            outbox_ids.append(int(result.scalar_one()))
        alert = {"hotel_id": hotel_id, "kind": "alert", "reason": "complaint", "state": "queued"}
        await conn.execute(
            insert(Alert),
            [
                {
                    **alert,
                    "message_id": a1,
                    "conversation_id": conv[anna],
                    "outbox_id": outbox_ids[0],
                    "created_at": old,
                },
                {
                    **alert,
                    "message_id": b1,
                    "conversation_id": conv[boris],
                    "outbox_id": outbox_ids[1],
                    "created_at": now,
                },
            ],
        )
        stays = {}
        for chat, name, check_in, check_out in (
            (anna, "Anna A.", old.date() - timedelta(days=2), old.date() + timedelta(days=1)),
            (boris, "Boris B.", now.date() - timedelta(days=1), now.date() + timedelta(days=2)),
        ):
            result = await conn.execute(
                insert(Stay)
                .values(
                    hotel_id=hotel_id,
                    chat_id=chat,
                    guest_name=name,
                    room="12",
                    check_in=check_in,
                    check_out=check_out,
                    **ts,
                )
                .returning(Stay.id)
            )
            stays[chat] = int(result.scalar_one())
        trigger = await conn.execute(
            insert(Trigger)
            .values(hotel_id=hotel_id, name="welcome", spec="{}", template="Hi", grace_s=3600, **ts)
            .returning(Trigger.id)
        )
        trigger_id = int(trigger.scalar_one())
        await conn.execute(
            insert(TriggerFire),
            [
                {
                    "hotel_id": hotel_id,
                    "trigger_id": trigger_id,
                    "stay_id": stays[boris],
                    "scheduled_for": now - timedelta(hours=h),
                    "decided_at": now,
                    "outcome": outcome,
                    "trigger_version": 1,
                }
                for h, outcome in (
                    (1, "enqueued"),
                    (2, "deferred:quiet_hours"),
                    (3, "skipped:opted_out"),
                    (4, "skipped:opted_out"),
                )
            ],
        )
        note = {"hotel_id": hotel_id, "type_webhook": "incomingMessageReceived"}
        await conn.execute(
            insert(Notification),
            [
                {
                    **note,
                    "receipt_id": 1,
                    "dedupe_key": "n1",
                    "chat_id": anna,
                    "id_message": "A1",
                    "body": _body(anna, ANNA_TEXT),
                    "received_at": old,
                    "processed_at": old,
                },
                {
                    **note,
                    "receipt_id": 2,
                    "dedupe_key": "n2",
                    "chat_id": boris,
                    "id_message": "B1",
                    "body": _body(boris, BORIS_TEXT),
                    "received_at": now,
                    "processed_at": None,
                },
                {
                    **note,
                    "receipt_id": 3,
                    "dedupe_key": "n3",
                    "chat_id": boris,
                    "id_message": "B2",
                    "body": _body(boris, "thanks"),
                    "received_at": now,
                    "processed_at": None,
                },
            ],
        )
        await conn.execute(
            insert(DeadLetter).values(
                hotel_id=hotel_id,
                receipt_id=9,
                fingerprint="f",
                raw=f"garbage {ANNA}@c.us",
                error="bad",
                received_at=old,
            )
        )
    return Seeded(hotel_id, now)
