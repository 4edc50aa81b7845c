"""The alert path over real parts: real-shaped bodies -> IngestWriter -> Processor -> tables,
on SQLite and PostgreSQL. Delivery (the sender) and the daemon are tested elsewhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hotelbot.daemon.processor import Processor
from hotelbot.domain.categories import AttentionCategory, EmergencyKind
from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert, Guest, Message
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

GUEST = "79001234568@c.us"
GUEST2 = "79001234569@c.us"
TS = 1_763_726_400  # 2025-11-21 12:00 UTC


def text(chat: str, body: str, id_message: str, ts: int = TS, **kw: Any) -> dict[str, Any]:
    return shapes.incoming_text(INSTANCE, chat, body, id_message=id_message, timestamp=ts, **kw)


async def test_a_stop_flood_confirms_once_per_guest_and_day_and_alerts_still_flow(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db, timezone="Europe/Riga")
    flood = [text(GUEST, "STOP" if i % 2 else "stop!", f"S{i}", ts=TS + i) for i in range(1000)]
    await ingest(db, hotel_id, [*flood, text(GUEST2, "The shower is broken", "C1", ts=TS + 5)])
    await Processor(db, FakeAnalyser(), clock=FakeClock()).run_once()
    async with db.read() as conn:
        outbox = list(
            await conn.execute(
                select(OutboxMessage.kind, OutboxMessage.lane, OutboxMessage.chat_id)
            )
        )
        opted = (await conn.execute(select(Guest.opted_out).where(Guest.chat_id == GUEST))).scalar()
    assert sorted(outbox) == [("alert", "alert", STAFF_CHAT), ("optout", "requested", GUEST)]
    assert opted is True
    assert await count(db, Alert) == 1
    # START then STOP again the same day: each intent confirmed once more, no more.
    later = [text(GUEST, "START", "T1", ts=TS + 2000), text(GUEST, "STOP", "T2", ts=TS + 2001)]
    later += [text(GUEST, "stop", f"T{i}", ts=TS + 2001 + i) for i in range(3, 50)]
    await ingest(db, hotel_id, later)
    await Processor(db, FakeAnalyser(), clock=FakeClock()).run_once()
    kinds = sorted(k for (k,) in await _outbox_kinds(db, GUEST))
    assert kinds == ["optin", "optout"]  # the day's STOP confirmation was sent already
    # The next local day, a STOP is confirmed again.
    await ingest(db, hotel_id, [text(GUEST, "STOP", "N1", ts=TS + 86_400)])
    await Processor(db, FakeAnalyser(), clock=FakeClock()).run_once()
    kinds = sorted(k for (k,) in await _outbox_kinds(db, GUEST))
    assert kinds == ["optin", "optout", "optout"]


async def _outbox_kinds(db: Database, chat: str) -> list[Any]:
    async with db.read() as conn:
        query = select(OutboxMessage.kind).where(OutboxMessage.chat_id == chat)
        return list(await conn.execute(query))


class CategoryAnalyser:
    """Rules-like fake with categories: "broken" is a complaint, "fire" an emergency."""

    name = "fake"
    llm_configured = False

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        lowered = text.lower()
        category = None
        categories: tuple[str, ...] = ()
        if "fire" in lowered:
            category, categories = AttentionCategory.EMERGENCY, (EmergencyKind.FIRE.value,)
        elif "broken" in lowered:
            category = AttentionCategory.COMPLAINT
        return Verdict(
            sentiment=Sentiment.NEGATIVE if category else Sentiment.NEUTRAL,
            score=-0.8 if category else 0.0,
            requires_attention=category is not None,
            reason=f"{category.value}: test" if category else "neutral",
            language="en",
            analyser="fake",
            categories=categories,
            category=category,
        )


async def test_the_verdict_category_is_stored_with_the_message(db: Database) -> None:
    hotel_id = await make_hotel(db)
    await ingest(db, hotel_id, [text(GUEST, "The lamp is broken", "M1"), text(GUEST2, "Hi", "M2")])
    await Processor(db, CategoryAnalyser(), clock=FakeClock()).run_once()
    async with db.read() as conn:
        stored = dict(list(await conn.execute(select(Message.id_message, Message.category))))
    assert stored == {"M1": "complaint", "M2": None}
