"""The alert fast path: which verdicts alert at once (domain.alert_path), how an LLM answer
is combined, and the processor alerting before the LLM answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import openai
import pytest
from sqlalchemy import func, select

from hotelbot.daemon.processor import Processor
from hotelbot.domain.alert_path import (
    alert_now,
    attention_rank,
    combine,
    is_concrete,
    provisional,
    urgent,
)
from hotelbot.domain.breaker import CircuitBreaker
from hotelbot.domain.categories import AttentionCategory as A
from hotelbot.domain.rules import default_analyser
from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.fakes.openai_server import FakeOpenAI
from hotelbot.sentiment.llm import LlmAnalyser
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database
from hotelbot.storage.models_messaging import Alert, Conversation, Message
from tests import shapes
from tests.processor_helpers import INSTANCE, FakeClock, ingest, make_hotel


def _llm(requires_attention: bool, reason: str = "calm") -> Verdict:
    sentiment = Sentiment.NEGATIVE if requires_attention else Sentiment.POSITIVE
    return Verdict(
        sentiment, -0.5 if requires_attention else 0.8, requires_attention, reason, "en", "llm"
    )


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ("The shower is broken again", True),
        ("Could you bring two more towels?", True),
        ("There is smoke coming from under the door", True),
        ("Помогите!", True),
        ("Thank you, the room is lovely", False),
        ("ok", False),
    ],
)
def test_concrete_rule_findings_take_the_fast_path(text: str, fast: bool) -> None:
    assert alert_now(default_analyser().analyse(text)) is fast


def test_a_negative_tone_alone_waits_for_the_llm() -> None:
    tone = Verdict(Sentiment.NEGATIVE, -0.6, True, "negative tone", "en", "rules", (), A.OTHER)
    assert not is_concrete(tone)
    assert not alert_now(tone)
    # and the LLM may overrule it
    assert combine(_llm(False), tone).requires_attention is False


def test_the_llm_never_withdraws_a_concrete_finding() -> None:
    rules = default_analyser().analyse("The shower is broken again")
    combined = combine(_llm(False, "guest sounds fine"), rules)
    assert combined.requires_attention
    assert combined.category is rules.category
    assert combined.sentiment is Sentiment.POSITIVE  # the LLM's reading of tone stays
    assert not urgent(combined)


def test_an_emergency_stays_urgent_whatever_the_llm_says() -> None:
    rules = default_analyser().analyse("Пожар в номере, помогите!")
    for llm in (_llm(False), _llm(True, "complaint: smell")):
        combined = combine(llm, rules)
        assert urgent(combined)
        assert combined.categories[0] == "fire"
        assert combined.reason.startswith("emergency: fire")


def test_combine_lets_the_llm_add_attention_the_rules_missed() -> None:
    rules = default_analyser().analyse("ok")
    combined = combine(_llm(True, "complaint: sarcasm"), rules)
    assert combined.requires_attention and combined.analyser == "llm"


# -- the processor's fast path, over real parts: FakeOpenAI over HTTP, SQLite and PostgreSQL --

GUEST = "79001234568@c.us"
POSITIVE_ANSWER = {
    "sentiment": "positive",
    "score": 0.7,
    "requires_attention": False,
    "reason": "guest sounds content",
    "language": "en",
}
LLM_LATENCY_S = 8.0  # far longer than a commit: the alert must not wait for it


@asynccontextmanager
async def _stage(latency_s: float) -> AsyncIterator[tuple[FakeOpenAI, SentimentStage]]:
    async with FakeOpenAI(latency_s=latency_s) as fake:
        client = openai.AsyncOpenAI(
            base_url=fake.base_url, api_key="sk-test", timeout=30.0, max_retries=0
        )
        llm = LlmAnalyser(
            client,
            "deepseek-chat",
            max_concurrency=4,
            breaker=CircuitBreaker(3, 30.0, 60.0),
            max_text_chars=500,
            deadline_s=30.0,
        )
        try:
            yield fake, SentimentStage(default_analyser(), llm)
        finally:
            await llm.aclose()


async def _stored(db: Database) -> tuple[int, Any]:
    async with db.read() as conn:
        alerts = int((await conn.execute(select(func.count()).select_from(Alert))).scalar_one())
        row = (
            await conn.execute(
                select(
                    Message.analyser,
                    Message.requires_attention,
                    Message.sentiment,
                    Message.category,
                ).where(Message.chat_id == GUEST)
            )
        ).first()
    return alerts, row


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_complaint_the_rules_read_alerts_before_the_llm_answers(db: Database) -> None:
    hotel_id = await make_hotel(db)
    async with _stage(LLM_LATENCY_S) as (fake, stage):
        fake.script([POSITIVE_ANSWER])  # a wrong LLM: it must not withdraw the alert
        processor = Processor(db, stage, clock=FakeClock())
        task = asyncio.create_task(processor.run())
        try:
            body = shapes.incoming_text(
                INSTANCE, GUEST, "The shower is broken, no hot water", id_message="F1"
            )
            await ingest(db, hotel_id, [body])
            processor.notify([1])

            async def alerted() -> bool:
                return (await _stored(db))[0] == 1

            await _until(alerted, timeout_s=LLM_LATENCY_S)
            # the alert is recorded while the LLM is still thinking about the message
            assert fake.in_flight == 1
            alerts, row = await _stored(db)
            assert row == ("rules", True, "negative", "complaint")

            async def refined() -> bool:
                return bool((await _stored(db))[1][0] != "rules")

            await _until(refined, timeout_s=LLM_LATENCY_S * 3)
            alerts, row = await _stored(db)
            # the LLM's tone is kept, the need for staff and the category are not withdrawn
            assert row == ("llm+rules", True, "positive", "complaint")
            assert alerts == 1
            assert processor.fast_path_total == 1
        finally:
            processor.stop()
            await task


async def test_the_llm_may_add_an_alert_the_rules_missed(db: Database) -> None:
    hotel_id = await make_hotel(db)
    async with _stage(0.0) as (fake, stage):
        fake.script(
            [
                {
                    **POSITIVE_ANSWER,
                    "sentiment": "negative",
                    "score": -0.6,
                    "requires_attention": True,
                    "reason": "complaint: ignored",
                }
            ]
        )
        body = shapes.incoming_text(
            INSTANCE, GUEST, "ok so that is how it is here", id_message="L1"
        )
        await ingest(db, hotel_id, [body])
        processor = Processor(db, stage, clock=FakeClock())
        await processor.run_once()
        alerts, row = await _stored(db)
        assert fake.request_count == 1
        assert alerts == 1 and row[:2] == ("llm", True)
        assert processor.fast_path_total == 0


async def test_in_a_burst_emergencies_then_named_problems_are_written_first(db: Database) -> None:
    """Alerts ready at once are recorded emergencies first, then concrete findings, then the
    rest (here the trained model's guess), whatever order the guests wrote in; the alert
    reference shows the order."""
    hotel_id = await make_hotel(db)
    chats = {
        "guess": "79001110001@c.us",
        "complaint": "79001110002@c.us",
        "emergency": "79001110003@c.us",
    }
    texts = {
        "guess": "Any chance of checking in early? We land at 6am",
        "complaint": "The shower is broken",
        "emergency": "Fire! Smoke in the corridor",
    }
    assert attention_rank(default_analyser().analyse(texts["guess"])) == 2
    bodies = [
        shapes.incoming_text(INSTANCE, chats[k], texts[k], id_message=f"B{k}")
        for k in ("guess", "complaint", "emergency")
    ]
    await ingest(db, hotel_id, bodies)
    await Processor(db, SentimentStage(default_analyser(), None), clock=FakeClock()).run_once()
    async with db.read() as conn:
        order = [
            chat
            for (chat,) in await conn.execute(
                select(Message.chat_id)
                .join(Alert, Alert.message_id == Message.id)
                .order_by(Alert.reference)
            )
        ]
    assert order == [chats["emergency"], chats["complaint"], chats["guess"]]


async def test_an_earlier_message_with_the_llm_does_not_hold_the_alert_back(db: Database) -> None:
    """A guest writes a greeting, then a complaint: the greeting is still with the LLM when
    the rules read the complaint. Both are committed at once (the greeting on a provisional
    verdict), the complaint's alert leaves, and when the LLM says the greeting needed staff
    too, it is counted into the conversation's next alert (not dropped, not a second alert
    within the cooldown)."""
    hotel_id = await make_hotel(db)
    needs_staff = {
        **POSITIVE_ANSWER,
        "sentiment": "negative",
        "score": -0.5,
        "requires_attention": True,
        "reason": "complaint: unanswered",
    }
    async with _stage(LLM_LATENCY_S) as (fake, stage):
        fake.script([needs_staff, needs_staff])
        processor = Processor(db, stage, clock=FakeClock())
        task = asyncio.create_task(processor.run())
        try:
            bodies = [
                shapes.incoming_text(INSTANCE, GUEST, "Hi, one thing first", id_message="G1"),
                shapes.incoming_text(INSTANCE, GUEST, "The shower is broken", id_message="G2"),
            ]
            await ingest(db, hotel_id, bodies)
            processor.notify([1])

            async def alerted() -> bool:
                return (await _stored(db))[0] == 1

            await _until(alerted, timeout_s=LLM_LATENCY_S)
            assert fake.in_flight == 2  # both messages are still with the LLM
            rows = await _rows(db)
            assert rows["G1"] == ("rules", False) and rows["G2"] == ("rules", True)

            async def refined() -> bool:
                return all(r[0] != "rules" for r in (await _rows(db)).values())

            await _until(refined, timeout_s=LLM_LATENCY_S * 3)
            rows = await _rows(db)
            assert rows["G1"] == ("llm", True) and rows["G2"][1] is True
            async with db.read() as conn:
                counted = (await conn.execute(select(Conversation.suppressed_alerts))).scalar()
            assert counted == 1 and (await _stored(db))[0] == 1
        finally:
            processor.stop()
            await task


async def _rows(db: Database) -> dict[str, tuple[str, bool]]:
    async with db.read() as conn:
        query = select(Message.id_message, Message.analyser, Message.requires_attention)
        return {str(r[0]): (str(r[1]), bool(r[2])) for r in await conn.execute(query)}


def test_a_provisional_verdict_keeps_only_concrete_attention() -> None:
    guess = default_analyser().analyse("Any chance of checking in early? We land at 6am")
    assert guess.requires_attention and not is_concrete(guess)
    assert provisional(guess).requires_attention is False
    complaint = default_analyser().analyse("The shower is broken")
    assert provisional(complaint) == complaint
