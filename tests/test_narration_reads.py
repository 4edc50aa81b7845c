"""The storage reads the narrated demo (hotelbot/demo.py) shows what was stored with: every
notification after an id, the analysed guest messages, the alerts' acknowledgement and
escalation, the outbox rows held back, the guests writing another language than their
booking's. Read-only, of every hotel; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from hotelbot.domain.guest_language import GuestLanguage, LanguageSource
from hotelbot.domain.outbox import OutboxKind
from hotelbot.fakes import shapes
from hotelbot.storage.alerts import AlertOutcome, alert_outcomes
from hotelbot.storage.db import Database
from hotelbot.storage.guest_language import (
    LanguageSwitch,
    guests_writing_another_language,
    set_guest_language,
)
from hotelbot.storage.models_messaging import Alert, Message
from hotelbot.storage.notification_state import notifications_after
from hotelbot.storage.outbox import HeldMessage, cancel_pending, enqueue, pending_until_after
from hotelbot.storage.recent_messages import AnalysedMessage, analysed_guest_messages
from tests.processor_helpers import ingest
from tests.scheduling_helpers import make_hotel, make_stay

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ANNA, MARK = "37121111111@c.us", "37123333333@c.us"


async def _message(db: Database, hotel_id: int, n: int, **values: Any) -> int:
    row = {
        "hotel_id": hotel_id,
        "chat_id": ANNA,
        "id_message": f"M{n}",
        "direction": "in",
        "kind": "text",
        "type_message": "textMessage",
        "text": f"text {n}",
        "sent_at": T0,
        "created_at": T0,
        "updated_at": T0,
        **values,
    }
    async with db.write() as conn:
        result = await conn.execute(insert(Message).values(**row).returning(Message.id))
        return int(result.scalar_one())


async def test_notifications_after_an_id_oldest_first_of_every_hotel(db: Database) -> None:
    riga = await make_hotel(db, "riga")
    tallinn = await make_hotel(db, "tallinn", instance_id="3301000003")
    await ingest(db, riga, [shapes.incoming_text("1101000001", ANNA, "Hello", sender_name="A")])
    await ingest(db, tallinn, [shapes.incoming_text("3301000003", MARK, "Hi", sender_name="M")])
    async with db.read() as conn:
        every = await notifications_after(conn, after_id=0)
        later = await notifications_after(conn, after_id=every[0].id)
        none = await notifications_after(conn, after_id=every[-1].id)
    assert [(n.hotel_id, n.type_webhook) for n in every] == [
        (riga, "incomingMessageReceived"),
        (tallinn, "incomingMessageReceived"),
    ]
    assert every[0].id < every[1].id
    body = json.loads(every[0].body)
    assert body["messageData"]["textMessageData"]["textMessage"] == "Hello"
    assert later == every[1:] and none == []


async def test_analysed_guest_messages_only_guests_with_a_sentiment_by_id(db: Database) -> None:
    riga = await make_hotel(db, "riga")
    tallinn = await make_hotel(db, "tallinn", instance_id="3301000003")
    first = await _message(
        db, riga, 1, sentiment="negative", requires_attention=True, analyser="rules", reason="ac"
    )
    await _message(db, riga, 2)  # not analysed yet
    await _message(db, riga, 3, direction="out", sentiment="neutral")  # not from the guest
    second = await _message(db, tallinn, 4, sentiment="positive", analyser="llm", reason="ok")
    async with db.read() as conn:
        found = await analysed_guest_messages(conn)
    assert found == [
        AnalysedMessage(first, riga, "negative", True, "rules", "ac"),
        AnalysedMessage(second, tallinn, "positive", False, "llm", "ok"),
    ]


async def test_alert_outcomes_acknowledged_escalated_or_open(db: Database) -> None:
    riga = await make_hotel(db, "riga")
    rows: list[dict[str, Any]] = [
        {"kind": "alert", "state": "queued", "reference": 1, "acknowledged_via": "quote"},
        {"kind": "alert", "state": "queued", "reference": 2, "escalated_at": T0},
        {"kind": "followup", "state": "unsent"},
    ]
    ids = []
    for n, row in enumerate(rows, start=1):  # one alert per message
        values = {"hotel_id": riga, "message_id": await _message(db, riga, n), **row}
        async with db.write() as conn:
            query = insert(Alert).values(reason="r", created_at=T0, **values)
            ids.append(int((await conn.execute(query.returning(Alert.id))).scalar_one()))
    async with db.read() as conn:
        found = await alert_outcomes(conn)
    assert found == [
        AlertOutcome(ids[0], riga, 1, "quote", None),
        AlertOutcome(ids[1], riga, 2, None, T0),
        AlertOutcome(ids[2], riga, None, None, None),
    ]


async def test_pending_until_after_only_pending_rows_due_later(db: Database) -> None:
    riga = await make_hotel(db, "riga")
    tallinn = await make_hotel(db, "tallinn", instance_id="3301000003")
    later = T0 + timedelta(hours=9)
    async with db.write() as conn:

        async def add(hotel_id: int, key: str, available_at: datetime) -> int:
            outbox_id = await enqueue(
                conn,
                hotel_id=hotel_id,
                idempotency_key=key,
                kind=OutboxKind.TRIGGER,
                chat_id=ANNA,
                text="Welcome",
                available_at=available_at,
            )
            assert outbox_id is not None
            return outbox_id

        await add(riga, "due", T0)  # due within the window: not held
        held = await add(tallinn, "held", later)
        cancelled = await add(riga, "cancelled", later)
        await cancel_pending(conn, [cancelled], reason="test")
    async with db.read() as conn:
        found = await pending_until_after(conn, after=T0 + timedelta(seconds=30))
        none = await pending_until_after(conn, after=later)
    assert found == [HeldMessage(held, tallinn, "trigger", ANNA, later)]
    assert none == []  # strictly after


async def test_guests_writing_another_language_than_their_stay(db: Database) -> None:
    riga = await make_hotel(db, "riga")
    detected = GuestLanguage("de", LanguageSource.DETECTED, None)
    stays = {
        "+371 2000 0001": ("Klaus", "en", detected),  # shown
        "+371 2000 0002": ("Anna", "de", detected),  # same language
        "+371 2000 0003": ("Olga", "en", GuestLanguage("de", LanguageSource.OPERATOR, None)),
        "+371 2000 0004": ("Tom", None, detected),  # the stay has no language
        "+371 2000 0005": ("Liis", "en", GuestLanguage("de", None, None)),  # a first guess
    }
    for phone, (name, language, guest) in stays.items():
        await make_stay(
            db,
            riga,
            phone=phone,
            name=name,
            check_in=date(2026, 3, 1),
            check_out=date(2026, 3, 3),
            language=language,
        )
        chat_id = f"{phone.replace('+', '').replace(' ', '')}@c.us"
        async with db.write() as conn:
            await set_guest_language(conn, riga, chat_id, guest, now=T0)
    async with db.read() as conn:
        found = await guests_writing_another_language(conn)
    # set_guest_language creates the guest row without a name (the guest never wrote).
    assert found == [LanguageSwitch(riga, "37120000001@c.us", None, "de", "en")]
