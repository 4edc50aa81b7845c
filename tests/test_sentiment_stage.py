"""SentimentStage: LLM first, rules as fallback and as a safety net for attention."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import openai
import pytest

from hotelbot.domain.breaker import BreakerState, CircuitBreaker
from hotelbot.domain.rules import default_analyser
from hotelbot.domain.sentiment import AnalyserUnavailable, Sentiment, Verdict
from hotelbot.fakes.openai_server import FakeOpenAI
from hotelbot.sentiment.llm import LlmAnalyser
from hotelbot.sentiment.stage import SentimentStage

NO_HOT_WATER = "Lovely staff, thanks! But there is no hot water in 305"
POSITIVE_ANSWER = {
    "sentiment": "positive",
    "score": 0.9,
    "requires_attention": False,
    "reason": "praise for staff",
    "language": "en",
}


class KeywordRules:
    """A tiny, deterministic stand-in for the rule engine (implements RulesLike)."""

    name = "rules"

    def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        if "no hot water" in text.lower():
            return Verdict(
                Sentiment.NEGATIVE,
                -0.6,
                True,
                "complaint: no hot water",
                language_hint or "en",
                "rules",
                ("plumbing",),
            )
        return Verdict(Sentiment.NEUTRAL, 0.0, False, "no rule matched", "en", "rules")


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def llm(fake: FakeOpenAI) -> AsyncIterator[LlmAnalyser]:
    client = openai.AsyncOpenAI(
        base_url=fake.base_url,
        api_key="sk-test",
        timeout=openai.Timeout(0.3, connect=0.3),
        max_retries=0,
    )
    breaker = CircuitBreaker(2, 30.0, 60.0, clock=FakeClock(), rng=random.Random(3))
    analyser = LlmAnalyser(
        client,
        "deepseek-chat",
        max_concurrency=4,
        breaker=breaker,
        max_text_chars=500,
        deadline_s=2.0,
    )
    yield analyser
    await analyser.aclose()


async def test_llm_up_answers(fake: FakeOpenAI, llm: LlmAnalyser) -> None:
    stage = SentimentStage(KeywordRules(), llm)
    verdict = await stage.analyse("The room was perfect, thank you")
    assert verdict.analyser == "llm"
    assert verdict.sentiment is Sentiment.POSITIVE
    assert fake.request_count == 1
    stats = stage.stats()
    assert stats.answered_by == {"llm": 1}
    assert stats.fallbacks == 0
    assert stats.breaker_state is BreakerState.CLOSED


async def test_llm_down_falls_back_to_rules(fake: FakeOpenAI, llm: LlmAnalyser) -> None:
    stage = SentimentStage(KeywordRules(), llm)
    fake.fail_next(1, status=503)
    verdict = await stage.analyse("there is no hot water")
    assert verdict.analyser == "rules"
    assert verdict.requires_attention is True
    assert stage.stats().llm_failed == 1


async def test_llm_unreachable_falls_back_to_rules(fake: FakeOpenAI, llm: LlmAnalyser) -> None:
    await fake.stop()  # nothing listens on the port any more
    stage = SentimentStage(KeywordRules(), llm)
    verdict = await stage.analyse("hello")
    assert verdict.analyser == "rules"
    assert stage.stats().llm_failed == 1


async def test_open_breaker_skips_the_llm_and_says_so(fake: FakeOpenAI, llm: LlmAnalyser) -> None:
    stage = SentimentStage(KeywordRules(), llm)
    fake.fail_next(2, status=500)
    for _ in range(4):
        assert (await stage.analyse("hello")).analyser == "rules"
    stats = stage.stats()
    assert (stats.llm_failed, stats.llm_skipped, stats.fallbacks) == (2, 2, 4)
    assert stats.breaker_state is BreakerState.OPEN
    assert fake.request_count == 2


async def test_rules_raise_attention_the_llm_missed(fake: FakeOpenAI, llm: LlmAnalyser) -> None:
    fake.script([POSITIVE_ANSWER])
    stage = SentimentStage(KeywordRules(), llm)
    verdict = await stage.analyse(NO_HOT_WATER)
    # the LLM's reading of tone stays; the complaint cannot pass silently
    assert verdict.sentiment is Sentiment.POSITIVE
    assert verdict.score == 0.9
    assert verdict.requires_attention is True
    assert verdict.analyser == "llm+rules"
    assert "complaint: no hot water" in verdict.reason
    assert verdict.categories == ("plumbing",)
    assert stage.stats().answered_by == {"llm+rules": 1}


async def test_llm_flagging_attention_itself_stays_plain_llm(
    fake: FakeOpenAI, llm: LlmAnalyser
) -> None:
    stage = SentimentStage(KeywordRules(), llm)
    verdict = await stage.analyse(NO_HOT_WATER)  # the fake's classifier flags it too
    assert verdict.analyser == "llm"
    assert verdict.requires_attention is True


async def test_no_llm_configured_uses_rules() -> None:
    stage = SentimentStage(KeywordRules(), None)
    verdict = await stage.analyse("no hot water again", language_hint="ru")
    assert verdict.analyser == "rules"
    assert verdict.language == "ru"
    stats = stage.stats()
    assert stats.llm_configured is False
    assert stats.breaker_state is None
    assert stats.fallbacks == 0
    with pytest.raises(AnalyserUnavailable):
        await stage.analyse_with("llm", "hello")


async def test_analyse_with_forces_one_analyser(fake: FakeOpenAI, llm: LlmAnalyser) -> None:
    stage = SentimentStage(KeywordRules(), llm)
    assert (await stage.analyse_with("rules", NO_HOT_WATER)).analyser == "rules"
    assert fake.request_count == 0
    fake.script([POSITIVE_ANSWER])
    raw = await stage.analyse_with("llm", NO_HOT_WATER)
    assert (raw.analyser, raw.requires_attention) == ("llm", False)  # raw, no safety net
    fake.script([POSITIVE_ANSWER])
    assert (await stage.analyse_with("auto", NO_HOT_WATER)).analyser == "llm+rules"
    fake.fail_next(1, status=500)
    with pytest.raises(AnalyserUnavailable):
        await stage.analyse_with("llm", "hello")


def _import_probe(llm_enabled: bool) -> tuple[str, bool]:
    """Build the stage in a fresh interpreter; report its LLM status and whether the openai SDK
    got imported (it costs start-up time and RSS, so only a configured LLM may import it)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from hotelbot.settings import Settings\n"
        "from hotelbot.sentiment.factory import build_stage\n"
        f"s = Settings.model_validate({{'llm': {{'enabled': {llm_enabled}}}}})\n"
        "built = build_stage(s, {'DEEPSEEK_API_KEY': 'k'})\n"
        "print(json.dumps([built.llm_status, 'openai' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    status, imported = json.loads(out)
    return str(status), bool(imported)


def test_the_openai_sdk_is_imported_only_for_a_configured_llm() -> None:
    assert _import_probe(llm_enabled=False) == ("not configured", False)
    assert _import_probe(llm_enabled=True) == ("configured", True)


SMOKE = "There is smoke coming from under the door"
COMPLAINT_ANSWER = {
    "sentiment": "negative",
    "score": -0.7,
    "requires_attention": True,
    "reason": "complaint: smell",
    "language": "en",
}


@pytest.mark.parametrize("answer", [POSITIVE_ANSWER, COMPLAINT_ANSWER])
async def test_an_emergency_the_rules_read_stays_one_whatever_the_llm_says(
    fake: FakeOpenAI, llm: LlmAnalyser, answer: dict[str, object]
) -> None:
    fake.script([answer])
    stage = SentimentStage(default_analyser(), llm)
    verdict = await stage.analyse(SMOKE)
    assert fake.request_count == 1  # the LLM did answer
    assert verdict.is_emergency and verdict.requires_attention
    assert verdict.categories[0] == "fire"
    assert verdict.reason.startswith("emergency: fire")
    assert verdict.analyser == "llm+rules"


async def test_the_rules_verdict_is_there_before_the_llm_is_asked(
    fake: FakeOpenAI, llm: LlmAnalyser
) -> None:
    stage = SentimentStage(default_analyser(), llm)
    quick = stage.rules_verdict(SMOKE)
    assert fake.request_count == 0
    assert quick.is_emergency and quick.analyser == "rules"
    fake.script([POSITIVE_ANSWER])
    refined = await stage.refine(SMOKE, quick)
    assert refined.is_emergency and refined.sentiment is Sentiment.POSITIVE
