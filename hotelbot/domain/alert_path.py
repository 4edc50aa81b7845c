"""How a verdict becomes a staff alert, and how fast (pure: no I/O).

Three decisions live here, so the processor, the sentiment stage and the alert writer share
one rule each:

* `is_concrete(verdict)`: the rules found something a person must act on (a named problem,
  a request, an emergency: a non-empty `categories`, or a complaint/urgent/request reason).
  A merely negative tone, or the trained model's guess, is not concrete.
* `alert_now(rules_verdict)`: the **fast path**. A concrete finding of the rules raises the
  alert as soon as the message is stored, without waiting for the LLM: staff read a
  complaint in about a second whatever the LLM's latency or outage. The LLM still judges
  the message afterwards (`combine`); it may refine the stored verdict but never withdraws
  the alert. A message the rules do not flag waits for the LLM, which may raise an alert
  the rules missed.
* `combine(llm_verdict, rules_verdict)`: the verdict kept when both answered. The LLM reads
  tone better than a lexicon, so its verdict is the base; but a concrete finding of the rules
  keeps the message needing attention (a wrong or manipulated LLM cannot make a complaint
  pass silently), and an emergency the rules read stays an emergency whatever the LLM says.
* `urgent(verdict)`: an emergency: alerted at once, past the cooldown and any quiet hours,
  first in the alert lane, marked urgent in the text.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.sentiment import AnalyserName, Verdict

ANSWERED_BY_SAFETY_NET: Final = AnalyserName.SAFETY_NET
_MAX_REASON_CHARS: Final = 160
_CONCRETE_REASONS: Final = ("complaint", "urgent", "request", "emergency", "follow-up")


def is_concrete(verdict: Verdict) -> bool:
    """True when `verdict` needs attention for a named reason (not tone or a model guess)."""
    return verdict.requires_attention and (
        bool(verdict.categories) or verdict.reason.startswith(_CONCRETE_REASONS)
    )


def alert_now(rules_verdict: Verdict) -> bool:
    """True when the rules' verdict alone is enough to alert staff at once (the fast path)."""
    return is_concrete(rules_verdict)


def urgent(verdict: Verdict | None) -> bool:
    """True for an emergency (whoever found it): the alert bypasses cooldown and waits for
    nothing."""
    return verdict is not None and verdict.requires_attention and verdict.is_emergency


def provisional(rules_verdict: Verdict) -> Verdict:
    """The verdict stored for a message committed before the LLM answered it (it stood in
    the way of a fast alert in the same chat): the rules' verdict, without attention that
    is not concrete (a tone, a model's guess: the LLM decides those when it answers)."""
    if is_concrete(rules_verdict) or not rules_verdict.requires_attention:
        return rules_verdict
    return dataclasses.replace(
        rules_verdict, requires_attention=False, category=None, categories=()
    )


def attention_rank(verdict: Verdict | None) -> int:
    """Which alert is written first when many are ready at once: 0 an emergency, 1 a
    concrete finding, 2 any other attention (tone, a model's guess, an LLM's), 3 none."""
    if verdict is None or not verdict.requires_attention:
        return 3
    if verdict.is_emergency:
        return 0
    return 1 if is_concrete(verdict) else 2


def combine(llm_verdict: Verdict, rules_verdict: Verdict) -> Verdict:
    """The LLM verdict, kept needing attention when the rules made a concrete finding, and
    an emergency when the rules read one. Pure; never raises."""
    if rules_verdict.is_emergency and not llm_verdict.is_emergency:
        return _merged(llm_verdict, rules_verdict, AttentionCategory.EMERGENCY, first=True)
    if llm_verdict.requires_attention or not is_concrete(rules_verdict):
        return llm_verdict
    return _merged(llm_verdict, rules_verdict, rules_verdict.category or llm_verdict.category)


def _merged(
    llm_verdict: Verdict,
    rules_verdict: Verdict,
    category: AttentionCategory | None,
    *,
    first: bool = False,
) -> Verdict:
    """The LLM's tone with the rules' finding: attention, category, details and reason.
    `first`: the rules' reason leads (an emergency), else the LLM's does."""
    parts = (
        (rules_verdict.reason, f"llm: {llm_verdict.reason}")
        if first
        else (llm_verdict.reason, f"rules: {rules_verdict.reason}")
    )
    reason = "; ".join(parts)
    if len(reason) > _MAX_REASON_CHARS:
        reason = reason[: _MAX_REASON_CHARS - 1] + "…"
    ordered = (
        rules_verdict.categories + llm_verdict.categories
        if first
        else llm_verdict.categories + rules_verdict.categories
    )
    return dataclasses.replace(
        llm_verdict,
        requires_attention=True,
        reason=reason,
        categories=tuple(dict.fromkeys(ordered)),
        category=category,
        analyser=ANSWERED_BY_SAFETY_NET,
    )
