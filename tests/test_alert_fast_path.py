"""domain.alert_path: which verdicts alert at once, and how an LLM answer is combined."""

from __future__ import annotations

import pytest

from hotelbot.domain.alert_path import alert_now, combine, is_concrete, urgent
from hotelbot.domain.categories import AttentionCategory as A
from hotelbot.domain.rules import default_analyser
from hotelbot.domain.sentiment import Sentiment, Verdict


def _llm(requires_attention: bool, reason: str = "calm") -> Verdict:
    sentiment = Sentiment.NEGATIVE if requires_attention else Sentiment.POSITIVE
    return Verdict(sentiment, -0.5 if requires_attention else 0.8, requires_attention, reason,
                   "en", "llm")  # fmt: skip


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


def test_the_llm_may_add_an_alert_the_rules_missed() -> None:
    rules = default_analyser().analyse("ok")
    combined = combine(_llm(True, "complaint: sarcasm"), rules)
    assert combined.requires_attention and combined.analyser == "llm"
