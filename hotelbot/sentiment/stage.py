"""SentimentStage: the one place that decides who judges a guest message (LLM or rules).

The LLM answers when it is configured and reachable; the rules answer otherwise. The rules
also run next to every LLM answer as a safety net: when they see a concrete problem the LLM
did not flag, the message still requires attention, and an emergency the rules read stays
one (domain/alert_path.combine). A wrong or manipulated LLM can therefore make a complaint
look less negative, but cannot make it pass silently. The processor's fast path uses the two
halves separately: `rules_verdict` at once, `refine` when the LLM has answered.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, Protocol, runtime_checkable

from loguru import logger

from hotelbot.domain.alert_path import ANSWERED_BY_SAFETY_NET, combine
from hotelbot.domain.breaker import BreakerState, CircuitOpenError
from hotelbot.domain.llm_context import MessageContext, MessageRef, cache_key
from hotelbot.domain.llm_limits import (
    CallRates,
    LimitDecision,
    LlmLimits,
)
from hotelbot.domain.sentiment import AnalyserUnavailable, SentimentAnalyser, Verdict

__all__ = ["ANSWERED_BY_SAFETY_NET", "AnalyserChoice", "SentimentStage", "SentimentStats"]

AnalyserChoice = Literal["rules", "llm", "auto"]


class RulesLike(Protocol):
    """A synchronous analyser that always answers (the rule engine)."""

    def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict: ...


@runtime_checkable
class ReportsBreaker(Protocol):
    """An analyser that can tell the state of its circuit breaker (for STATUS)."""

    @property
    def breaker_state(self) -> BreakerState: ...


class Priced(Protocol):
    """What `LlmResult` carries (sentiment.llm; not imported here: it pulls in openai)."""

    @property
    def verdict(self) -> Verdict: ...
    @property
    def calls(self) -> int: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...


@runtime_checkable
class ReportsCost(Protocol):
    """A failed LLM call that knows what it cost (sentiment.llm.LlmCallFailed)."""

    calls: int
    prompt_tokens: int
    completion_tokens: int


@runtime_checkable
class ContextualLlm(Protocol):
    """An LLM analyser that takes the chat's context and reports its cost (LlmAnalyser)."""

    @property
    def model(self) -> str: ...
    @property
    def prompt_version(self) -> str: ...

    async def classify(
        self,
        text: str,
        *,
        language_hint: str | None = None,
        context: MessageContext | None = None,
        fair_key: Hashable = None,
    ) -> Priced: ...


class Prepared(Protocol):
    """What `Ledger.prepare` returns (storage.llm_ledger.Prepared)."""

    @property
    def context(self) -> MessageContext: ...
    @property
    def key(self) -> str: ...
    @property
    def cached(self) -> Verdict | None: ...


class Ledger(Protocol):
    """The database side of limits, cache and context (storage.llm_ledger.LlmLedger)."""

    async def limits_for(self, hotel_id: int) -> LlmLimits: ...
    async def add(
        self,
        hotel_id: int,
        day: date,
        *,
        calls: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cache_hits: int = 0,
        limited: int = 0,
    ) -> None: ...
    async def reserve_call(self, hotel_id: int, day: date, limits: LlmLimits) -> LimitDecision: ...
    async def first_over_budget(self, hotel_id: int, day: date) -> bool: ...
    async def flush(self, *, release: bool = False) -> None: ...
    async def record_call(
        self,
        hotel_id: int,
        day: date,
        *,
        key: str,
        verdict: Verdict,
        extra_calls: int,
        prompt_tokens: int,
        completion_tokens: int,
        now: datetime,
    ) -> None: ...
    async def prepare(
        self,
        ref: MessageRef,
        detected_language: str,
        day: date,
        key_of: Callable[[MessageContext], str],
    ) -> Prepared: ...


@dataclass(frozen=True, slots=True)
class SentimentStats:
    """A snapshot of the stage's counters since start, for STATUS and `hotelbot status`.

    `answered_by` counts verdicts by their `analyser` ("llm", "rules", "llm+rules").
    `llm_failed` counts LLM calls that were tried and failed; `llm_skipped` counts messages
    that went to rules because the circuit was open (no call made). Their sum is the number
    of fallbacks. `breaker_state` is None when no LLM is configured or it has no breaker.
    """

    llm_configured: bool
    answered_by: dict[str, int]
    llm_failed: int
    llm_skipped: int
    breaker_state: BreakerState | None
    llm_cache_hits: int = 0
    llm_limited: dict[str, int] = field(default_factory=dict)  # LimitDecision value -> count

    @property
    def fallbacks(self) -> int:
        return self.llm_failed + self.llm_skipped


class SentimentStage:
    """Combine an optional LLM analyser with the rule analyser.

    `analyse()` never raises for an LLM problem (it falls back to rules); it propagates only
    cancellation and bugs in the rule analyser. It may run twice for the same message (the
    pipeline is at-least-once); only the counters notice.
    """

    def __init__(
        self,
        rules: RulesLike,
        llm: SentimentAnalyser | None,
        *,
        ledger: Ledger | None = None,
        wall_clock: Callable[[], datetime] | None = None,
        monotonic_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rules = rules
        self._llm = llm
        self._ledger = ledger
        self._wall_clock = wall_clock
        self._monotonic_s = monotonic_s
        self._rates = CallRates()
        self._answered_by: Counter[str] = Counter()
        self._llm_failed = 0
        self._llm_skipped = 0
        self._cache_hits = 0
        self._limited: Counter[str] = Counter()

    @property
    def llm_configured(self) -> bool:
        return self._llm is not None

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        """The verdict for one guest message: LLM (with the rules' safety net) or rules."""
        rules_verdict = self._rules.analyse(text, language_hint=language_hint)
        return await self.refine(text, rules_verdict, language_hint=language_hint)

    def rules_verdict(self, text: str, *, language_hint: str | None = None) -> Verdict:
        """The rules' verdict alone, synchronously (microseconds, no I/O): the processor's
        fast path alerts on it without waiting for the LLM (domain.alert_path.alert_now)."""
        return self._rules.analyse(text, language_hint=language_hint)

    async def refine(
        self,
        text: str,
        rules_verdict: Verdict,
        *,
        language_hint: str | None = None,
        about: MessageRef | None = None,
    ) -> Verdict:
        """The final verdict given the rules' one: the LLM's combined with it
        (domain.alert_path.combine), or the rules' when no LLM answers. Never raises for an
        LLM problem; counts who answered.

        With `about` (which message of which chat) and a ledger, the LLM sees the chat's
        previous messages, an identical question asked today reuses the stored answer (no
        call), the hotel's limits apply (beyond them: the rules' verdict) and what each call
        cost is counted per hotel and day. Database errors of the ledger propagate (the
        processor retries the message)."""
        verdict = rules_verdict
        if self._llm is not None:
            try:
                if (
                    about is not None
                    and self._ledger is not None
                    and isinstance(self._llm, ContextualLlm)
                ):
                    llm_verdict = await self._judged_in_context(
                        self._llm, self._ledger, text, rules_verdict, language_hint, about
                    )
                else:
                    llm_verdict = await self._llm.analyse(text, language_hint=language_hint)
            except CircuitOpenError:
                self._llm_skipped += 1
            except AnalyserUnavailable:
                self._llm_failed += 1
            else:
                if llm_verdict is not None:
                    verdict = combine(llm_verdict, rules_verdict)
        self._answered_by[verdict.analyser] += 1
        return verdict

    async def _judged_in_context(
        self,
        llm: ContextualLlm,
        ledger: Ledger,
        text: str,
        rules_verdict: Verdict,
        language_hint: str | None,
        about: MessageRef,
    ) -> Verdict | None:
        """The LLM's raw verdict (cached or fresh), or None when a limit says rules only."""
        # the daemon's path only (prometheus_client stays out of the CLI's imports)
        from hotelbot.observability import metrics

        now = self._wall_clock() if self._wall_clock is not None else datetime.now(UTC)
        day, hotel_id = now.date(), about.hotel_id
        # one read for the context, the reason's language and the cache entry
        prepared = await ledger.prepare(
            about,
            rules_verdict.language,
            day,
            lambda context: cache_key(
                model=llm.model,
                prompt_version=llm.prompt_version,
                hotel_id=hotel_id,
                text=text,
                context=context,
            ),
        )
        context, key = prepared.context, prepared.key
        if prepared.cached is not None:
            self._cache_hits += 1
            metrics.LLM_NOT_CALLED.labels("cached").inc()
            await ledger.add(hotel_id, day, cache_hits=1)
            return prepared.cached
        limits = await ledger.limits_for(hotel_id)
        # the rates first (in memory): a guest over its rate spends nothing of the budget
        decision = self._rates.take(limits, hotel_id, about.chat_id, self._monotonic_s())
        if decision is LimitDecision.ALLOWED:
            # counted before the call against a block of the budget claimed atomically:
            # concurrent analyses and daemons cannot overshoot
            decision = await ledger.reserve_call(hotel_id, day, limits)
        if decision is not LimitDecision.ALLOWED:
            self._limited[decision.value] += 1
            metrics.LLM_NOT_CALLED.labels(decision.value).inc()
            await ledger.add(hotel_id, day, limited=1)
            if decision.over_budget and await ledger.first_over_budget(hotel_id, day):
                logger.warning(
                    "llm: hotel {} reached its daily LLM budget ({}); rules only until the "
                    "next UTC day (llm.limits / llm.hotel_limits)",
                    hotel_id,
                    decision.value,
                )
            return None
        try:
            result = await llm.classify(
                text, language_hint=language_hint, context=context, fair_key=hotel_id
            )
        except AnalyserUnavailable as exc:
            # a failed call may still have cost tokens (an answer that did not validate)
            if isinstance(exc, ReportsCost) and (exc.calls or exc.prompt_tokens):
                await ledger.add(
                    hotel_id,
                    day,
                    calls=max(0, exc.calls - 1),  # the first was counted by reserve_call
                    prompt_tokens=exc.prompt_tokens,
                    completion_tokens=exc.completion_tokens,
                )
            raise
        await ledger.record_call(
            hotel_id,
            day,
            key=key,
            verdict=result.verdict,
            extra_calls=result.calls - 1,  # the first was counted by reserve_call
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            now=now,
        )
        return result.verdict

    async def analyse_with(
        self, analyser: AnalyserChoice, text: str, *, language_hint: str | None = None
    ) -> Verdict:
        """For the CLI: force one analyser. "llm" returns the raw LLM verdict (no safety net)
        and raises `AnalyserUnavailable` when no LLM is configured or it cannot answer."""
        if analyser == "auto":
            return await self.analyse(text, language_hint=language_hint)
        if analyser == "rules":
            return self._rules.analyse(text, language_hint=language_hint)
        if self._llm is None:
            raise AnalyserUnavailable("no LLM is configured (llm.enabled is false or no key)")
        return await self._llm.analyse(text, language_hint=language_hint)

    async def aclose(self) -> None:
        """Write what the ledger still holds (counters, cache) and give back the unused
        part of its budget blocks. Idempotent; call before the database is closed."""
        if self._ledger is not None:
            await self._ledger.flush(release=True)

    def stats(self) -> SentimentStats:
        breaker_state = self._llm.breaker_state if isinstance(self._llm, ReportsBreaker) else None
        return SentimentStats(
            llm_configured=self._llm is not None,
            answered_by=dict(self._answered_by),
            llm_failed=self._llm_failed,
            llm_skipped=self._llm_skipped,
            breaker_state=breaker_state,
            llm_cache_hits=self._cache_hits,
            llm_limited=dict(self._limited),
        )
