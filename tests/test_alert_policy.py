"""The pure alert policy: cooldown decisions, follow-ups, texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotelbot.domain.alerts import (
    AlertDecision,
    AlertSubject,
    CooldownState,
    alert_text,
    alerted,
    decide,
    excerpt,
    followup_due,
    followup_text,
    is_negative_reaction,
    on_attention,
    phone_of,
)

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
COOL = timedelta(minutes=30)


def test_cooldown() -> None:
    assert decide(T0, COOL, CooldownState(None, 0)) is AlertDecision.ALERT
    assert decide(T0, COOL, CooldownState(T0 - timedelta(minutes=29), 0)) is AlertDecision.SUPPRESS
    assert decide(T0, COOL, CooldownState(T0 - COOL, 3)) is AlertDecision.ALERT
    assert decide(T0, timedelta(0), CooldownState(T0, 0)) is AlertDecision.ALERT


def test_followup_due_only_with_counted_messages_after_the_cooldown() -> None:
    assert not followup_due(T0, COOL, CooldownState(T0 - COOL, 0))
    assert not followup_due(T0, COOL, CooldownState(T0 - timedelta(minutes=1), 4))
    assert not followup_due(T0, COOL, CooldownState(None, 4))
    assert followup_due(T0, COOL, CooldownState(T0 - COOL, 4))


def test_a_message_in_the_cooldown_is_counted_and_the_next_alert_resets_the_count() -> None:
    start = CooldownState(None, 0)
    decision, state = on_attention(T0, COOL, start, 11)
    assert decision is AlertDecision.ALERT and state == alerted(T0) == CooldownState(T0, 0, None)
    decision, state = on_attention(T0 + timedelta(minutes=1), COOL, state, 12)
    assert decision is AlertDecision.SUPPRESS and state == CooldownState(T0, 1, 12)
    decision, state = on_attention(T0 + timedelta(minutes=2), COOL, state, 13)
    assert decision is AlertDecision.SUPPRESS and state == CooldownState(T0, 2, 13)
    assert followup_due(T0 + COOL, COOL, state)
    # an emergency inside the cooldown alerts at once and starts a new cooldown
    later = T0 + timedelta(minutes=3)
    decision, after = on_attention(later, COOL, state, 14, urgent=True)
    assert decision is AlertDecision.ALERT and after == CooldownState(later, 0, None)


def test_texts() -> None:
    who = AlertSubject("Anna", "79001234568@c.us", "+79001234568", room="214")
    text = alert_text(who, "complaint: no hot water", "No hot   water\nagain!", earlier=2)
    assert "Anna (+79001234568), room 214" in text
    assert "“No hot water again!”" in text and "(+2 more messages" in text
    assert "+1 more message from" in followup_text(who, 1, "complaint", "x")
    lid = AlertSubject(None, "123456789012345@lid")
    assert lid.label() == "123456789012345@lid"
    assert excerpt("a" * 500).endswith("…") and len(excerpt("a" * 500)) == 160
    assert excerpt(None) == ""


def test_phone_and_reactions() -> None:
    assert phone_of("79001234568@c.us") == "+79001234568"
    assert phone_of("120363043968066561@g.us") is None
    assert phone_of("123456789012345@lid") is None
    assert is_negative_reaction("👎") and is_negative_reaction("👎🏿")
    assert not is_negative_reaction("👍") and not is_negative_reaction("")
