"""Emergencies over real parts (real rules, real ingest, SQLite and PostgreSQL): they alert at
once, past the conversation's cooldown and the hotel's quiet hours, marked urgent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hotelbot.daemon.processor import Processor
from hotelbot.domain.rules import default_analyser
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation
from tests import shapes
from tests.processor_helpers import INSTANCE, FakeClock, ingest, make_hotel

GUEST = "79001234568@c.us"
# 00:30 in Riga: inside the default quiet hours (22:00-09:00), where welcomes wait.
NIGHT = datetime(2026, 11, 21, 22, 30, tzinfo=UTC)


def _text(body: str, id_message: str, at: datetime) -> dict[str, Any]:
    return shapes.incoming_text(
        INSTANCE, GUEST, body, id_message=id_message, timestamp=int(at.timestamp())
    )


async def _say(db: Database, hotel_id: int, clock: FakeClock, body: str, id_message: str) -> None:
    await ingest(db, hotel_id, [_text(body, id_message, clock.now)])
    processor = Processor(db, SentimentStage(default_analyser(), None), clock=clock)
    await processor.run_once()
    clock.advance(minutes=1)


@pytest.mark.parametrize(
    ("language", "urgent_line"),
    [(None, "🚨 URGENT, possible emergency"), ("ru", "🚨 СРОЧНО, возможна чрезвычайная ситуация")],
)
async def test_an_emergency_alerts_at_once_past_cooldown_and_quiet_hours(
    db: Database, language: str | None, urgent_line: str
) -> None:
    hotel_id = await make_hotel(
        db, timezone="Europe/Riga", alert_cooldown_min=30, staff_language=language
    )
    clock = FakeClock(NIGHT)
    await _say(db, hotel_id, clock, "The towels in our room are dirty", "M1")
    await _say(db, hotel_id, clock, "And the shower is broken too", "M2")  # within the cooldown
    await _say(db, hotel_id, clock, "There is smoke coming from under the door!", "M3")
    await _say(db, hotel_id, clock, "Помогите, на меня напали в коридоре", "M4")
    async with db.read() as conn:
        alerts = list(
            await conn.execute(
                select(
                    Alert.urgent,
                    Alert.category,
                    OutboxMessage.urgent,
                    OutboxMessage.lane,
                    OutboxMessage.available_at,
                    OutboxMessage.text,
                    Alert.created_at,
                )
                .join(OutboxMessage, OutboxMessage.id == Alert.outbox_id)
                .order_by(Alert.id)
            )
        )
        suppressed = (await conn.execute(select(Conversation.suppressed_alerts))).scalar_one()
    # the complaint alerts, the second complaint is counted, both emergencies alert
    assert [(a[0], a[1]) for a in alerts] == [
        (False, "complaint"),
        (True, "emergency"),
        (True, "emergency"),
    ]
    assert suppressed == 0  # the emergency's alert mentions the counted complaint
    for _, _, outbox_urgent, lane, available_at, text, _ in alerts[1:]:
        assert outbox_urgent is True and lane == "alert"
        assert available_at <= datetime.now(UTC)  # due now: not deferred to the morning
        assert text.splitlines()[0].startswith(urgent_line)
    assert not alerts[0][5].startswith("🚨")
    earlier = "+1 more" if language is None else "ещё 1"
    assert earlier in alerts[1][5]


async def test_help_for_a_taxi_is_a_request_not_an_emergency(db: Database) -> None:
    hotel_id = await make_hotel(db, timezone="Europe/Riga")
    clock = FakeClock(NIGHT)
    await _say(db, hotel_id, clock, "help me book a taxi to the airport", "T1")
    async with db.read() as conn:
        rows = list(await conn.execute(select(Alert.urgent, Alert.category)))
    assert len(rows) == 1  # staff still hear of it, as an ordinary request
    assert rows[0][0] is False and rows[0][1] != "emergency"
