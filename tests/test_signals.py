"""Guest signals without words (missed calls, voice notes, photos, videos, documents,
locations, stickers) through the real ingest and processor, on SQLite and PostgreSQL: each
kind alerts, is counted in the next alert (digest) or is ignored as the hotel says; only
guests with a current stay raise alerts; the cooldown holds for signals as for complaints.
Over HTTP with the daemon: tests/test_signals_daemon.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from hotelbot.daemon.processor import Processor
from hotelbot.domain.events import IncomingCall, IncomingMessage, MessageKind
from hotelbot.domain.signal_texts import digest_line, signal_alert_text
from hotelbot.domain.signals import SignalKind, is_missed, missed_call_message, signal_of
from hotelbot.storage.db import Database
from hotelbot.storage.models import Hotel, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Message
from hotelbot.storage.reports import stats_report
from hotelbot.storage.stays import room_of_current_stay
from tests import shapes
from tests.processor_helpers import INSTANCE, STAFF_CHAT, FakeAnalyser, FakeClock, ingest
from tests.processor_helpers import make_hotel as make_processor_hotel
from tests.scheduling_helpers import make_stay

# Real time: the daemon names the room of the stay current *now* (storage.stays).
TS = int(time.time())
NOW = datetime.fromtimestamp(TS, UTC)
TODAY = NOW.astimezone(ZoneInfo("Europe/Riga")).date()

# One guest per kind, each with a current stay in their own room.
GUESTS: dict[SignalKind, tuple[str, str, str]] = {
    kind: (f"+371 2000 01{i:02d}", f"Guest{i}", f"1{i:02d}") for i, kind in enumerate(SignalKind)
}


def chat_of(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit()) + "@c.us"


def signal_bodies(
    kind: SignalKind, chat: str, n: int, ts: int = TS, name: str = "Guest"
) -> list[dict[str, Any]]:
    """Real-shaped notifications of one signal of `kind` (two for a call, which carries no
    name: WhatsApp gives calls none)."""
    kw: dict[str, Any] = {"id_message": f"{kind.value}-{chat}-{n}", "timestamp": ts}
    if kind is SignalKind.CALL:
        return shapes.missed_call(INSTANCE, chat, "hungUp", **kw)
    kw["sender_name"] = name
    builders = {
        SignalKind.VOICE_NOTE: shapes.incoming_audio,
        SignalKind.PHOTO: shapes.incoming_image,
        SignalKind.VIDEO: shapes.incoming_video,
        SignalKind.DOCUMENT: shapes.incoming_document,
        SignalKind.LOCATION: shapes.incoming_location,
        SignalKind.STICKER: shapes.incoming_sticker,
    }
    return [builders[kind](INSTANCE, chat, **kw)]


async def make_hotel(db: Database, mode: str | None = None, **overrides: Any) -> int:
    settings = {kind.column: mode for kind in SignalKind} if mode else {}
    return await make_processor_hotel(db, timezone="Europe/Riga", **settings, **overrides)


async def stay(db: Database, hotel_id: int, phone: str, name: str, room: str) -> None:
    await make_stay(
        db,
        hotel_id,
        phone=phone,
        name=name,
        room=room,
        check_in=TODAY - timedelta(days=1),
        check_out=TODAY + timedelta(days=3),
    )


async def run(db: Database, clock: FakeClock | None = None) -> None:
    processor = Processor(db, FakeAnalyser(), clock=clock or FakeClock(NOW))
    processor.set_room_lookup(room_of_current_stay)  # as the daemon does
    await processor.run_once()


async def alerts(db: Database) -> list[tuple[str, str | None, str]]:
    """(guest chat, alert.signal, text sent to the staff chat) per alert, by alert id."""
    async with db.read() as conn:
        query = (
            select(Message.chat_id, Alert.signal, OutboxMessage.text)
            .join(Message, Message.id == Alert.message_id)
            .join(OutboxMessage, OutboxMessage.id == Alert.outbox_id)
            .order_by(Alert.id)
        )
        got = [(r[0], r[1], r[2]) for r in await conn.execute(query)]
    # Every alert ends with its reference line (domain.alerts.reference_line): checked here,
    # then left out so the tests below compare what is about the signal.
    for _, _, text in got:
        assert " #" in text.rsplit("\n", 1)[1]
    return [(chat, signal, text.rsplit("\n", 1)[0]) for chat, signal, text in got]


async def test_each_kind_set_to_alert_tells_staff_who_and_where(db: Database) -> None:
    hotel_id = await make_hotel(db, "alert")
    bodies: list[dict[str, Any]] = []
    for kind, (phone, name, room) in GUESTS.items():
        await stay(db, hotel_id, phone, name, room)
        bodies += signal_bodies(kind, chat_of(phone), 1, name=name)
    answered, captioned = "+371 2000 0201", "+371 2000 0202"
    for phone in (answered, captioned):
        await stay(db, hotel_id, phone, "Calm", "201")
    bodies += shapes.missed_call(INSTANCE, chat_of(answered), "pickUp", timestamp=TS)
    bodies.append(shapes.incoming_image(INSTANCE, chat_of(captioned), caption="Nice view"))
    await ingest(db, hotel_id, bodies)
    await run(db)
    got = await alerts(db)
    assert [(chat, signal) for chat, signal, _ in got] == [
        (chat_of(phone), kind.value) for kind, (phone, _, _) in GUESTS.items()
    ]
    texts = {signal: text for _, signal, text in got}
    assert texts["voice_note"] == (
        "🎤 Guest1 (+37120000101), room 101, sent a voice note: open WhatsApp to listen"
    )
    # A call carries no name: a caller who never wrote is named as booked.
    assert texts["call"] == (
        "📞 Guest0 (+37120000100), room 100, called on WhatsApp and nobody answered: call back"
    )
    for kind, (phone, name, room) in GUESTS.items():
        who = f"{name} (+{chat_of(phone).removesuffix('@c.us')})"
        assert texts[kind.value].split(" ", 1)[1].startswith(f"{who}, room {room}, ")
    async with db.read() as conn:
        lanes = set((await conn.execute(select(OutboxMessage.lane, OutboxMessage.chat_id))).all())
    assert lanes == {("alert", STAFF_CHAT)}  # nothing to any guest


async def test_digest_kinds_wait_for_the_next_alert_about_that_guest(db: Database) -> None:
    hotel_id = await make_hotel(db, "digest")
    phone, other = "+371 2000 0001", "+371 2000 0002"
    await stay(db, hotel_id, phone, "Anna", "101")
    await stay(db, hotel_id, other, "Boris", "102")
    guest = chat_of(phone)
    bodies = [b for kind in SignalKind for b in signal_bodies(kind, guest, 1, TS + 1)]
    bodies += signal_bodies(SignalKind.PHOTO, guest, 2, TS + 2)
    bodies += signal_bodies(SignalKind.PHOTO, chat_of(other), 1, TS + 2)  # another guest's
    await ingest(db, hotel_id, bodies)
    await run(db)
    assert await alerts(db) == []
    complaint = shapes.incoming_text(
        INSTANCE, guest, "The shower is broken", id_message="C1", timestamp=TS + 60
    )
    await ingest(db, hotel_id, [complaint])
    await run(db)
    ((chat, signal, text),) = await alerts(db)
    assert (chat, signal) == (guest, None)
    assert text.endswith(
        "\nAlso from this guest (no alert of their own): 1 missed call, 1 voice note, "
        "2 photos, 1 video, 1 document, 1 shared location, 1 sticker"
    )


async def test_staff_read_signals_in_their_language(db: Database) -> None:
    hotel_id = await make_hotel(db, signal_photo="digest")
    async with db.write() as conn:
        await conn.execute(update(Hotel).values(staff_language="ru"))
    phone = "+371 2000 0001"
    await stay(db, hotel_id, phone, "Анна", "101")
    bodies = signal_bodies(SignalKind.PHOTO, chat_of(phone), 1, TS, "Анна")
    bodies += signal_bodies(SignalKind.VOICE_NOTE, chat_of(phone), 1, TS + 1, "Анна")
    await ingest(db, hotel_id, bodies)
    await run(db)
    ((_, signal, text),) = await alerts(db)
    assert signal == "voice_note"
    assert text == (
        "🎤 Анна (+37120000001), номер 101: голосовое сообщение, откройте WhatsApp, "
        "чтобы прослушать\nТакже от этого гостя (без отдельного оповещения): фото — 1"
    )


async def test_ignored_kinds_alert_nobody_and_are_not_counted(db: Database) -> None:
    hotel_id = await make_hotel(db, "ignore")
    phone = "+371 2000 0001"
    await stay(db, hotel_id, phone, "Anna", "101")
    guest = chat_of(phone)
    bodies = [b for kind in SignalKind for b in signal_bodies(kind, guest, 1, TS)]
    bodies.append(shapes.incoming_text(INSTANCE, guest, "so dirty", id_message="C", timestamp=TS))
    await ingest(db, hotel_id, bodies)
    await run(db)
    ((_, signal, text),) = await alerts(db)
    assert signal is None and "Also from this guest" not in text
    async with db.read() as conn:
        query = select(Message.kind, Message.reason).where(Message.chat_id == guest)
        stored = {str(kind): reason for kind, reason in await conn.execute(query)}
    # Still part of the conversation, each recorded as what it was.
    assert stored["call"] == "missed call" and stored["audio"] == "voice note"
    assert stored["sticker"] == "sticker" and stored["location"] == "location"


async def test_nobody_is_alerted_about_someone_without_a_current_stay(db: Database) -> None:
    hotel_id = await make_hotel(db, "alert")
    stranger, left_long_ago = "+371 2000 0001", "+371 2000 0002"
    await make_stay(
        db,
        hotel_id,
        phone=left_long_ago,
        name="Past",
        room="7",
        check_in=TODAY - timedelta(days=40),
        check_out=TODAY - timedelta(days=30),
    )
    bodies = []
    for phone in (stranger, left_long_ago):
        bodies += signal_bodies(SignalKind.VOICE_NOTE, chat_of(phone), 1)
        bodies += signal_bodies(SignalKind.CALL, chat_of(phone), 1)
    await ingest(db, hotel_id, bodies)
    await run(db)
    assert await alerts(db) == []
    async with db.read() as conn:
        rows = (await conn.execute(select(Message.kind, Message.requires_attention))).all()
    assert sorted(rows) == [("audio", False), ("audio", False), ("call", False), ("call", False)]
    # The same signal from a guest who is staying does alert.
    await stay(db, hotel_id, stranger, "Now here", "12")
    await ingest(db, hotel_id, signal_bodies(SignalKind.VOICE_NOTE, chat_of(stranger), 2))
    await run(db)
    assert [signal for _, signal, _ in await alerts(db)] == ["voice_note"]


async def test_five_photos_make_one_alert_then_one_follow_up(db: Database) -> None:
    hotel_id = await make_hotel(db, signal_photo="alert")
    phone = "+371 2000 0001"
    await stay(db, hotel_id, phone, "Anna", "101")
    photos = (signal_bodies(SignalKind.PHOTO, chat_of(phone), n, name="Anna") for n in range(5))
    bodies = [b for photo in photos for b in photo]
    await ingest(db, hotel_id, bodies)
    clock = FakeClock(NOW)
    await run(db, clock)
    assert [signal for _, signal, _ in await alerts(db)] == ["photo"]
    clock.advance(minutes=31)  # the cooldown (30 min) is over: the counted four follow up
    await run(db, clock)
    got = await alerts(db)
    assert len(got) == 2
    assert got[1][2].startswith("⚠️ +4 more messages from this guest: Anna (+37120000001)")
    assert "Latest reason: photo" in got[1][2]


async def test_a_caller_who_wrote_before_keeps_their_whatsapp_name(db: Database) -> None:
    hotel_id = await make_hotel(db, alert_cooldown_min=0)
    phone = "+371 2000 0001"
    await stay(db, hotel_id, phone, "Anna Berzina (booking)", "101")
    hello = shapes.incoming_text(INSTANCE, chat_of(phone), "hi", sender_name="Anna B", timestamp=TS)
    await ingest(db, hotel_id, [hello, *signal_bodies(SignalKind.CALL, chat_of(phone), 1)])
    await run(db)
    ((_, signal, text),) = await alerts(db)
    assert signal == "call" and text.startswith("📞 Anna B (+37120000001), room 101, called")


async def test_a_shared_location_shows_its_place_name(db: Database) -> None:
    hotel_id = await make_hotel(db, signal_location="alert")
    phone = "+371 2000 0001"
    await stay(db, hotel_id, phone, "Anna", "101")
    where = shapes.incoming_location(
        INSTANCE,
        chat_of(phone),
        name_location="Riga Central Station",
        sender_name="Anna",
        timestamp=TS,
    )
    await ingest(db, hotel_id, [where])
    await run(db)
    ((_, signal, text),) = await alerts(db)
    assert signal == "location"
    assert text == (
        "📍 Anna (+37120000001), room 101, shared a location: open WhatsApp to see where\n"
        "“Riga Central Station”"
    )


async def test_a_redelivered_missed_call_alerts_once(db: Database) -> None:
    hotel_id = await make_hotel(db, alert_cooldown_min=0)
    phone = "+371 2000 0001"
    await stay(db, hotel_id, phone, "Anna", "101")
    call = signal_bodies(SignalKind.CALL, chat_of(phone), 1)
    await ingest(db, hotel_id, call)
    await run(db)
    await ingest(db, hotel_id, [{**call[1], "timestamp": TS + 1}])  # same call, resent
    await run(db)
    assert [signal for _, signal, _ in await alerts(db)] == ["call"]


async def test_the_stats_report_counts_signals_and_which_alerted(db: Database) -> None:
    hotel_id = await make_hotel(db)
    phone = "+371 2000 0001"
    await stay(db, hotel_id, phone, "Anna", "101")
    bodies = signal_bodies(SignalKind.VOICE_NOTE, chat_of(phone), 1)
    bodies += signal_bodies(SignalKind.PHOTO, chat_of(phone), 1)
    bodies += signal_bodies(SignalKind.PHOTO, chat_of(phone), 2)
    bodies += signal_bodies(SignalKind.STICKER, chat_of(phone), 1)
    bodies.append(shapes.incoming_text(INSTANCE, chat_of(phone), "hi", timestamp=TS))
    await ingest(db, hotel_id, bodies)
    await run(db)
    async with db.read() as conn:
        sections = await stats_report(conn, hotel_id=hotel_id, days=1, now=NOW)
    (section,) = [s for s in sections if s.title.startswith("Guest signals")]
    assert section.rows == (
        ("voice_note", 1, 1, 0),
        ("photo", 2, 0, 2),
        ("sticker", 1, 0, 1),
        ("total", 4, 1, 3),
    )


# -- the pure rules ------------------------------------------------------------------------


def _message(kind: MessageKind, text: str | None = None) -> IncomingMessage:
    return IncomingMessage("M", "37120000001@c.us", None, None, None, kind, "x", text)


@pytest.mark.parametrize(
    ("kind", "text", "signal"),
    [
        (MessageKind.AUDIO, None, SignalKind.VOICE_NOTE),
        (MessageKind.IMAGE, None, SignalKind.PHOTO),
        (MessageKind.IMAGE, "  ", SignalKind.PHOTO),
        (MessageKind.IMAGE, "mould on the wall", None),  # the caption is read instead
        (MessageKind.VIDEO, None, SignalKind.VIDEO),
        (MessageKind.DOCUMENT, None, SignalKind.DOCUMENT),
        (MessageKind.DOCUMENT, "my passport", None),
        (MessageKind.LOCATION, "Central Station", SignalKind.LOCATION),  # a place, not words
        (MessageKind.STICKER, None, SignalKind.STICKER),
        (MessageKind.CALL, None, SignalKind.CALL),
        (MessageKind.TEXT, "hello", None),
        (MessageKind.REACTION, "👍", None),
        (MessageKind.CONTACT, None, None),
    ],
)
def test_which_messages_are_signals(
    kind: MessageKind, text: str | None, signal: SignalKind | None
) -> None:
    assert signal_of(_message(kind, text)) is signal


@pytest.mark.parametrize(
    ("status", "missed"),
    [
        ("offer", False),
        ("pickUp", False),
        ("hungUp", True),
        ("hangUp", True),
        ("declined", True),
        ("missed", True),
        ("somethingNew", True),
    ],
)
def test_a_call_nobody_picked_up_is_missed(status: str, missed: bool) -> None:
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    call = IncomingCall("37120000001@c.us", status, "CALL1", at)
    assert is_missed(call) is missed
    entry = missed_call_message(call, at)
    assert (entry is not None) is missed
    if entry is not None:
        assert (entry.kind, entry.id_message, entry.chat_id, entry.text) == (
            MessageKind.CALL,
            "CALL1",
            "37120000001@c.us",
            None,
        )


def test_an_unknown_staff_language_reads_english_and_counts_read_well() -> None:
    digest = {SignalKind.PHOTO: 1, SignalKind.CALL: 2}
    assert digest_line(digest, "de") == (
        "Also from this guest (no alert of their own): 2 missed calls, 1 photo"
    )
    assert digest_line(digest, "ru-RU") == (
        "Также от этого гостя (без отдельного оповещения): пропущенные звонки — 2, фото — 1"
    )
    assert digest_line({}, "en") == ""
    text = signal_alert_text(SignalKind.LOCATION, "Anna, room 1", None, earlier=2)
    assert text == (
        "📍 Anna, room 1, shared a location: open WhatsApp to see where\n"
        "(+2 more since the last alert about this guest)"
    )
    # A place name is the guest's own input: one sanitised line, no forged second line.
    text = signal_alert_text(SignalKind.LOCATION, "Anna", "en", detail="Old Town\nFIRE \x1b[31m")
    assert text.splitlines()[1] == "“Old Town FIRE [31m”"
