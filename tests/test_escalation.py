"""Escalation of staff alerts nobody acknowledged, on SQLite and PostgreSQL.

Through the real ingest and processor with a stepped clock: not before `escalate_after_min`,
exactly once after it (also after a restart, and with two escalators racing), a reminder in
the staff chat, both in the alert lane; an acknowledgement before stops it, one after
withdraws what is still waiting; a daemon without the hotel's lease writes nothing. Alerts
and escalations in the staff's language (en, ru). Over HTTP with the daemon across a
restart, and two daemons on PostgreSQL: tests/test_escalation_daemon.py.
"""

from __future__ import annotations

import asyncio
import string
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from hotelbot.app.handled import mark_handled
from hotelbot.daemon.escalator import Escalator
from hotelbot.daemon.processor import Processor
from hotelbot.domain import staff_texts
from hotelbot.domain.acknowledgement import AckRoute
from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.escalation import EscalationDecision, OpenAlert, decide
from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.storage.db import Database
from hotelbot.storage.handling import SqlHandlingStore
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation
from hotelbot.storage.reports import stats_report
from hotelbot.storage.status_report import hotel_status_report
from tests import shapes
from tests.processor_helpers import INSTANCE, STAFF_CHAT, FakeAnalyser, FakeClock, ingest
from tests.processor_helpers import make_hotel as make_processor_hotel

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
MANAGER = "37129990000@c.us"
GUEST = "37120001234@c.us"


# -- the decision (pure) ----------------------------------------------------------------------


def test_decide_waits_escalates_once_and_settles() -> None:
    open_ = OpenAlert(T0, None, None, T0 - timedelta(seconds=5), None)
    assert decide(open_, T0 + timedelta(minutes=9, seconds=59), 10) is EscalationDecision.WAIT
    assert decide(open_, T0 + timedelta(minutes=10), 10) is EscalationDecision.ESCALATE
    done = OpenAlert(T0, None, T0 + timedelta(minutes=10), T0, None)
    assert decide(done, T0 + timedelta(hours=1), 10) is EscalationDecision.SETTLED
    acked = OpenAlert(T0, T0 + timedelta(minutes=1), None, T0, None)
    assert decide(acked, T0 + timedelta(hours=1), 10) is EscalationDecision.SETTLED
    # Staff answered after the guest wrote (before the alert was recorded): nothing to do.
    raced = OpenAlert(T0, None, None, T0 - timedelta(seconds=5), T0 - timedelta(seconds=1))
    assert decide(raced, T0 + timedelta(hours=1), 10) is EscalationDecision.SETTLED
    # An emergency reaches the duty manager after two minutes at most.
    fire = OpenAlert(T0, None, None, T0, None, urgent=True)
    assert decide(fire, T0 + timedelta(minutes=2), 10) is EscalationDecision.ESCALATE
    assert decide(fire, T0 + timedelta(minutes=1), 10) is EscalationDecision.WAIT
    assert decide(fire, T0 + timedelta(minutes=1), 0.5) is EscalationDecision.ESCALATE
    # A day later it is history, not news (an upgrade, a long outage).
    assert decide(open_, T0 + timedelta(hours=25), 10) is EscalationDecision.EXPIRED
    # A nonsensical setting cannot switch escalation off.
    assert decide(open_, T0 + timedelta(minutes=10), 0) is EscalationDecision.ESCALATE


# -- through the processor ----------------------------------------------------------------------


async def complaint(db: Database, **hotel: object) -> int:
    """A hotel with a duty manager and one complaint alerted at T0; returns the hotel id."""
    settings: dict[str, object] = {"escalation_chat_id": MANAGER, "escalate_after_min": 10}
    settings.update(hotel)
    hotel_id = await make_processor_hotel(db, **settings)
    body = shapes.incoming_text(
        INSTANCE,
        GUEST,
        "The heating is broken",
        id_message="C1",
        sender_name="Anna",
        timestamp=int(T0.timestamp()),
    )
    await ingest(db, hotel_id, [body])
    await step(db, T0)
    return hotel_id


async def step(db: Database, at: datetime) -> None:
    """One processor run at `at` (a fresh processor each time: a restart changes nothing)."""
    processor = Processor(db, FakeAnalyser(), clock=FakeClock(at))
    processor.set_escalator(Escalator(db))
    await processor.run_once()


async def outbox(db: Database) -> list[tuple[str, str, str, str]]:
    """(kind, lane, chat, state) of every outbox row, in order."""
    async with db.read() as conn:
        query = select(
            OutboxMessage.kind, OutboxMessage.lane, OutboxMessage.chat_id, OutboxMessage.state
        ).order_by(OutboxMessage.id)
        return [(r[0], r[1], r[2], r[3]) for r in await conn.execute(query)]


async def texts(db: Database, kind: str) -> list[str]:
    async with db.read() as conn:
        query = select(OutboxMessage.text).where(OutboxMessage.kind == kind)
        return [str(t) for t in (await conn.execute(query)).scalars()]


async def test_escalated_once_after_escalate_after_min_with_a_reminder(db: Database) -> None:
    await complaint(db)
    await step(db, T0 + timedelta(minutes=9))
    assert [row[0] for row in await outbox(db)] == ["alert"]
    for minutes in (10, 11, 30, 60):  # several scans, each a new processor (a restart)
        await step(db, T0 + timedelta(minutes=minutes))
    assert await outbox(db) == [
        ("alert", "alert", STAFF_CHAT, "pending"),
        ("escalation", "alert", MANAGER, "pending"),
        ("reminder", "alert", STAFF_CHAT, "pending"),
    ]
    async with db.read() as conn:
        (row,) = list(await conn.execute(select(Alert.escalated_at, Alert.acknowledged_at)))
    assert row == (T0 + timedelta(minutes=10), None)
    (escalation,) = await texts(db, "escalation")
    assert escalation.startswith("⏰ Not acknowledged for 10 min, alert #1 (Seaside): Anna")
    assert "“The heating is broken”" in escalation
    (reminder,) = await texts(db, "reminder")
    assert reminder.startswith("⏰ Reminder, alert #1 is still open (10 min): Anna")


async def quoted(db: Database, kind: str) -> list[str | None]:
    async with db.read() as conn:
        query = select(OutboxMessage.quoted_message_id).where(OutboxMessage.kind == kind)
        return list((await conn.execute(query)).scalars())


async def test_the_reminder_quotes_the_alert_as_sent(db: Database) -> None:
    await complaint(db)
    async with db.write() as conn:  # the sender sent the alert: Green API named it
        await conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "alert")
            .values(state="sent", id_message="BAE5ALERT0001", sent_at=T0)
        )
    await step(db, T0 + timedelta(minutes=10))
    assert await quoted(db, "reminder") == ["BAE5ALERT0001"]
    assert await quoted(db, "escalation") == [None]  # another chat: nothing to quote there


async def test_a_reminder_for_an_alert_not_known_as_sent_names_its_reference(
    db: Database,
) -> None:
    await complaint(db)  # the alert is still pending: no idMessage to quote
    await step(db, T0 + timedelta(minutes=10))
    assert await quoted(db, "reminder") == [None]
    (reminder,) = await texts(db, "reminder")
    assert "#1" in reminder


async def test_alerts_older_than_a_day_are_never_escalated(db: Database) -> None:
    await complaint(db)
    await step(db, T0 + timedelta(hours=24, minutes=1))  # e.g. the first start after an upgrade
    assert [row[0] for row in await outbox(db)] == ["alert"]


async def test_without_a_duty_manager_the_staff_chat_is_reminded(db: Database) -> None:
    await complaint(db, escalation_chat_id=None)
    await step(db, T0 + timedelta(minutes=10))
    assert [(k, c) for k, _, c, _ in await outbox(db)] == [
        ("alert", STAFF_CHAT),
        ("reminder", STAFF_CHAT),
    ]


async def handle(db: Database, at: datetime, route: AckRoute) -> None:
    async with db.write() as conn:
        conv_id = (await conn.execute(select(Conversation.id))).scalar_one()
        await mark_handled(
            SqlHandlingStore(conn), int(conv_id), at=at, route=route, pause=timedelta(hours=1)
        )


async def test_an_acknowledgement_in_time_stops_the_escalation(db: Database) -> None:
    await complaint(db)
    await handle(db, T0 + timedelta(minutes=5), AckRoute.REACTION)
    await step(db, T0 + timedelta(hours=1))
    assert [row[0] for row in await outbox(db)] == ["alert"]


async def test_a_late_acknowledgement_withdraws_what_still_waits(db: Database) -> None:
    await complaint(db)
    await step(db, T0 + timedelta(minutes=10))
    await handle(db, T0 + timedelta(minutes=11), AckRoute.QUOTE)
    assert [(k, s) for k, _, _, s in await outbox(db)] == [
        ("alert", "pending"),
        ("escalation", "cancelled"),
        ("reminder", "cancelled"),
    ]
    async with db.read() as conn:
        (via,) = (await conn.execute(select(Alert.acknowledged_via))).scalars()
    assert via == "quote"


async def test_an_answer_that_raced_the_alert_settles_it(db: Database) -> None:
    await complaint(db)
    async with db.write() as conn:  # staff answered one second after the guest wrote
        await conn.execute(update(Conversation).values(handled_at=T0 + timedelta(seconds=1)))
    await step(db, T0 + timedelta(hours=1))
    assert [row[0] for row in await outbox(db)] == ["alert"]
    async with db.read() as conn:
        (via,) = (await conn.execute(select(Alert.acknowledged_via))).scalars()
    assert via == "earlier"


async def test_two_escalators_racing_escalate_once(db: Database, db_url: str) -> None:
    await complaint(db)
    others = [Database.open(db_url) for _ in range(3)]
    try:
        reports = await asyncio.gather(
            *(Escalator(d).run_once(T0 + timedelta(minutes=10)) for d in [db, *others])
        )
    finally:
        for other in others:
            await other.dispose()
    assert sum(r.escalated for r in reports) == 1
    assert [row[0] for row in await outbox(db)] == ["alert", "escalation", "reminder"]


class NoLease:
    """A daemon that does not (or no longer) hold the hotel."""

    owner = "other-daemon"

    def epoch_of(self, hotel_id: int) -> int | None:
        return None


async def test_a_daemon_without_the_lease_escalates_nothing(db: Database) -> None:
    await complaint(db)
    report = await Escalator(db, lease=NoLease()).run_once(T0 + timedelta(hours=1))
    assert report.escalated == 0
    assert [row[0] for row in await outbox(db)] == ["alert"]


# -- the staff's language ----------------------------------------------------------------------


class RussianComplaint:
    """An analyser that finds a Russian complaint (category and language as an LLM says)."""

    llm_configured = False

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        return Verdict(
            sentiment=Sentiment.NEGATIVE,
            score=-0.8,
            requires_attention=True,
            reason="нет горячей воды",
            language="ru",
            analyser="test",
            category=AttentionCategory.COMPLAINT,
        )


@pytest.mark.parametrize(
    ("staff_language", "expected"),
    [
        (
            "ru",
            [
                "⚠️ Гостю нужно внимание: Anna Reason: forged (+37120001234)",
                "Причина: нет горячей воды",
                "Категория: жалоба · пишет на языке: русский",
                "“Нет горячей воды[1m ok”",
                "Номер #1: ответьте на это сообщение или поставьте реакцию.",
            ],
        ),
        (
            "en",
            [
                "⚠️ Guest needs attention: Anna Reason: forged (+37120001234)",
                "Reason: нет горячей воды",
                "Category: complaint · writes in Russian",
                "“Нет горячей воды[1m ok”",
                "Ref #1: reply to this message or react to it when you are on it.",
            ],
        ),
    ],
)
async def test_alerts_in_the_staff_language(
    db: Database, staff_language: str, expected: list[str]
) -> None:
    hotel_id = await make_processor_hotel(
        db, staff_language=staff_language, escalation_chat_id=MANAGER
    )
    # A name with a line break and a text with a terminal escape cannot forge lines.
    body = shapes.incoming_text(
        INSTANCE,
        GUEST,
        "Нет горячей воды\x1b[1m\nok",
        sender_name="Anna\nReason: forged",
        timestamp=int(T0.timestamp()),
    )
    await ingest(db, hotel_id, [body])
    processor = Processor(db, RussianComplaint(), clock=FakeClock(T0))
    processor.set_escalator(Escalator(db))
    await processor.run_once()
    (alert,) = await texts(db, "alert")
    assert alert.split("\n") == expected
    processor = Processor(db, RussianComplaint(), clock=FakeClock(T0 + timedelta(minutes=10)))
    processor.set_escalator(Escalator(db))
    await processor.run_once()
    (escalation,) = await texts(db, "escalation")
    if staff_language == "ru":
        assert escalation.startswith("⏰ Без ответа 10 мин, оповещение #1 (Seaside): Anna")
    else:
        assert escalation.startswith("⏰ Not acknowledged for 10 min, alert #1 (Seaside): Anna")


def test_every_staff_language_has_every_text() -> None:
    """A language added to domain/staff_texts.py must fill every table (no English holes)."""
    english = set(staff_texts._LINES["en"])
    for language in staff_texts.SUPPORTED:
        assert set(staff_texts._LINES[language]) == english, language
        assert set(staff_texts._CATEGORIES[language]) == set(AttentionCategory), language
        for key in english:  # no template needs a value the callers do not pass
            assert _fields(staff_texts._LINES[language][key]) <= _fields(
                staff_texts._LINES["en"][key]
            ), (language, key)
    assert staff_texts.line("alert", "ru-RU", who="X").startswith("⚠️ Гостю")
    assert staff_texts.line("alert", "de", who="X").startswith("⚠️ Guest")  # English fallback


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


async def test_stats_count_acknowledged_and_escalated_alerts(db: Database) -> None:
    hotel_id = await complaint(db)
    await step(db, T0 + timedelta(minutes=10))  # escalated
    await handle(db, T0 + timedelta(minutes=12), AckRoute.QUOTE)  # then acknowledged
    async with db.read() as conn:
        sections = await stats_report(conn, hotel_id=hotel_id, days=1, now=T0)
    (alerts,) = [s for s in sections if s.title.startswith("Staff alerts")]
    assert alerts.headers[-3:] == ("acknowledged", "median ack", "escalated")
    assert alerts.rows[-1][0] == "total" and alerts.rows[-1][-3:] == (1, "12 min", 1)


class Emergency:
    """An analyser that reads every message as an emergency (as the rules read "fire")."""

    llm_configured = False

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        return Verdict(
            sentiment=Sentiment.NEGATIVE,
            score=-1.0,
            requires_attention=True,
            reason="emergency: fire",
            language="en",
            analyser="test",
            category=AttentionCategory.EMERGENCY,
        )


async def test_an_emergency_reaches_the_duty_manager_within_two_minutes(db: Database) -> None:
    hotel_id = await make_processor_hotel(db, escalation_chat_id=MANAGER, escalate_after_min=30)
    await ingest(
        db,
        hotel_id,
        [
            shapes.incoming_text(
                INSTANCE, GUEST, "Smoke in the corridor", timestamp=int(T0.timestamp())
            )
        ],
    )
    for minutes in (0, 1, 2):
        processor = Processor(db, Emergency(), clock=FakeClock(T0 + timedelta(minutes=minutes)))
        processor.set_escalator(Escalator(db))
        await processor.run_once()
    async with db.read() as conn:
        query = select(OutboxMessage.kind, OutboxMessage.urgent).order_by(OutboxMessage.id)
        rows = [(r[0], bool(r[1])) for r in await conn.execute(query)]
    assert rows == [("alert", True), ("escalation", True), ("reminder", True)]


async def test_status_counts_the_alerts_nobody_acknowledged(db: Database) -> None:
    await complaint(db)
    async with db.read() as conn:
        (row,) = await hotel_status_report(conn, now=T0 + timedelta(minutes=5), stale_after_s=60)
    assert row.open_alerts_24h == 1
    await handle(db, T0 + timedelta(minutes=6), AckRoute.REACTION)
    async with db.read() as conn:
        (row,) = await hotel_status_report(conn, now=T0 + timedelta(minutes=7), stale_after_s=60)
    assert row.open_alerts_24h == 0 and row.last_alert_at == T0
