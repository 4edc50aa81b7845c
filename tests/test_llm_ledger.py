"""The LLM ledger's cost on the database (storage.llm_ledger): the daily call budget claimed
in blocks and spent from memory, given back on shutdown, never exceeded by two daemons or by
a crash and restart; everything the LLM needs before a call read in one transaction.

On both databases, with real engines; transactions are counted with SQLAlchemy's own event
hooks on the engines (what reached the database), the budget is read back from llm_usage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openai
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hotelbot.domain.breaker import CircuitBreaker
from hotelbot.domain.llm_context import MessageRef
from hotelbot.domain.llm_limits import LimitDecision, LlmLimits
from hotelbot.domain.rules import default_analyser
from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.fakes.openai_server import FakeOpenAI
from hotelbot.sentiment.llm import LlmAnalyser
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database
from hotelbot.storage.llm_ledger import LlmLedger, call_block
from hotelbot.storage.models_llm import LlmUsageRow
from tests.processor_helpers import make_hotel

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@contextmanager
def _transactions(engine: AsyncEngine) -> Iterator[list[str]]:
    """Each transaction begun on `engine` while inside, as it happened."""
    seen: list[str] = []

    def on_begin(_conn: Any) -> None:
        seen.append("begin")

    event.listen(engine.sync_engine, "begin", on_begin)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "begin", on_begin)


async def _stored_usage(db: Database, hotel_id: int) -> tuple[int, int, int]:
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(
                    LlmUsageRow.calls, LlmUsageRow.prompt_tokens, LlmUsageRow.completion_tokens
                ).where(LlmUsageRow.hotel_id == hotel_id, LlmUsageRow.day == DAY.isoformat())
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def _stored_calls(db: Database, hotel_id: int, day: date = DAY) -> int:
    async with db.read() as conn:
        calls = (
            await conn.execute(
                select(LlmUsageRow.calls).where(
                    LlmUsageRow.hotel_id == hotel_id, LlmUsageRow.day == day.isoformat()
                )
            )
        ).scalar()
    return int(calls or 0)


async def _spend_all(ledger: LlmLedger, hotel_id: int, limits: LlmLimits, most: int) -> int:
    """Reserve calls one after another (as analyses do) until refused or `most`."""
    allowed = 0
    for _ in range(most):
        decision = await ledger.reserve_call(hotel_id, DAY, limits)
        if decision is not LimitDecision.ALLOWED:
            assert decision is LimitDecision.DAILY_CALLS
            break
        allowed += 1
    return allowed


def test_the_block_is_a_small_share_of_the_budget() -> None:
    assert call_block(LlmLimits(daily_calls=2000)) == 20
    assert call_block(LlmLimits(daily_calls=150)) == 1
    assert call_block(LlmLimits(daily_calls=2)) == 1
    assert call_block(LlmLimits(daily_calls=10_000_000)) == 20
    assert call_block(LlmLimits(daily_calls=None)) == 20


async def test_the_calls_of_a_block_write_nothing(db: Database) -> None:
    hotel_id = await make_hotel(db)
    limits = LlmLimits(daily_calls=1000)  # blocks of 10
    ledger = LlmLedger(db, limits)
    with _transactions(db.engine) as writes:
        decisions = [await ledger.reserve_call(hotel_id, DAY, limits) for _ in range(25)]
    assert decisions == [LimitDecision.ALLOWED] * 25
    assert len(writes) == 3  # three blocks of 10 for 25 calls
    assert await _stored_calls(db, hotel_id) == 30  # claimed ahead
    await ledger.flush(release=True)  # shutdown: the unused 5 go back
    assert await _stored_calls(db, hotel_id) == 25


async def test_two_daemons_together_never_exceed_the_budget(db_url: str, db: Database) -> None:
    hotel_id = await make_hotel(db)
    limits = LlmLimits(daily_calls=300)  # blocks of 3; claims shrink to 1 near the end
    other_db = Database.open(db_url)  # the second daemon: its own engines and write gate
    try:
        first, second = LlmLedger(db, limits), LlmLedger(other_db, limits)
        allowed = await asyncio.gather(
            _spend_all(first, hotel_id, limits, 400), _spend_all(second, hotel_id, limits, 400)
        )
        assert sum(allowed) == 300
        assert min(allowed) > 0  # both were served, not one after the other
        assert await _stored_calls(db, hotel_id) == 300
        await first.flush(release=True)
        await second.flush(release=True)
    finally:
        await other_db.dispose()
    assert await _stored_calls(db, hotel_id) == 300


async def test_after_a_crash_the_unused_block_stays_spent(db: Database) -> None:
    hotel_id = await make_hotel(db)
    limits = LlmLimits(daily_calls=1000)  # blocks of 10
    crashed = LlmLedger(db, limits)
    assert await _spend_all(crashed, hotel_id, limits, 3) == 3
    # no flush(release=True): the process died holding 7 unused calls of its block
    restarted = LlmLedger(db, limits)
    assert await _spend_all(restarted, hotel_id, limits, 2000) == 990
    assert await _stored_calls(db, hotel_id) == 1000  # the budget errs towards fewer calls
    # refused from memory afterwards: no write per refused message
    with _transactions(db.engine) as writes, _transactions(db.read_engine) as reads:
        assert await restarted.reserve_call(hotel_id, DAY, limits) is LimitDecision.DAILY_CALLS
    assert (writes, reads) == ([], [])


async def test_a_past_days_unused_calls_go_back_with_the_next_flush(db: Database) -> None:
    hotel_id = await make_hotel(db)
    limits = LlmLimits(daily_calls=1000)
    ledger = LlmLedger(db, limits)
    assert await _spend_all(ledger, hotel_id, limits, 4) == 4
    tomorrow = DAY + timedelta(days=1)
    assert await ledger.reserve_call(hotel_id, tomorrow, limits) is LimitDecision.ALLOWED
    await ledger.flush()
    assert await _stored_calls(db, hotel_id) == 4
    assert await _stored_calls(db, hotel_id, tomorrow) == 10  # today's block stays claimed


async def test_the_token_budget_refuses_once_the_tokens_counted_reach_it(db: Database) -> None:
    hotel_id = await make_hotel(db)
    limits = LlmLimits(daily_calls=1000, daily_tokens=500)
    ledger = LlmLedger(db, limits)
    verdict = Verdict(Sentiment.NEUTRAL, 0.0, False, "ok", "en", "llm")
    assert await ledger.reserve_call(hotel_id, DAY, limits) is LimitDecision.ALLOWED
    await ledger.record_call(
        hotel_id,
        DAY,
        key="k1",
        verdict=verdict,
        extra_calls=0,
        prompt_tokens=450,
        completion_tokens=60,
        now=NOW,
    )
    # the block still holds calls, but the tokens counted so far reach the budget
    assert await ledger.reserve_call(hotel_id, DAY, limits) is LimitDecision.DAILY_TOKENS
    await ledger.flush(release=True)
    restarted = LlmLedger(db, limits)
    assert await restarted.reserve_call(hotel_id, DAY, limits) is LimitDecision.DAILY_TOKENS
    assert await _stored_calls(db, hotel_id) == 1


async def test_what_the_llm_needs_is_one_read(db: Database) -> None:
    hotel_id = await make_hotel(db)
    ledger = LlmLedger(db, LlmLimits())
    ref = MessageRef(hotel_id, "79001230001@c.us", NOW, "ABC")
    await ledger.prepare(ref, "en", DAY, lambda _context: "warm-up")  # the hotel is cached
    with _transactions(db.read_engine) as reads:
        prepared = await ledger.prepare(ref, "ru", DAY, lambda context: context.reply_language)
    assert len(reads) == 1  # on PostgreSQL the read engine is the write engine: 1 in all
    assert (prepared.key, prepared.cached, prepared.context.earlier) == ("ru", None, ())


async def test_a_failed_call_still_counts_the_tokens_it_cost(db: Database) -> None:
    hotel_id = await make_hotel(db)
    async with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
        llm = LlmAnalyser(
            client,
            "deepseek-chat",
            max_concurrency=2,
            breaker=CircuitBreaker(50, 30.0, 60.0),
            max_text_chars=500,
        )
        stage = SentimentStage(
            default_analyser(), llm, ledger=LlmLedger(db, LlmLimits()), wall_clock=lambda: NOW
        )
        rules = stage.rules_verdict("is the pool open?")
        fake.malformed_next(1, kind="out_of_range")  # answered, with usage, but invalid
        ref = MessageRef(hotel_id, "79001230001@c.us", NOW, "ABC")
        verdict = await stage.refine("is the pool open?", rules, about=ref)
        await stage.aclose()
        await llm.aclose()
    assert verdict.analyser == "rules"  # the LLM's answer was refused: rules judged
    ((prompt, completion),) = fake.tokens_returned
    assert await _stored_usage(db, hotel_id) == (1, prompt, completion)
