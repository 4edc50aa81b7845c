"""SentimentStage: the one place that decides who judges a guest message (LLM or rules).

The LLM answers when it is configured and reachable; the rules answer otherwise. The rules
also run next to every LLM answer as a safety net: when they see a concrete problem the LLM
did not flag, the message still requires attention, and an emergency the rules read stays
one (domain/alert_path.combine). A wrong or manipulated LLM can therefore make a complaint
look less negative, but cannot make it pass silently. The processor's fast path uses the two
halves separately: `rules_verdict` at once, `refine` when the LLM has answered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from hotelbot.domain.alert_path import ANSWERED_BY_SAFETY_NET, combine
from hotelbot.domain.breaker import BreakerState, CircuitOpenError
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

    @property
    def fallbacks(self) -> int:
        return self.llm_failed + self.llm_skipped


class SentimentStage:
    """Combine an optional LLM analyser with the rule analyser.

    `analyse()` never raises for an LLM problem (it falls back to rules); it propagates only
    cancellation and bugs in the rule analyser. It may run twice for the same message (the
    pipeline is at-least-once); only the counters notice.
    """

    def __init__(self, rules: RulesLike, llm: SentimentAnalyser | None) -> None:
        self._rules = rules
        self._llm = llm
        self._answered_by: Counter[str] = Counter()
        self._llm_failed = 0
        self._llm_skipped = 0

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
        self, text: str, rules_verdict: Verdict, *, language_hint: str | None = None
    ) -> Verdict:
        """The final verdict given the rules' one: the LLM's combined with it
        (domain.alert_path.combine), or the rules' when no LLM answers. Never raises for an
        LLM problem; counts who answered."""
        verdict = rules_verdict
        if self._llm is not None:
            try:
                llm_verdict = await self._llm.analyse(text, language_hint=language_hint)
            except CircuitOpenError:
                self._llm_skipped += 1
            except AnalyserUnavailable:
                self._llm_failed += 1
            else:
                verdict = combine(llm_verdict, rules_verdict)
        self._answered_by[verdict.analyser] += 1
        return verdict

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

    def stats(self) -> SentimentStats:
        breaker_state = self._llm.breaker_state if isinstance(self._llm, ReportsBreaker) else None
        return SentimentStats(
            llm_configured=self._llm is not None,
            answered_by=dict(self._answered_by),
            llm_failed=self._llm_failed,
            llm_skipped=self._llm_skipped,
            breaker_state=breaker_state,
        )
