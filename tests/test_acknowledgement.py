"""Acknowledging staff alerts, by every route, on SQLite and PostgreSQL.

Over real HTTP to the fake Green API with the running daemon: a reply quoting the alert, a
reaction to it, its reference "#N" in the staff chat, an answer typed on the hotel phone and
one sent through the API by another tool. Through the CLI: `hotelbot send` and `hotelbot
conversations handled` do what a staff answer does (one use case, hotelbot/app/handled.py).
The rules themselves (pure): domain.acknowledgement.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.daemon.processor import Processor
from hotelbot.domain.acknowledgement import AckRoute, Handling, handled, mentioned_references
from hotelbot.errors import ConfigError
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance, SentMessage
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation, Message
from hotelbot.storage.outbox import enqueue
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.helpers import add_hotels, fast_settings, running_daemon, wait_for
from tests.processor_helpers import INSTANCE, STAFF_CHAT, FakeAnalyser, FakeClock, ingest
from tests.processor_helpers import make_hotel as make_processor_hotel

TOKEN = "tok"
STAFF = "120363000000000077@g.us"
MEMBER = "37120009999@c.us"  # a member of the staff group
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def chat(n: int) -> str:
    return f"3712000{n:04d}@c.us"


# -- the rule (pure) ------------------------------------------------------------------------


def test_handled_resets_counts_moves_handled_at_and_keeps_the_longer_pause() -> None:
    state = Handling(None, T0 + timedelta(hours=20), None, 4, 99)
    after = handled(state, T0, route=AckRoute.REACTION, pause=timedelta(hours=12))
    assert after == Handling(T0, T0 + timedelta(hours=20), None, 0, None)
    answered = handled(state, T0, route=AckRoute.SEND, pause=timedelta(hours=12))
    assert answered.last_staff_reply_at == T0  # only answers to the guest are replies
    # An operator's explicit --hours sets the pause exactly; 0 resumes automated messages.
    resumed = handled(state, T0, route=AckRoute.HANDLED, pause=timedelta(0), replace_pause=True)
    assert resumed.handled_by_staff_until is None and resumed.handled_at == T0
    # handled_at never moves back (a late, older acknowledgement).
    assert (
        handled(after, T0 - timedelta(hours=1), route=AckRoute.QUOTE, pause=timedelta(0)).handled_at
        == T0
    )


def test_references_are_found_only_where_staff_wrote_them() -> None:
    assert mentioned_references("#12 on it") == {12}
    assert mentioned_references("done: # 3 and №4") == {3, 4}
    assert mentioned_references("room 12, call +371 2000") == frozenset()
    assert mentioned_references("#vip") == frozenset()
    assert mentioned_references(None) == frozenset()


# -- every route in the running daemon, over HTTP ---------------------------------------------


async def alerts_by_chat(db: Database) -> dict[str, tuple[int, str | None, Any]]:
    """guest chat -> (reference, acknowledged_via, conversation handled_at)."""
    async with db.read() as conn:
        query = (
            select(
                Message.chat_id, Alert.reference, Alert.acknowledged_via, Conversation.handled_at
            )
            .join(Message, Message.id == Alert.message_id)
            .join(Conversation, Conversation.id == Alert.conversation_id)
        )
        return {r[0]: (int(r[1] or 0), r[2], r[3]) for r in await conn.execute(query)}


def alert_about(inst: FakeInstance, name: str) -> SentMessage:
    (found,) = [s for s in inst.sent if s.chat_id == STAFF and f": {name} (" in s.message]
    return found


async def test_each_route_acknowledges_its_alert(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        # Escalation far away: this test is about acknowledgement only.
        await add_hotels(
            db, fake.url, [(INSTANCE, TOKEN)], staff_chat_id=STAFF, escalate_after_min=60
        )
        for n in range(1, 9):
            inst.push(
                shapes.incoming_text(
                    INSTANCE, chat(n), "The shower is broken", sender_name=f"Guest{n}"
                )
            )
        async with running_daemon(fast_settings(db_url)):

            async def alerted() -> bool:
                return len([s for s in inst.sent if s.chat_id == STAFF]) == 8

            await wait_for(alerted, timeout_s=30)
            refs = {c: ref for c, (ref, _, _) in (await alerts_by_chat(db)).items()}
            assert sorted(refs.values()) == list(range(1, 9))
            # The reference staff read is the one stored.
            assert alert_about(inst, "Guest3").message.endswith(
                f"Ref #{refs[chat(3)]}: reply to this message or react to it when you are on it."
            )
            inst.push_many(
                [
                    shapes.incoming_reply(  # 1: a reply quoting the alert
                        INSTANCE,
                        STAFF,
                        "I'll go",
                        quoted_id=alert_about(inst, "Guest1").id_message,
                        sender=MEMBER,
                        sender_name="Ivan",
                    ),
                    shapes.incoming_reaction(  # 2: a reaction to the alert
                        INSTANCE,
                        STAFF,
                        "👍",
                        stanza_id=alert_about(inst, "Guest2").id_message,
                        sender=MEMBER,
                        sender_name="Ivan",
                    ),
                    shapes.incoming_text(  # 3: its reference in the staff chat
                        INSTANCE,
                        STAFF,
                        f"#{refs[chat(3)]} fixed",
                        sender=MEMBER,
                        sender_name="Ivan",
                    ),
                    # 4: an answer typed on the hotel phone to the guest.
                    shapes.outgoing_message(INSTANCE, chat(4), "We are coming up now"),
                    # 5: an answer sent through the API by another tool (no outbox row).
                    shapes.outgoing_api_message(INSTANCE, chat(5), "A plumber is on the way"),
                    # 6: nothing; and a reaction taken back acknowledges nothing.
                    shapes.incoming_reaction(
                        INSTANCE,
                        STAFF,
                        "",
                        stanza_id=alert_about(inst, "Guest6").id_message,
                        sender=MEMBER,
                    ),
                    # A second copy of guest 6's alert (resent after an ambiguous send):
                    # it names "#6" but acknowledges nothing.
                    shapes.outgoing_api_message(
                        INSTANCE, STAFF, alert_about(inst, "Guest6").message
                    ),
                    shapes.outgoing_reply(  # 7: reception replies from the hotel phone
                        INSTANCE,
                        STAFF,
                        "Sending someone",
                        quoted_id=alert_about(inst, "Guest7").id_message,
                    ),
                    shapes.incoming_quoted_legacy(  # 8: the older form of a reply
                        INSTANCE,
                        STAFF,
                        "ok",
                        sender=MEMBER,
                        quoted_id=alert_about(inst, "Guest8").id_message,
                    ),
                ]
            )

            async def acknowledged() -> bool:
                got = await alerts_by_chat(db)
                return sum(1 for _, via, _ in got.values() if via) == 7 and inst.pending_count == 0

            await wait_for(acknowledged, timeout_s=30)
            await asyncio.sleep(0.5)  # anything still to come would show now
        got = await alerts_by_chat(db)
    # Guest 6's alert stays open: hotelbot's own echo of it in the staff chat (which names
    # "#6") and a reaction taken back are no acknowledgement.
    assert {c: via for c, (_, via, _) in got.items()} == {
        chat(1): "quote",
        chat(2): "reaction",
        chat(3): "reference",
        chat(4): "staff_reply",
        chat(5): "staff_reply",
        chat(6): None,
        chat(7): "quote",
        chat(8): "quote",
    }
    assert [c for c, (_, _, at) in got.items() if at is None] == [chat(6)]


# -- `hotelbot send` and `hotelbot conversations handled` ------------------------------------

GUEST = "37120001234@c.us"


async def _seed(url: str) -> None:
    """Two complaints from one guest within the cooldown: one alert, one counted."""
    db = Database.open(url)
    try:
        await upgrade(db)
        hotel_id = await make_processor_hotel(db, staff_pause_h=6)
        clock = FakeClock(T0)
        await ingest(
            db,
            hotel_id,
            [
                shapes.incoming_text(
                    INSTANCE,
                    GUEST,
                    "The tap is broken",
                    id_message="A1",
                    timestamp=int(T0.timestamp()),
                ),
                shapes.incoming_text(
                    INSTANCE,
                    GUEST,
                    "Still broken!",
                    id_message="A2",
                    timestamp=int(T0.timestamp()) + 60,
                ),
            ],
        )
        await Processor(db, FakeAnalyser(), clock=clock).run_once()
    finally:
        await db.dispose()


async def _state(url: str) -> tuple[list[tuple[str | None, Any]], tuple[Any, ...]]:
    db = Database.open(url)
    try:
        async with db.read() as conn:
            alerts = [
                (r[0], r[1])
                for r in await conn.execute(select(Alert.acknowledged_via, Alert.acknowledged_at))
            ]
            conv = (
                await conn.execute(
                    select(
                        Conversation.handled_at,
                        Conversation.suppressed_alerts,
                        Conversation.handled_by_staff_until,
                        Conversation.last_staff_reply_at,
                    )
                )
            ).one()
        return alerts, tuple(conv)
    finally:
        await db.dispose()


async def _followups_after_cooldown(url: str) -> int:
    """Run the processor past the cooldown: how many follow-up alerts are queued."""
    db = Database.open(url)
    try:
        await Processor(db, FakeAnalyser(), clock=FakeClock(T0 + timedelta(hours=2))).run_once()
        async with db.read() as conn:
            query = select(Alert.id).where(Alert.kind == "followup")
            return len(list(await conn.execute(query)))
    finally:
        await db.dispose()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, clean_env: dict[str, str]) -> CliRunner:
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", db_url)
    asyncio.run(_seed(db_url))
    return CliRunner()


def _attention(cli: CliRunner) -> tuple[str, str]:
    messages = cli.invoke(app, ["messages", "list", "--attention", "--wide"])
    conversations = cli.invoke(app, ["conversations", "list", "--attention", "--wide"])
    assert messages.exit_code == 0 and conversations.exit_code == 0, messages.output
    return messages.output, conversations.output


def test_conversations_handled_does_what_a_staff_answer_does(cli: CliRunner, db_url: str) -> None:
    messages, conversations = _attention(cli)
    assert "The tap is broken" in messages and GUEST in conversations
    assert asyncio.run(_state(db_url))[1][1] == 1  # one complaint counted for a follow-up
    result = cli.invoke(app, ["conversations", "handled", GUEST])
    assert result.exit_code == 0, result.output
    assert "1 open alert(s) acknowledged" in result.output
    alerts, (handled_at, counted, until, replied) = asyncio.run(_state(db_url))
    assert alerts[0][0] == "handled" and handled_at is not None
    assert counted == 0 and until is not None and replied is None
    messages, conversations = _attention(cli)
    assert "broken" not in messages and GUEST not in conversations
    assert asyncio.run(_followups_after_cooldown(db_url)) == 0  # no "+1 more" alert
    again = cli.invoke(app, ["conversations", "handled", GUEST])  # idempotent
    assert again.exit_code == 0 and "acknowledged" not in again.output


def test_hotelbot_send_counts_as_a_staff_answer(
    cli: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli.invoke(
        app,
        ["send", "seaside", "+37120001234", "--text-file", "-"],
        input="A plumber is on the way.",
    )
    assert result.exit_code == 0, result.output
    alerts, (handled_at, counted, until, replied) = asyncio.run(_state(db_url))
    assert alerts[0][0] == "send" and handled_at is not None and replied == handled_at
    assert counted == 0 and until is not None
    messages, conversations = _attention(cli)
    assert "broken" not in messages and GUEST not in conversations
    assert asyncio.run(_followups_after_cooldown(db_url)) == 0


def test_a_later_complaint_needs_attention_again(cli: CliRunner, db_url: str) -> None:
    assert cli.invoke(app, ["conversations", "handled", GUEST]).exit_code == 0

    async def later() -> None:
        db = Database.open(db_url)
        try:
            async with db.write() as conn:  # handled an hour before the guest writes again
                await conn.execute(update(Conversation).values(handled_at=T0 + timedelta(hours=1)))
            hotel_id = int(await _hotel_id(db))
            await ingest(
                db,
                hotel_id,
                [
                    shapes.incoming_text(
                        INSTANCE,
                        GUEST,
                        "Now the door is broken",
                        id_message="A3",
                        timestamp=int(T0.timestamp()) + 3 * 3600,
                    )
                ],
            )
            await Processor(db, FakeAnalyser(), clock=FakeClock(T0 + timedelta(hours=3))).run_once()
        finally:
            await db.dispose()

    asyncio.run(later())
    messages, conversations = _attention(cli)
    assert "door is broken" in messages and "tap is broken" not in messages
    assert GUEST in conversations


def test_the_cli_and_the_processor_apply_one_rule(cli: CliRunner, db_url: str) -> None:
    """Staff handling a guest through `conversations handled` and by answering from the
    hotel phone (the processor) leave the conversation in the same state: the counted
    complaint dropped, the alert acknowledged, automated messages paused for staff_pause_h.
    Only the route's own marks differ (which route; a staff reply's time)."""
    other = "37120005678@c.us"

    async def second_guest_answered_by_phone() -> None:
        db = Database.open(db_url)
        try:
            hotel_id = await _hotel_id_of(db, GUEST)
            base = int(T0.timestamp())
            await ingest(
                db,
                hotel_id,
                [
                    shapes.incoming_text(
                        INSTANCE, other, "The tap is broken", id_message="B1", timestamp=base
                    ),
                    shapes.incoming_text(
                        INSTANCE, other, "Still broken!", id_message="B2", timestamp=base + 60
                    ),
                ],
            )
            await Processor(db, FakeAnalyser(), clock=FakeClock(T0)).run_once()
            answer = shapes.outgoing_message(
                INSTANCE, other, "We are coming up", id_message="B3", timestamp=base + 120
            )
            await ingest(db, hotel_id, [answer])
            await Processor(db, FakeAnalyser(), clock=FakeClock(T0)).run_once()
        finally:
            await db.dispose()

    asyncio.run(second_guest_answered_by_phone())
    assert cli.invoke(app, ["conversations", "handled", GUEST]).exit_code == 0
    by_cli, by_phone = (asyncio.run(_handled_state(db_url, c)) for c in (GUEST, other))
    assert by_cli["route"] == "handled" and by_phone["route"] == "staff_reply"
    assert by_cli["replied"] is None and by_phone["replied"] is not None
    shared = ("counted", "quoted", "open_alerts", "pause")
    assert {k: by_cli[k] for k in shared} == {k: by_phone[k] for k in shared}
    assert by_cli["counted"] == 0 and by_cli["open_alerts"] == 0
    assert by_cli["pause"] == timedelta(hours=6)  # the hotel's staff_pause_h


async def _hotel_id_of(db: Database, chat_id: str) -> int:
    async with db.read() as conn:
        query = select(Conversation.hotel_id).where(Conversation.chat_id == chat_id)
        return int((await conn.execute(query)).scalar_one())


async def _handled_state(url: str, chat_id: str) -> dict[str, Any]:
    db = Database.open(url)
    try:
        async with db.read() as conn:
            conv = (
                await conn.execute(
                    select(
                        Conversation.id,
                        Conversation.handled_at,
                        Conversation.handled_by_staff_until,
                        Conversation.last_staff_reply_at,
                        Conversation.suppressed_alerts,
                        Conversation.last_suppressed_message_id,
                    ).where(Conversation.chat_id == chat_id)
                )
            ).one()
            alerts = list(
                await conn.execute(
                    select(Alert.acknowledged_via).where(Alert.conversation_id == conv[0])
                )
            )
    finally:
        await db.dispose()
    return {
        "route": alerts[0][0],
        "replied": conv[3],
        "counted": conv[4],
        "quoted": conv[5],
        "open_alerts": sum(1 for (via,) in alerts if via is None),
        "pause": None if conv[2] is None or conv[1] is None else conv[2] - conv[1],
    }


async def _hotel_id(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(Conversation.hotel_id))).scalar_one())


async def test_a_pointed_acknowledgement_counts_whatever_the_guest_timestamp(
    db: Database,
) -> None:
    """A reaction to the alert acknowledges it even when the guest's message carries a
    later timestamp than the staff member's (a call ends after it rang, clocks differ)."""
    hotel_id = await make_processor_hotel(db)
    ahead = int(T0.timestamp()) + 120
    await ingest(
        db,
        hotel_id,
        [
            shapes.incoming_text(
                INSTANCE, GUEST, "The tap is broken", id_message="G1", timestamp=ahead
            )
        ],
    )
    await Processor(db, FakeAnalyser(), clock=FakeClock(T0)).run_once()
    async with db.write() as conn:  # what the sender records when Green API accepts it
        await conn.execute(update(OutboxMessage).values(id_message="ALERT1", state="sent"))
    await ingest(
        db,
        hotel_id,
        [
            shapes.incoming_reaction(
                INSTANCE,
                STAFF_CHAT,
                "👍",
                stanza_id="ALERT1",
                sender=MEMBER,
                timestamp=int(T0.timestamp()),
            )
        ],
    )
    await Processor(db, FakeAnalyser(), clock=FakeClock(T0)).run_once()
    async with db.read() as conn:
        via = (await conn.execute(select(Alert.acknowledged_via))).scalar_one()
        query = select(Conversation.handled_at).where(Conversation.chat_id == GUEST)
        handled_at = (await conn.execute(query)).scalar_one()
    assert via == "reaction"
    assert handled_at == datetime.fromtimestamp(ahead, UTC)


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("staff_language=de", "staff_language: one of en, ru"),
        ("escalation_chat_id=120363000000000001@g.us", "escalation_chat_id must differ"),
        ("escalate_after_min=0", "escalate_after_min"),
    ],
)
def test_hotel_edit_names_a_bad_alert_setting(cli: CliRunner, setting: str, problem: str) -> None:
    result = cli.invoke(app, ["hotel", "edit", "seaside", "--set", setting])
    # `hotelbot` (cli.main) prints a ConfigError as one "error: ..." line, exit 78.
    assert isinstance(result.exception, ConfigError), result.output
    assert problem in str(result.exception)


def test_hotel_edit_sets_and_clears_the_alert_settings(cli: CliRunner) -> None:
    changed = cli.invoke(
        app,
        [
            "hotel",
            "edit",
            "seaside",
            "--set",
            "staff_language=ru",
            "--set",
            "escalation_chat_id=37129990000@c.us",
            "--set",
            "escalate_after_min=5",
        ],
    )
    assert changed.exit_code == 0, changed.output
    shown = cli.invoke(app, ["hotel", "show", "seaside"]).output
    assert "staff_language         ru" in shown and "escalate_after_min     5.0" in shown
    assert "escalation_chat_id     37129990000@c.us" in shown
    cleared = cli.invoke(app, ["hotel", "edit", "seaside", "--set", "escalation_chat_id="])
    assert cleared.exit_code == 0, cleared.output
    assert "escalation_chat_id     \n" in cli.invoke(app, ["hotel", "show", "seaside"]).output


async def test_a_second_copy_of_our_own_message_is_no_staff_answer(db: Database) -> None:
    """hotelbot resent a message after an ambiguous failure and both copies arrived: the
    second echo matches no outbox row by id, yet it is ours, not staff answering."""
    hotel_id = await make_processor_hotel(db)
    await ingest(
        db,
        hotel_id,
        [
            shapes.incoming_text(
                INSTANCE, GUEST, "The tap is broken", id_message="G1", timestamp=int(T0.timestamp())
            )
        ],
    )
    await Processor(db, FakeAnalyser(), clock=FakeClock(T0)).run_once()
    async with db.write() as conn:
        await enqueue(
            conn,
            hotel_id=hotel_id,
            idempotency_key="welcome",
            kind="trigger",
            chat_id=GUEST,
            text="Welcome!",
        )
        await conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "trigger")
            .values(id_message="FIRST", state="sent")
        )
    copies = [
        shapes.outgoing_api_message(INSTANCE, GUEST, "Welcome!", id_message=i)
        for i in ("FIRST", "SECOND")
    ]
    other_tool = shapes.outgoing_api_message(INSTANCE, GUEST, "Your taxi is booked")
    await ingest(db, hotel_id, copies)
    await Processor(db, FakeAnalyser(), clock=FakeClock(T0)).run_once()
    query = select(Conversation.handled_at).where(Conversation.chat_id == GUEST)
    async with db.read() as conn:
        assert (await conn.execute(query)).scalar_one() is None
    await ingest(db, hotel_id, [other_tool])  # control: another tool's message is an answer
    await Processor(db, FakeAnalyser(), clock=FakeClock(T0)).run_once()
    async with db.read() as conn:
        assert (await conn.execute(query)).scalar_one() is not None
        via = (await conn.execute(select(Alert.acknowledged_via))).scalar_one()
    assert via == "staff_reply"


def test_alerts_list_shows_references_and_acknowledgement(cli: CliRunner) -> None:
    listed = cli.invoke(app, ["alerts", "list", "--wide", "--utc"])
    assert listed.exit_code == 0, listed.output
    assert "#1" in listed.output and "OPEN" in listed.output and GUEST in listed.output
    assert "#1" in cli.invoke(app, ["alerts", "list", "--open"]).output
    assert cli.invoke(app, ["conversations", "handled", GUEST]).exit_code == 0
    listed = cli.invoke(app, ["alerts", "list", "--wide"])
    assert "acknowledged (handled)" in listed.output and "OPEN" not in listed.output
    assert cli.invoke(app, ["alerts", "list", "--open"]).output.strip() == "no open alerts"
    missing = cli.invoke(app, ["alerts", "list", "--hotel", "nope"])
    assert missing.exit_code != 0 and "no hotel with slug 'nope'" in str(missing.exception)
