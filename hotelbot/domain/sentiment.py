"""Sentiment verdicts shared by every analyser (rules, LLM) and the sentiment stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from hotelbot.domain.categories import AttentionCategory


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class AnalyserName(StrEnum):
    """Who produced a verdict (`Verdict.analyser`, column `messages.analyser`, the metrics'
    `analyser` label). Tests may use other names; stored rows keep what was written."""

    RULES = "rules"  # domain/rules, in process
    LLM = "llm"  # sentiment/llm.py
    SAFETY_NET = "llm+rules"  # the LLM answered and the rules' alert path overruled it
    REACTION = "reaction"  # a guest's reaction to one of our messages
    SIGNAL = "signal"  # a message without words (call, voice note, photo...): domain/signals


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an analyser concluded about one guest message.

    `score` is in [-1, 1] (negative = unhappy). `requires_attention` is separate from
    tone: "still waiting for towels" is neutral in tone but needs staff. `reason` is a
    short label-like explanation ("complaint: no hot water"), never the guest's text.
    `language` is an ISO 639-1 code ("en", "ru") or "und" when unknown. `analyser`
    names who answered ("rules", "llm"). `category` is the main reason someone has to act
    (None when nobody has to); `categories` holds finer detail ("hot water", "fire").
    """

    sentiment: Sentiment
    score: float
    requires_attention: bool
    reason: str
    language: str
    analyser: str
    categories: tuple[str, ...] = field(default=())
    category: AttentionCategory | None = None

    @property
    def is_emergency(self) -> bool:
        """True when the guest reports an emergency (alerts go out at once, urgent)."""
        return self.category is AttentionCategory.EMERGENCY

    def as_dict(self) -> dict[str, object]:
        return {
            "sentiment": self.sentiment.value,
            "score": round(self.score, 4),
            "requires_attention": self.requires_attention,
            "reason": self.reason,
            "language": self.language,
            "analyser": self.analyser,
            "categories": list(self.categories),
            "category": self.category.value if self.category else None,
        }


class SentimentAnalyser(Protocol):
    """An asynchronous analyser. Implementations never raise for bad *input*;
    adapters that talk to a network raise `AnalyserUnavailable` when they cannot answer."""

    name: str

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict: ...


class AnalyserUnavailable(Exception):
    """The analyser could not produce a verdict (timeout, outage, invalid output, open breaker)."""
