"""Helpers for processor tests: a hotel, real ingest of real-shaped bodies, fake analysers."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.greenapi.envelope import parse_receive_response
from hotelbot.hotel_spec import HotelSpec
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import get_hotel, upsert_hotel
from hotelbot.storage.ingest import IngestWriter

INSTANCE = "1101000001"
STAFF_CHAT = "120363000000000001@g.us"
_receipts = itertools.count(1)


async def make_hotel(db: Database, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "slug": "seaside",
        "name": "Seaside",
        "instance_id": INSTANCE,
        "api_token": "t",
        "staff_chat_id": STAFF_CHAT,
        "alert_cooldown_min": 30,
    }
    values.update(overrides)
    async with db.write() as conn:
        await upsert_hotel(conn, HotelSpec(**values))
        record = await get_hotel(conn, values["slug"])
    assert record is not None
    return record.id


async def ingest(
    db: Database,
    hotel_id: int,
    bodies: Sequence[dict[str, Any]],
    writer: IngestWriter | None = None,
) -> None:
    """Store bodies exactly as the poller does (envelope parsing + group-commit writer)."""
    own = writer is None
    w = writer or IngestWriter(db)
    task = asyncio.create_task(w.run()) if own else None
    for body in bodies:
        raw = json.dumps({"receiptId": next(_receipts), "body": body}, ensure_ascii=False)
        entry = parse_receive_response(raw.encode())
        assert entry is not None
        await w.store(hotel_id, entry)
    if own:
        await w.close()
        assert task is not None
        await task


async def count(db: Database, table: Any, *where: Any) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)
        return int((await conn.execute(query)).scalar_one())


class FakeAnalyser:
    """Working fake: "angry", "broken", "dirty" -> negative and needs attention; else neutral.
    Texts containing "slow" wait for `gate` (an asyncio.Event) before answering.
    Records every analysed text in `seen`."""

    name = "fake"
    llm_configured = True  # exercise the concurrent (task) path

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.gate = asyncio.Event()
        self.started_slow = asyncio.Event()

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        if "slow" in text:
            self.started_slow.set()
            await self.gate.wait()
        self.seen.append(text)
        bad = any(word in text.lower() for word in ("angry", "broken", "dirty"))
        return Verdict(
            sentiment=Sentiment.NEGATIVE if bad else Sentiment.NEUTRAL,
            score=-0.8 if bad else 0.0,
            requires_attention=bad,
            reason="complaint: test" if bad else "neutral",
            language="en",
            analyser="fake",
        )


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)
