"""Staff alert policy (pure): when a message that needs attention alerts staff, and the text.

Cooldown per conversation: the first message needing attention alerts at once; further
ones within `cooldown` of that alert are only counted. When the cooldown has passed, the
next one alerts again and mentions how many were counted ("+4 more messages"); if none
comes, a follow-up summarises the counted ones (`followup_due`). So one angry guest writing
five messages in a minute gives staff two WhatsApp messages, not five.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from hotelbot.domain import staff_texts
from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.display import for_people
from hotelbot.domain.sentiment import AnalyserName, Sentiment, Verdict

EXCERPT_CHARS = 160


class AlertState(StrEnum):
    """Where a staff alert went (column `alerts.state`)."""

    QUEUED = "queued"  # an outbox row to the staff chat carries it
    UNSENT = "unsent"  # the hotel has no staff chat: stored for `hotelbot alerts` only


class AlertDecision(StrEnum):
    ALERT = "alert"  # send an alert now
    SUPPRESS = "suppress"  # within the cooldown: count it for the follow-up


@dataclass(frozen=True, slots=True)
class CooldownState:
    """What a conversation remembers about alerts (columns of `conversations`): the last
    alert, how many messages were counted since, and the one a follow-up quotes."""

    last_alert_at: datetime | None
    suppressed: int
    last_counted: int | None = None  # message id of the newest counted message


@dataclass(frozen=True, slots=True)
class AlertSubject:
    """Who the alert is about. `room` is filled in once stays are known (None until then)."""

    name: str | None
    chat_id: str
    phone: str | None = None
    room: str | None = None

    def label(self, language: str | None = None) -> str:
        """Who, for a staff chat in the staff's `language` ("Anna (+371...), room 101"): the
        guest-chosen name is sanitised (one line, no controls)."""
        name = for_people(self.name, max_chars=60)
        room = for_people(self.room, max_chars=16)
        who = name or self.phone or for_people(self.chat_id, max_chars=64)
        if self.phone and name:
            who = f"{name} ({self.phone})"
        return staff_texts.subject(who, room or None, language)


def decide(
    now: datetime, cooldown: timedelta, state: CooldownState, *, urgent: bool = False
) -> AlertDecision:
    """ALERT when no alert was sent for this conversation within `cooldown`, else SUPPRESS.
    An `urgent` message (an emergency, domain.alert_path.urgent) always alerts: staff must
    not learn of a fire minutes late because the guest complained about towels before."""
    if urgent or state.last_alert_at is None or now - state.last_alert_at >= cooldown:
        return AlertDecision.ALERT
    return AlertDecision.SUPPRESS


def on_attention(
    now: datetime,
    cooldown: timedelta,
    state: CooldownState,
    message_id: int,
    *,
    urgent: bool = False,
) -> tuple[AlertDecision, CooldownState]:
    """A message (`message_id`) needs attention at `now`: the decision (`decide`) and the
    conversation's state after it. SUPPRESS counts the message (a follow-up will quote it);
    ALERT starts a new cooldown (`alerted`). The alert's text names `state.suppressed`, the
    count before this message."""
    decision = decide(now, cooldown, state, urgent=urgent)
    if decision is AlertDecision.SUPPRESS:
        return decision, CooldownState(state.last_alert_at, state.suppressed + 1, message_id)
    return decision, alerted(now)


def alerted(now: datetime) -> CooldownState:
    """The state after an alert or a follow-up was sent at `now`: a new cooldown, nothing
    counted."""
    return CooldownState(now, 0, None)


def followup_due(now: datetime, cooldown: timedelta, state: CooldownState) -> bool:
    """True when counted messages are waiting and the cooldown since the last alert is over."""
    return (
        state.suppressed > 0
        and state.last_alert_at is not None
        and now - state.last_alert_at >= cooldown
    )


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The message on one line, sanitised, cut at `limit` characters (an ellipsis marks it)."""
    return for_people(text, max_chars=limit)


def alert_text(
    subject: AlertSubject,
    reason: str,
    text: str | None,
    earlier: int = 0,
    *,
    language: str | None = None,
    category: AttentionCategory | None = None,
    guest_language: str | None = None,
    urgent: bool = False,
) -> str:
    """The WhatsApp text sent to the staff chat for one message needing attention, in the
    staff's `language` (domain.staff_texts; English when unknown): who (sanitised label),
    the reason, the category and the guest's language, a sanitised excerpt.

    `earlier` = messages needing attention that were counted (not alerted) since the last
    alert. `urgent` (an emergency) opens with the urgent line instead of the usual one.
    The reference line is added when the alert is recorded (`reference_line`).
    Staff see the guest's words here on purpose; logs never do.
    """
    writes_in = staff_texts.language_name(for_people(guest_language, max_chars=8), language)
    lines = [
        staff_texts.line("urgent" if urgent else "alert", language, who=subject.label(language)),
        staff_texts.line("reason", language, reason=_reason(reason, language)),
        staff_texts.line(
            "about",
            language,
            category=staff_texts.category_name(category, language),
            guest_language=writes_in,
        ),
    ]
    quoted = excerpt(text)
    if quoted:
        lines.append(f"“{quoted}”")
    if earlier > 0:
        word = staff_texts.messages_word(earlier, language)
        lines.append(staff_texts.line("earlier", language, count=earlier, messages=word))
    return "\n".join(lines)


def followup_text(
    subject: AlertSubject,
    count: int,
    reason: str,
    latest: str | None,
    *,
    language: str | None = None,
) -> str:
    """The follow-up after the cooldown: `count` more messages needed attention."""
    lines = [
        staff_texts.line(
            "followup",
            language,
            count=count,
            who=subject.label(language),
            messages=staff_texts.messages_word(count, language),
        ),
        staff_texts.line("latest_reason", language, reason=_reason(reason, language)),
    ]
    quoted = excerpt(latest)
    if quoted:
        lines.append(staff_texts.line("latest", language, text=quoted))
    return "\n".join(lines)


def _reason(reason: str, language: str | None) -> str:
    """The reason line's value: sanitised, the rules' labels in the staff's language."""
    translated = staff_texts.reason(for_people(reason, max_chars=200), language)
    return for_people(translated, max_chars=200)


def reference_line(reference: int, language: str | None = None) -> str:
    """The last line of every alert: its reference and how to acknowledge it."""
    return staff_texts.line("reference", language, ref=reference)


def phone_of(chat_id: str) -> str | None:
    """ "+<digits>" for a personal @c.us chat; None for groups and @lid ids (not numbers)."""
    local, _, domain = chat_id.partition("@")
    if domain != "c.us" or not local.isdigit():
        return None
    return f"+{local}"


# Reactions that say "unhappy" about a message (ours, usually): a weak signal, no alert alone.
NEGATIVE_REACTIONS = frozenset(
    {"👎", "😡", "😠", "🤬", "😤", "💩", "😞", "😢", "😭", "🙁", "☹️", "☹"}
)


def is_negative_reaction(emoji: str) -> bool:
    """True for a thumbs-down/angry/sad reaction (skin-tone modifiers ignored)."""
    base = "".join(ch for ch in emoji if not 0x1F3FB <= ord(ch) <= 0x1F3FF).strip()
    return base in NEGATIVE_REACTIONS


def reaction_verdict() -> Verdict:
    """The verdict recorded on a negative reaction row (analyser "reaction")."""
    return Verdict(
        sentiment=Sentiment.NEGATIVE,
        score=-0.5,
        requires_attention=False,
        reason="negative reaction",
        language="und",
        analyser=AnalyserName.REACTION,
    )
