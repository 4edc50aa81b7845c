"""Processor over real parts: real-shaped bodies -> IngestWriter -> Processor -> tables."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.understand import GuestMessageInfo
from hotelbot.daemon.processor import Processor
from hotelbot.daemon.scheduler import message_hook
from hotelbot.domain.rules import RuleAnalyser
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database
from hotelbot.storage.ingest import IngestWriter
from hotelbot.storage.models import Hotel, Notification, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message
from hotelbot.storage.outbox import enqueue
from tests import shapes
from tests.processor_helpers import (
    INSTANCE,
    STAFF_CHAT,
    FakeAnalyser,
    FakeClock,
    count,
    ingest,
    make_hotel,
)
from tests.scheduling_helpers import make_stay, make_trigger

GUEST = "79001234568@c.us"
GUEST2 = "79001234569@c.us"
GROUP = shapes.EXAMPLE_GROUP_CHAT
TS = 1_763_726_400  # 2025-11-21 12:00 UTC


def text(chat: str, body: str, id_message: str, ts: int = TS, **kw: Any) -> dict[str, Any]:
    return shapes.incoming_text(INSTANCE, chat, body, id_message=id_message, timestamp=ts, **kw)


async def rows(db: Database, *columns: Any, where: Any = None) -> list[Any]:
    async with db.read() as conn:
        query = select(*columns)
        if where is not None:
            query = query.where(where)
        return list(await conn.execute(query.order_by(columns[0])))


async def test_every_notification_type_is_interpreted_and_stored(db: Database) -> None:
    hotel_id = await make_hotel(db)
    s = "ORIG1"
    bodies = [
        text(GUEST, "Hello, is breakfast included?", s, sender_name="Anna"),
        shapes.incoming_extended_text(INSTANCE, GUEST, "see https://x"),
        shapes.incoming_reply(INSTANCE, GUEST, "yes", quoted_id=s),
        shapes.incoming_quoted_legacy(INSTANCE, GUEST, "ok", quoted_id=s),
        shapes.incoming_image(INSTANCE, GUEST, caption="the lamp is broken"),
        shapes.incoming_video(INSTANCE, GUEST),
        shapes.incoming_document(INSTANCE, GUEST),
        shapes.incoming_audio(INSTANCE, GUEST),
        shapes.incoming_sticker(INSTANCE, GUEST),
        shapes.incoming_location(INSTANCE, GUEST),
        shapes.incoming_contact(INSTANCE, GUEST),
        shapes.incoming_contacts_array(INSTANCE, GUEST),
        shapes.incoming_reaction(INSTANCE, GUEST, "👍", stanza_id=s),
        shapes.incoming_poll(INSTANCE, GUEST, "Dinner?", ["7", "8"]),
        shapes.incoming_poll_update(INSTANCE, GUEST, stanza_id=s, name="D", votes={"7": [GUEST]}),
        shapes.incoming_buttons_response(INSTANCE, GUEST, stanza_id=s),
        shapes.incoming_template_button_reply(INSTANCE, GUEST, stanza_id=s),
        shapes.incoming_list_response(INSTANCE, GUEST, stanza_id=s),
        shapes.incoming_interactive_buttons_response(INSTANCE, GUEST, stanza_id=s),
        shapes.incoming_unknown_type(INSTANCE, GUEST),
        shapes.incoming_group_text(INSTANCE, GROUP, GUEST, "dirty pool, angry"),
        shapes.outgoing_message(INSTANCE, GUEST, "We are on it"),
        shapes.outgoing_api_message(INSTANCE, GUEST, "Welcome!"),
        shapes.outgoing_status(INSTANCE, GUEST, "NOPE", "delivered"),
        shapes.state_instance_changed(INSTANCE, "authorized"),
        shapes.status_instance_changed(INSTANCE, "online"),
        shapes.incoming_call(INSTANCE, GUEST, "offer"),
        shapes.quota_exceeded(INSTANCE),
        shapes.device_info(INSTANCE),
        shapes.incoming_block(INSTANCE),
        shapes.unknown_webhook(INSTANCE),
        shapes.incoming_edited(INSTANCE, GUEST, "Is breakfast free?", stanza_id=s),
        shapes.incoming_deleted(INSTANCE, GUEST, stanza_id=s),
    ]
    await ingest(db, hotel_id, bodies)
    analyser = FakeAnalyser()
    processor = Processor(db, analyser)
    assert await processor.run_once() == len(bodies)
    assert await count(db, Notification, Notification.processed_at.is_(None)) == 0
    assert await count(db, Notification, Notification.process_error.is_not(None)) == 0
    assert await processor.run_once() == 0

    stored = await rows(db, Message.kind, Message.direction, Message.chat_id)
    message_bodies = [b for b in bodies if "messageData" in b]
    assert len(stored) == len(message_bodies)
    kinds = {k for k, _, _ in stored}
    assert {
        "text",
        "extended_text",
        "quoted",
        "image",
        "video",
        "document",
        "audio",
        "sticker",
        "location",
        "contact",
        "contacts",
        "reaction",
        "poll",
        "poll_update",
        "buttons_reply",
        "template_button_reply",
        "list_reply",
        "interactive_reply",
        "unknown",
        "edited",
        "deleted",
    } <= kinds
    [original] = await rows(
        db,
        Message.text,
        Message.edited,
        Message.deleted,
        Message.reaction,
        Message.analyser,
        where=Message.id_message == s,
    )
    assert original == ("Is breakfast free?", True, True, "👍", "fake")
    # staff reply from the phone vs our own API message
    out = await rows(
        db, Message.text, Message.from_staff, Message.from_api, where=Message.direction == "out"
    )
    assert sorted(out) == [("We are on it", True, False), ("Welcome!", False, True)]
    # the group is stored but not a guest conversation: not analysed, no guest, no alert
    [group] = await rows(
        db, Conversation.is_group, Conversation.guest_id, where=Conversation.chat_id == GROUP
    )
    assert group == (True, None)
    assert not any("pool" in t for t in analyser.seen)
    assert await count(db, Guest) == 1
    [guest] = await rows(db, Guest.name, Guest.phone, Guest.language, Guest.first_message_at)
    # the latest push name wins ("Anna" first, then the builders' default "Guest")
    assert guest[:3] == ("Guest", "+79001234568", "en") and guest[3] is not None
    # the image caption was judged and alerted; nothing else needed attention
    assert await count(db, Alert) == 1
    [conv] = await rows(
        db,
        Conversation.last_staff_reply_at,
        Conversation.handled_by_staff_until,
        where=Conversation.chat_id == GUEST,
    )
    assert conv[0] is not None and conv[1] is not None and conv[1] > conv[0]
    async with db.read() as conn:
        state = (await conn.execute(select(Hotel.instance_state))).scalar_one()
    assert state == "authorized"


async def test_placeholder_then_real_text_is_analysed_once_with_the_real_text(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db)
    analyser = FakeAnalyser()
    processor = Processor(db, analyser)
    await ingest(db, hotel_id, [shapes.incoming_swe_placeholder(INSTANCE, GUEST, id_message="M1")])
    assert await processor.run_once() == 1
    [row] = await rows(db, Message.text, Message.undecryptable, Message.analysed_at)
    assert row == (None, True, None)
    assert analyser.seen == []
    await ingest(db, hotel_id, [text(GUEST, "The shower is broken", "M1")])
    assert await processor.run_once() == 1
    [row] = await rows(db, Message.text, Message.undecryptable, Message.requires_attention)
    assert row == ("The shower is broken", False, True)
    assert analyser.seen == ["The shower is broken"]
    assert await count(db, Message) == 1 and await count(db, Alert) == 1


async def test_a_late_placeholder_never_replaces_real_text(db: Database) -> None:
    hotel_id = await make_hotel(db)
    processor = Processor(db, FakeAnalyser())
    await ingest(db, hotel_id, [text(GUEST, "Hello", "M1")])
    await processor.run_once()
    await ingest(db, hotel_id, [shapes.incoming_swe_placeholder(INSTANCE, GUEST, id_message="M1")])
    await processor.run_once()
    assert await rows(db, Message.text, Message.undecryptable) == [("Hello", False)]


async def test_edit_reanalyses_and_can_alert(db: Database) -> None:
    hotel_id = await make_hotel(db)
    analyser = FakeAnalyser()
    processor = Processor(db, analyser)
    await ingest(db, hotel_id, [text(GUEST, "Room is fine", "M1")])
    await processor.run_once()
    await ingest(
        db, hotel_id, [shapes.incoming_edited(INSTANCE, GUEST, "Room is dirty", stanza_id="M1")]
    )
    await processor.run_once()
    [row] = await rows(
        db,
        Message.text,
        Message.edited,
        Message.requires_attention,
        Message.id,
        where=Message.id_message == "M1",
    )
    assert row[:3] == ("Room is dirty", True, True)
    assert await rows(db, Alert.message_id) == [(row[3],)]
    assert analyser.seen == ["Room is fine", "Room is dirty"]


async def test_negative_reaction_is_recorded_as_a_signal(db: Database) -> None:
    hotel_id = await make_hotel(db)
    await ingest(
        db, hotel_id, [shapes.incoming_reaction(INSTANCE, GUEST, "👎🏽", stanza_id="OUR1")]
    )
    await Processor(db, FakeAnalyser()).run_once()
    [row] = await rows(
        db, Message.kind, Message.sentiment, Message.requires_attention, Message.analyser
    )
    assert row == ("reaction", "negative", False, "reaction")


async def test_an_over_long_reaction_is_cut_to_its_column(db: Database) -> None:
    # A reaction's "emoji" is whatever text the sender's software put there; PostgreSQL
    # refuses a value longer than the column instead of storing it.
    hotel_id = await make_hotel(db)
    await ingest(db, hotel_id, [shapes.incoming_text(INSTANCE, GUEST, "Hello", id_message="T1")])
    await Processor(db, FakeAnalyser()).run_once()
    await ingest(
        db, hotel_id, [shapes.incoming_reaction(INSTANCE, GUEST, "x" * 500, stanza_id="T1")]
    )
    await Processor(db, FakeAnalyser()).run_once()
    reactions = await rows(db, Message.reaction, where=Message.id_message == "T1")
    assert reactions == [("x" * 32,)]


async def test_statuses_and_echoes_update_the_outbox(db: Database) -> None:
    hotel_id = await make_hotel(db)
    async with db.write() as conn:
        sent_id = await enqueue(
            conn, hotel_id=hotel_id, idempotency_key="a", kind="manual", chat_id=GUEST, text="Hi"
        )
        unknown_id = await enqueue(
            conn,
            hotel_id=hotel_id,
            idempotency_key="b",
            kind="manual",
            chat_id=GUEST,
            text="Your room is ready",
        )
        await conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == sent_id)
            .values(state="sent", id_message="OUT1")
        )
        await conn.execute(
            update(OutboxMessage).where(OutboxMessage.id == unknown_id).values(state="unknown")
        )
    await ingest(
        db,
        hotel_id,
        [
            shapes.outgoing_status(INSTANCE, GUEST, "OUT1", "delivered"),
            shapes.outgoing_status(INSTANCE, GUEST, "OUT1", "read"),
            shapes.outgoing_status(INSTANCE, GUEST, "OUT1", "delivered"),  # late: no regression
            shapes.outgoing_api_message(INSTANCE, GUEST, "Your room is ready", id_message="OUT2"),
        ],
    )
    await Processor(db, FakeAnalyser()).run_once()
    got = await rows(
        db,
        OutboxMessage.id,
        OutboxMessage.state,
        OutboxMessage.id_message,
        OutboxMessage.delivery_status,
    )
    assert got == [(sent_id, "sent", "OUT1", "read"), (unknown_id, "sent", "OUT2", None)]


async def test_state_change_updates_the_hotel(db: Database) -> None:
    hotel_id = await make_hotel(db)
    await ingest(db, hotel_id, [shapes.state_instance_changed(INSTANCE, "notAuthorized")])
    await Processor(db, FakeAnalyser()).run_once()
    assert await rows(db, Hotel.instance_state) == [("notAuthorized",)]


async def test_cooldown_one_alert_then_one_followup(db: Database) -> None:
    hotel_id = await make_hotel(db, alert_cooldown_min=30)
    clock = FakeClock()
    processor = Processor(db, FakeAnalyser(), clock=clock)
    angry = [text(GUEST, f"I am angry ({i})", f"A{i}", ts=TS + i) for i in range(5)]
    await ingest(db, hotel_id, angry)
    assert await processor.run_once() == 5
    assert await count(db, Alert) == 1 and await count(db, OutboxMessage) == 1
    clock.advance(minutes=10)
    await processor.run_once()
    assert await count(db, OutboxMessage) == 1  # still cooling down
    clock.advance(minutes=21)
    await processor.run_once()
    await processor.run_once()
    texts = [t for _, t in await rows(db, OutboxMessage.id, OutboxMessage.text)]
    assert len(texts) == 2
    assert "+4 more messages" in texts[1] and "I am angry (4)" in texts[1]
    assert all(chat == STAFF_CHAT for (chat,) in await rows(db, OutboxMessage.chat_id))
    kinds = await rows(db, Alert.id, Alert.kind, Alert.more_count, Alert.state)
    assert [k[1:] for k in kinds] == [("alert", 0, "queued"), ("followup", 4, "queued")]


async def test_alert_after_cooldown_mentions_the_counted_messages(db: Database) -> None:
    hotel_id = await make_hotel(db, alert_cooldown_min=30)
    clock = FakeClock()
    processor = Processor(db, FakeAnalyser(), clock=clock)
    await ingest(db, hotel_id, [text(GUEST, "angry 1", "A1"), text(GUEST, "angry 2", "A2")])
    await processor.run_once()
    clock.advance(minutes=31)
    await ingest(db, hotel_id, [text(GUEST, "angry 3", "A3")])
    await processor.run_once()
    texts = [t for _, t in await rows(db, OutboxMessage.id, OutboxMessage.text)]
    assert len(texts) == 2 and "(+1 more message from this guest" in texts[1]


async def test_alerts_exactly_once_when_rows_are_processed_twice(db: Database) -> None:
    hotel_id = await make_hotel(db)
    await ingest(db, hotel_id, [text(GUEST, "broken tap", "B1"), text(GUEST2, "dirty", "B2")])
    await Processor(db, FakeAnalyser()).run_once()
    async with db.write() as conn:  # as if the commit marking them processed had been lost
        await conn.execute(update(Notification).values(processed_at=None))
    assert await Processor(db, FakeAnalyser()).run_once() == 2
    assert await count(db, Alert) == 2 and await count(db, OutboxMessage) == 2
    assert await count(db, Message) == 2


async def test_no_staff_chat_records_the_alert_unsent(db: Database) -> None:
    from loguru import logger

    hotel_id = await make_hotel(db, staff_chat_id=None)
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        processor = Processor(db, FakeAnalyser())
        await ingest(db, hotel_id, [text(GUEST, "broken", "B1")])
        await processor.run_once()
        await ingest(db, hotel_id, [text(GUEST2, "dirty sheets", "B2")])
        await processor.run_once()
    finally:
        logger.remove(sink)
    assert await rows(db, Alert.state, Alert.outbox_id) == [("unsent", None)] * 2
    assert await count(db, OutboxMessage) == 0
    warnings = [line for line in lines if "no staff_chat_id" in line]
    assert len(warnings) == 1  # once per hotel, not per alert
    assert not any("dirty sheets" in line or "broken" in line for line in lines)


async def test_resumes_after_a_crash(db: Database) -> None:
    hotel_id = await make_hotel(db)
    bodies = [
        text(GUEST, "hi", "C0"),
        text(GUEST, "slow and broken", "C1"),
        text(GUEST, "angry now", "C2"),
        text(GUEST2, "dirty", "C3"),
    ]
    await ingest(db, hotel_id, bodies)
    stuck = FakeAnalyser()
    first = Processor(db, stuck, scan_interval_s=0.05)
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(stuck.started_slow.wait(), 5)
    for _ in range(200):  # until C0 and GUEST2 (another chat) are committed
        if await count(db, Message) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()  # the process dies: no drain, no final commit
    await asyncio.gather(task, return_exceptions=True)
    assert await count(db, Notification, Notification.processed_at.is_(None)) == 2
    after_restart = FakeAnalyser()
    after_restart.gate.set()
    assert await Processor(db, after_restart).run_once() == 2
    assert await count(db, Notification, Notification.processed_at.is_(None)) == 0
    assert await count(db, Message) == 4
    assert await count(db, Alert) == 2  # one per conversation (cooldown), never duplicated


async def test_slow_analysis_blocks_neither_other_chats_nor_ingest(db: Database) -> None:
    hotel_id = await make_hotel(db)
    analyser = FakeAnalyser()
    processor = Processor(db, analyser, max_concurrency=4, scan_interval_s=30)
    writer = IngestWriter(db)
    writer.on_commit(processor.notify)
    writer_task = asyncio.create_task(writer.run())
    task = asyncio.create_task(processor.run())
    try:
        await ingest(db, hotel_id, [text(GUEST, "slow reply please", "S1")], writer)
        await asyncio.wait_for(analyser.started_slow.wait(), 5)
        # the same chat: must wait for S1 (order); another chat: must not
        await ingest(db, hotel_id, [text(GUEST, "second", "S2")], writer)
        others = [text(GUEST2, f"other {i}", f"O{i}") for i in range(50)]
        await ingest(db, hotel_id, others, writer)  # ingest keeps committing meanwhile
        for _ in range(500):
            if await count(db, Message, Message.chat_id == GUEST2) == 50:
                break
            await asyncio.sleep(0.01)
        assert await count(db, Message, Message.chat_id == GUEST2) == 50
        assert await count(db, Message, Message.chat_id == GUEST) == 0  # S2 waits behind S1
        analyser.gate.set()
        for _ in range(500):
            if await count(db, Notification, Notification.processed_at.is_(None)) == 0:
                break
            await asyncio.sleep(0.01)
        got = await rows(db, Message.id, Message.id_message, where=Message.chat_id == GUEST)
        assert [m for _, m in got] == ["S1", "S2"]  # committed in order
    finally:
        processor.stop()
        await asyncio.wait_for(task, 5)
        await writer.close()
        await writer_task


async def test_optout_keywords_and_message_hook(db: Database) -> None:
    hotel_id = await make_hotel(db)
    seen: list[GuestMessageInfo] = []

    async def hook(conn: AsyncConnection, info: GuestMessageInfo) -> None:
        assert conn.in_transaction()
        seen.append(info)

    processor = Processor(db, FakeAnalyser())
    processor.add_message_hook(hook)
    await ingest(db, hotel_id, [text(GUEST, "Hello", "K0"), text(GUEST, "STOP", "K1", ts=TS + 1)])
    await processor.run_once()
    assert await rows(db, Guest.opted_out) == [(True,)]
    await ingest(db, hotel_id, [text(GUEST, "Старт", "K2", ts=TS + 2)])
    await processor.run_once()
    assert await rows(db, Guest.opted_out, Guest.opted_out_at) == [(False, None)]
    confirmations = await rows(
        db, OutboxMessage.id, OutboxMessage.kind, OutboxMessage.chat_id, OutboxMessage.text
    )
    assert [(k, c) for _, k, c, _ in confirmations] == [("optout", GUEST), ("optin", GUEST)]
    assert "СТОП" in confirmations[1][3]  # answered in Russian
    assert [(i.id_message, i.is_first_message, i.keyword) for i in seen] == [
        ("K0", True, None),
        ("K1", False, "stop"),
        ("K2", False, "start"),
    ]
    assert seen[1].opted_out and not seen[2].opted_out


async def test_a_failing_item_is_retried_then_given_up_and_never_blocks_others(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db)

    async def hook(conn: AsyncConnection, info: GuestMessageInfo) -> None:
        if info.chat_id == GUEST2:
            raise RuntimeError("bug in a hook")

    processor = Processor(db, FakeAnalyser(), max_attempts=2)
    processor.add_message_hook(hook)
    await ingest(db, hotel_id, [text(GUEST, "fine", "F1"), text(GUEST2, "boom", "F2")])
    await processor.run_once()
    got = await rows(
        db,
        Notification.id_message,
        Notification.processed_at.is_not(None),
        Notification.process_attempts,
        Notification.process_error,
    )
    assert [(m, p, a) for m, p, a, _ in got] == [("F1", True, 0), ("F2", False, 1)]
    assert "RuntimeError" in got[1][3]
    await processor.run_once()
    got = await rows(
        db,
        Notification.processed_at.is_not(None),
        Notification.process_attempts,
        where=Notification.id_message == "F2",
    )
    assert got == [(True, 2)]  # given up: marked processed, error kept
    assert processor.failed_total == 1


@pytest.mark.parametrize("groups_as_guests", [False, True])
async def test_groups_only_count_as_guests_when_configured(
    db: Database, groups_as_guests: bool
) -> None:
    hotel_id = await make_hotel(db, groups_as_guests=groups_as_guests)
    analyser = FakeAnalyser()
    body = shapes.incoming_group_text(INSTANCE, GROUP, GUEST, "angry", id_message="G1")
    await ingest(db, hotel_id, [body])
    await Processor(db, analyser).run_once()
    assert await count(db, Guest) == (1 if groups_as_guests else 0)
    assert await count(db, Alert) == (1 if groups_as_guests else 0)
    assert await count(db, Message) == 1


async def test_room_lookup_names_the_room_in_the_alert(db: Database) -> None:
    hotel_id = await make_hotel(db)
    asked: list[tuple[int, int | None, str]] = []

    async def room(conn: AsyncConnection, hotel: int, guest_id: int | None, chat: str) -> str:
        asked.append((hotel, guest_id, chat))
        return "214"

    processor = Processor(db, FakeAnalyser())
    processor.set_room_lookup(room)
    await ingest(db, hotel_id, [text(GUEST, "The heating is broken", "R1")])
    await processor.run_once()
    [(alert_text,)] = await rows(db, OutboxMessage.text)
    assert "room 214" in alert_text and "The heating is broken" in alert_text
    assert asked[0][0] == hotel_id and asked[0][1] is not None and asked[0][2] == GUEST


_CRASH_SCRIPT = """
import asyncio, sys
from hotelbot.daemon.processor import Processor
from hotelbot.domain.rules import RuleAnalyser
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database

async def main() -> None:
    db = Database.open(sys.argv[1])
    await Processor(db, SentimentStage(RuleAnalyser(), None)).run_once()
    await db.dispose()

asyncio.run(main())
"""


@pytest.mark.parametrize("crash_at", ["processor_before_commit", "processor_after_commit"])
async def test_killed_between_steps_alerts_exactly_once(
    sqlite_url: str, crash_at: str, clean_env: dict[str, str]
) -> None:
    import sys

    from hotelbot.storage.schema import upgrade

    db = Database.open(sqlite_url)
    try:
        await upgrade(db)
        hotel_id = await make_hotel(db)
        await ingest(
            db,
            hotel_id,
            [
                text(GUEST, "The room is dirty and nobody answers", "K1"),
                text(GUEST2, "Thank you, lovely stay", "K2"),
            ],
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CRASH_SCRIPT,
            sqlite_url,
            env={**clean_env, "HOTELBOT_CRASH_AT": crash_at},
        )
        assert await asyncio.wait_for(proc.wait(), 60) == 137  # died like SIGKILL
        left = await count(db, Notification, Notification.processed_at.is_(None))
        # The complaining chat commits first, in its own transaction: the crash after that
        # commit leaves the other chat's message for the restart.
        assert left == (2 if crash_at == "processor_before_commit" else 1)
        assert await Processor(db, FakeAnalyser()).run_once() == left
        assert await count(db, Alert) == 1 and await count(db, OutboxMessage) == 1
        assert await count(db, Message) == 2
    finally:
        await db.dispose()


async def test_owned_hotels_limits_what_is_interpreted(db: Database) -> None:
    mine = await make_hotel(db)
    other = await make_hotel(db, slug="hillside", instance_id="1101000002")
    await ingest(db, mine, [text(GUEST, "hello", "H1")])
    await ingest(db, other, [text(GUEST, "hello", "H2")])
    assert await Processor(db, FakeAnalyser(), owned_hotels=lambda: [mine]).run_once() == 1
    assert await rows(db, Message.hotel_id) == [(mine,)]


async def test_concurrency_is_bounded(db: Database) -> None:
    hotel_id = await make_hotel(db)
    analyser = FakeAnalyser()
    slow = [text(f"7900000000{i}@c.us", f"slow {i}", f"L{i}") for i in range(6)]
    await ingest(db, hotel_id, slow)
    processor = Processor(db, analyser, max_concurrency=2)
    task = asyncio.create_task(processor.run_once())
    await asyncio.wait_for(analyser.started_slow.wait(), 5)
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert analyser.running == 2  # the other four wait for a slot
    analyser.gate.set()
    assert await asyncio.wait_for(task, 10) == 6
    assert analyser.max_running == 2


async def test_chats_needing_attention_are_committed_first_and_in_order(db: Database) -> None:
    """A complaint is not queued behind other chats' ordinary messages: its chat (all of
    its ready messages, in order) is committed before them, in small transactions."""
    hotel_id = await make_hotel(db)
    processor = Processor(db, FakeAnalyser(), commit_batch_size=4)
    processed_at_alert: list[int] = []
    processor.on_commit(lambda _hotels: processed_at_alert.append(processor.processed_total))
    calm = [text(GUEST2, f"thanks {i}", f"C{i}", ts=TS + i) for i in range(10)]
    complaint = [text(GUEST, "hello", "G1", ts=TS + 20), text(GUEST, "angry now", "G2", ts=TS + 21)]
    await ingest(db, hotel_id, [*calm, *complaint])
    assert await processor.run_once() == 12
    assert processed_at_alert == [2]  # only the complaining chat was committed by then
    assert await count(db, Alert) == 1 and await count(db, Message) == 12
    got = await rows(db, Message.id, Message.id_message, where=Message.chat_id == GUEST)
    assert [m for _, m in got] == ["G1", "G2"]


async def test_keyword_answer_goes_to_a_question_not_to_a_complaint(db: Database) -> None:
    """ "What is the wifi password?" gets the keyword answer; "the wifi does not work" is a
    complaint: staff are alerted and the guest gets no password pasted back at them."""
    hotel_id = await make_hotel(db, quiet_hours="off")
    day = datetime.fromtimestamp(TS, UTC).date()
    await make_stay(
        db,
        hotel_id,
        phone="+7 900 123 45 68",
        check_in=day - timedelta(days=1),
        check_out=day + timedelta(days=2),
    )
    await make_trigger(db, hotel_id, "wifi", "on keyword wifi", {"en": "The password is x"})
    processor = Processor(db, SentimentStage(RuleAnalyser(), llm=None))
    processor.add_message_hook(message_hook(clock=lambda: datetime.fromtimestamp(TS + 120, UTC)))
    await ingest(
        db,
        hotel_id,
        [
            text(GUEST, "What is the wifi password?", "W1"),
            text(GUEST, "The wifi does not work at all, please fix it", "W2", ts=TS + 60),
        ],
    )
    await processor.run_once()
    sent = await rows(db, OutboxMessage.kind, OutboxMessage.text)
    assert [t for k, t in sent if k != "alert"] == ["The password is x"]
    alerted = await rows(db, Alert.message_id)
    messages = dict(await rows(db, Message.id, Message.id_message))
    assert [messages[m] for (m,) in alerted] == ["W2"]
