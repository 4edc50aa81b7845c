"""Guest signals and a STOP flood in the running daemon, over real HTTP to the fake Green API,
on SQLite and PostgreSQL: what reaches the staff chat is exactly what the hotel's settings
say, once; a flood of STOP from one number is confirmed once and does not hold alerts back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotelbot.daemon.processor import Processor
from hotelbot.daemon.sender import OutboxSender
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.transport import HttpxTransport
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import get_hotel
from hotelbot.storage.models import Notification, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Guest
from tests import shapes
from tests.helpers import add_hotels, count, fast_settings, running_daemon, wait_for
from tests.processor_helpers import STAFF_CHAT as PROCESSOR_STAFF_CHAT
from tests.processor_helpers import FakeAnalyser, ingest
from tests.processor_helpers import make_hotel as make_processor_hotel
from tests.scheduling_helpers import make_stay

INSTANCE = "1101000001"
TOKEN = "tok"
STAFF = "37129999999@c.us"


def chat(n: int) -> str:
    return f"3712000{n:04d}@c.us"


async def hotel_with_stays(
    db: Database, fake_url: str, rooms: dict[int, str], **settings: Any
) -> int:
    """The hotel (pointing at the fake) and a current stay for guest n in room rooms[n]."""
    await add_hotels(db, fake_url, [(INSTANCE, TOKEN)], staff_chat_id=STAFF, **settings)
    async with db.read() as conn:
        hotel = await get_hotel(conn, f"h{INSTANCE}")
    assert hotel is not None
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Riga")).date()
    for n, room in rooms.items():
        await make_stay(
            db,
            hotel.id,
            phone=f"+{chat(n).removesuffix('@c.us')}",
            name=f"Stay{n}",
            room=room,
            check_in=today - timedelta(days=1),
            check_out=today + timedelta(days=2),
        )
    return hotel.id


async def settled(db: Database, inst: FakeInstance, pushed: int) -> bool:
    """Every pushed notification stored and processed, nothing left to send, and the queue
    empty (the echoes of what was sent come back through it too)."""
    stored = await count(db, Notification)
    unprocessed = await count(db, Notification, Notification.processed_at.is_(None))
    waiting = await count(
        db, OutboxMessage, OutboxMessage.state.in_(["pending", "sending", "unknown"])
    )
    return stored >= pushed and unprocessed == 0 and waiting == 0 and inst.pending_count == 0


def sent_to(inst: FakeInstance, chat_id: str) -> list[str]:
    return [s.message for s in inst.sent if s.chat_id == chat_id]


async def test_each_signal_reaches_staff_as_the_hotel_set_it(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        await hotel_with_stays(
            db,
            fake.url,
            {1: "101", 2: "102", 3: "103", 4: "104", 5: "105"},
            signal_photo="alert",
            signal_video="digest",
            signal_sticker="ignore",
        )
        bodies: list[dict[str, Any]] = []
        bodies += shapes.missed_call(INSTANCE, chat(1), "hungUp")  # alert (default)
        bodies.append(shapes.incoming_audio(INSTANCE, chat(2), sender_name="Boris"))  # alert
        bodies += [  # alert, once within the cooldown
            shapes.incoming_image(INSTANCE, chat(3), sender_name="Cleo") for _ in range(5)
        ]
        bodies.append(shapes.incoming_video(INSTANCE, chat(4), sender_name="Dan"))  # digest
        bodies.append(shapes.incoming_sticker(INSTANCE, chat(4), sender_name="Dan"))  # ignore
        bodies.append(
            shapes.incoming_text(INSTANCE, chat(4), "The shower is broken", sender_name="Dan")
        )
        bodies += shapes.missed_call(INSTANCE, chat(5), "pickUp")  # answered: nothing
        bodies += shapes.missed_call(INSTANCE, chat(9), "declined")  # no stay: nothing
        bodies.append(shapes.incoming_audio(INSTANCE, chat(9)))  # no stay: nothing
        inst.push_many(bodies)
        async with running_daemon(fast_settings(db_url)):
            await wait_for(lambda: settled(db, inst, len(bodies)), timeout_s=30)
        # Without each alert's last line, its reference (tests/test_acknowledgement.py).
        staff = [m.rsplit("\n", 1)[0] for m in sent_to(inst, STAFF)]
        assert sorted(staff) == sorted(
            [
                "📞 Stay1 (+37120000001), room 101, called on WhatsApp and nobody answered: "
                "call back",
                "🎤 Boris (+37120000002), room 102, sent a voice note: open WhatsApp to listen",
                "📷 Cleo (+37120000003), room 103, sent a photo without a caption: open "
                "WhatsApp to see it",
                next(m for m in staff if m.startswith("⚠️ Guest needs attention: Dan")),
            ]
        )
        complaint = next(m for m in staff if m.startswith("⚠️"))
        assert "room 104" in complaint
        assert complaint.endswith("\nAlso from this guest (no alert of their own): 1 video")
        assert len(inst.sent) == len(staff)  # nothing to any guest
        async with db.read() as conn:
            signals = sorted(str(s) for (s,) in await conn.execute(select(Alert.signal)))
        assert signals == ["None", "call", "photo", "voice_note"]


async def test_a_stop_flood_is_confirmed_once_and_does_not_hold_an_alert(
    db: Database, db_url: str
) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        await hotel_with_stays(db, fake.url, {1: "101", 2: "102"})
        flood = [shapes.incoming_text(INSTANCE, chat(1), "STOP") for _ in range(1000)]
        complaint = shapes.incoming_text(INSTANCE, chat(2), "The shower is broken")
        # The complaint arrives in the middle of the flood, as another guest would write.
        inst.push_many([*flood[:500], complaint, *flood[500:]])
        async with running_daemon(fast_settings(db_url)):
            await wait_for(lambda: settled(db, inst, 1001), timeout_s=90)
        assert len(sent_to(inst, STAFF)) == 1
        assert sent_to(inst, STAFF)[0].startswith("⚠️ Guest needs attention: Guest (+37120000002)")
        confirmations = sent_to(inst, chat(1))
        assert len(confirmations) == 1 and "no longer receive automated" in confirmations[0]
        assert len(inst.sent) == 2  # nobody spammed
        async with db.read() as conn:
            opted = await conn.execute(select(Guest.opted_out).where(Guest.chat_id == chat(1)))
            assert opted.scalar() is True
            rows = list(
                await conn.execute(
                    select(OutboxMessage.kind, OutboxMessage.lane, OutboxMessage.attempts)
                )
            )
        # One row per message ever decided: the flood left one confirmation in the outbox,
        # so the alert lane had nothing ahead of it; the alert went on its first attempt.
        assert sorted(rows) == [("alert", "alert", 1), ("optout", "requested", 1)]


async def test_after_a_stop_flood_the_sender_serves_the_alert_first(db: Database) -> None:
    """Step by step (processor, then one sender step over HTTP): 1,000 STOP from one guest
    and a complaint from another leave two outbox rows, and the first message Green API
    receives is the alert."""
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        hotel_id = await make_processor_hotel(
            db, instance_id=INSTANCE, api_token=TOKEN, api_url=fake.url
        )
        flood = [shapes.incoming_text(INSTANCE, chat(1), "STOP") for _ in range(1000)]
        complaint = shapes.incoming_text(INSTANCE, chat(2), "The shower is broken")
        await ingest(db, hotel_id, [*flood[:10], complaint, *flood[10:]])
        await Processor(db, FakeAnalyser()).run_once()
        transport = HttpxTransport(connect_timeout_s=2.0)
        try:
            client = GreenApiClient(
                InstanceCredentials(fake.url, INSTANCE, TOKEN), transport, request_timeout_s=5.0
            )
            sender = OutboxSender(db, lambda _: client)
            report = await sender.run_once(hotel_id)
        finally:
            await transport.aclose()
        assert (report["sent:alert"], report["sent:requested"]) == (1, 1)
        assert [s.chat_id for s in inst.sent] == [PROCESSOR_STAFF_CHAT, chat(1)]
