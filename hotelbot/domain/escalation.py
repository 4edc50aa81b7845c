"""When an unacknowledged staff alert is escalated, and what the escalation says (pure).

An alert nobody acknowledged (`domain.acknowledgement`) within the hotel's
`escalate_after_min` (default 10) is escalated once: a message to the hotel's
`escalation_chat_id` (the duty manager) and a reminder in the staff chat. Acknowledging
it before stops that; an alert whose conversation staff handled after the guest wrote (an
answer that raced the alert) is settled without an escalation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from hotelbot.domain import staff_texts

DEFAULT_ESCALATE_AFTER_MIN = 10.0
# An emergency (an urgent alert: domain.alert_path) nobody acknowledged reaches the duty
# manager after at most this long, whatever the hotel's escalate_after_min.
URGENT_ESCALATE_AFTER_MIN = 2.0
# Alerts older than this are never escalated: after an upgrade (alerts written before
# acknowledgement existed are all "open") or a long outage, a burst of day-old escalations
# would bury the ones that matter.
MAX_AGE = timedelta(hours=24)


class EscalationDecision(StrEnum):
    WAIT = "wait"  # not due yet
    EXPIRED = "expired"  # older than MAX_AGE: left alone
    ESCALATE = "escalate"  # due: escalate now (once)
    SETTLED = "settled"  # acknowledged, escalated already, or handled since the guest wrote


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """What the decision needs about one alert and its conversation."""

    created_at: datetime
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    message_sent_at: datetime | None  # when the guest wrote what was alerted
    handled_at: datetime | None  # the conversation's, any route
    urgent: bool = False  # an emergency: escalated after URGENT_ESCALATE_AFTER_MIN at most


def decide(alert: OpenAlert, now: datetime, escalate_after_min: float) -> EscalationDecision:
    """ESCALATE once `escalate_after_min` passed since the alert was created and nobody
    acknowledged it; SETTLED when there is nothing (more) to do; EXPIRED past `MAX_AGE`;
    WAIT otherwise. A
    non-positive `escalate_after_min` counts as the default (escalation cannot be turned
    off by a typo). Pure; the caller makes it happen once (a conditional update + unique
    outbox keys)."""
    if alert.acknowledged_at is not None or alert.escalated_at is not None:
        return EscalationDecision.SETTLED
    if (
        alert.handled_at is not None
        and alert.message_sent_at is not None
        and alert.handled_at >= alert.message_sent_at
    ):
        return EscalationDecision.SETTLED
    minutes = escalate_after_min if escalate_after_min > 0 else DEFAULT_ESCALATE_AFTER_MIN
    if alert.urgent:
        minutes = min(minutes, URGENT_ESCALATE_AFTER_MIN)
    if now - alert.created_at > MAX_AGE:
        return EscalationDecision.EXPIRED
    if now - alert.created_at >= timedelta(minutes=minutes):
        return EscalationDecision.ESCALATE
    return EscalationDecision.WAIT


def oldest_candidate(now: datetime) -> datetime:
    """Alerts created before this instant are never escalated (the query's bound)."""
    return now - MAX_AGE


def escalation_text(
    reference: int, who: str, hotel: str, minutes: float, excerpt: str, language: str | None
) -> str:
    """To the duty manager: which alert, about whom, for how long nobody acted. `who`,
    `hotel` and `excerpt` are sanitised by the caller (domain.display.for_people)."""
    lines = [
        staff_texts.line(
            "escalation", language, minutes=_minutes(minutes), ref=reference, hotel=hotel, who=who
        )
    ]
    if excerpt:
        lines.append(f"“{excerpt}”")
    lines.append(staff_texts.line("escalation_hint", language))
    return "\n".join(lines)


def reminder_text(reference: int, who: str, minutes: float, language: str | None) -> str:
    """In the staff chat: the alert is still open."""
    head = staff_texts.line("reminder", language, ref=reference, minutes=_minutes(minutes), who=who)
    return f"{head}\n{staff_texts.line('reminder_hint', language, ref=reference)}"


def _minutes(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def escalation_key(alert_id: int) -> str:
    """Outbox idempotency key of an alert's escalation: one per alert, ever."""
    return f"escalation:{alert_id}"


def reminder_key(alert_id: int) -> str:
    """Outbox idempotency key of an alert's reminder: one per alert, ever."""
    return f"reminder:{alert_id}"
