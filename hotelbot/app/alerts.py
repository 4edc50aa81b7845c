"""Use case: staff alerts - the alert a message raises, and the follow-up after a cooldown.

The rule of when to alert is `domain.alerts` (cooldown per conversation, emergencies past
it); this module applies it and composes what staff read, for both callers: the processing
transaction (`app.understand.understand_batch`) and the processor's periodic scan
(`send_followups`). The store records the alerts (`storage.alerts.record_alerts`: the
outbox row to the staff chat and the alert row, unique per message, so a replay records
nothing twice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from hotelbot.app.chats import ConvState, GuestState, Key
from hotelbot.domain import alerts as policy
from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.signal_texts import digest_line, signal_alert_text
from hotelbot.domain.signals import SignalKind, SignalMode, digest_since


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """An alert decided but not yet recorded. `text` is what staff will read."""

    hotel_id: int
    conversation_id: int
    message_id: int
    kind: str  # alert | followup
    reason: str
    more_count: int
    text: str
    signal: str | None = None  # domain.signals.SignalKind when a signal raised it
    category: str | None = None  # domain.categories.AttentionCategory of the verdict
    urgent: bool = False  # an emergency: first in the alert lane, past the cooldown


@dataclass(slots=True)
class BatchResult:
    """What one processing transaction did (for counters and once-only warnings)."""

    processed: int = 0
    alerts: int = 0
    unsent_alert_hotels: set[int] = field(default_factory=set)


@dataclass(slots=True)
class Attention:
    """A guest message that requires attention, decided once its row id is known."""

    key: Key
    message_id: int
    text: str | None
    reason: str
    signal: SignalKind | None = None
    category: AttentionCategory | None = None
    language: str | None = None  # the guest's, as the analyser saw it
    urgent: bool = False  # an emergency (domain.alert_path.urgent)


@dataclass(frozen=True, slots=True)
class FollowupCandidate:
    """A conversation with messages counted during a cooldown (`suppressed_alerts` > 0)."""

    conversation_id: int
    hotel_id: int
    chat_id: str
    state: policy.CooldownState
    guest_id: int | None
    guest_name: str | None
    latest_text: str | None  # the newest counted message (the follow-up quotes it)
    latest_reason: str | None


class AlertStore(Protocol):
    """What composing and recording alerts reads and writes, in the caller's transaction."""

    async def room_of(self, hotel_id: int, guest_id: int | None, chat_id: str) -> str | None:
        """The guest's room now (from the current stay), or None."""
        ...

    async def digest_counts(
        self, conversation_id: int, since: datetime, modes: Mapping[SignalKind, SignalMode]
    ) -> dict[SignalKind, int]:
        """Signals in DIGEST mode of the conversation since `since` that raised no alert."""
        ...

    async def alerted_messages(self, message_ids: Sequence[int]) -> set[int]:
        """Those of `message_ids` that have an alert row already (a replay)."""
        ...

    async def record_alerts(
        self,
        drafts: Sequence[AlertDraft],
        hotels: Mapping[int, HotelPolicy],
        now: datetime,
        result: BatchResult,
    ) -> dict[int, int]:
        """Queue each alert to its hotel's staff chat and insert its row (idempotent by
        message); {message id: alert id} of the rows inserted now; counts into `result`."""
        ...


class FollowupStore(AlertStore, Protocol):
    """`AlertStore` plus the conversations waiting for a follow-up."""

    async def followup_candidates(self) -> list[FollowupCandidate]:
        """Every conversation with counted messages (whether or not its cooldown ended)."""
        ...

    async def set_cooldown(
        self,
        conversation_id: int,
        state: policy.CooldownState,
        *,
        open_alert_id: int | None,
        now: datetime,
    ) -> None:
        """Store the conversation's cooldown state and its open alert."""
        ...


async def decide_alerts(
    store: AlertStore,
    attention: Sequence[Attention],
    convs: Mapping[Key, ConvState],
    guests: Mapping[Key, GuestState],
    hotels: Mapping[int, HotelPolicy],
    now: datetime,
    result: BatchResult,
) -> None:
    """Alert staff about each message of `attention` the cooldown lets through; count the
    others into their conversation's next alert. Changes `convs` in memory (the caller
    writes them back in the same transaction). A message alerted before (a replay) is
    skipped: alerts are exactly once per message."""
    if not attention:
        return
    existing = await store.alerted_messages([a.message_id for a in attention])
    drafts: list[tuple[ConvState, AlertDraft]] = []
    for item in attention:
        if item.message_id in existing:
            continue  # a replay: this message was alerted (or summarised) already
        conv, hotel = convs[item.key], hotels[item.key[0]]
        before = policy.CooldownState(
            conv.last_alert_at, conv.suppressed_alerts, conv.last_suppressed_message_id
        )
        cooldown = timedelta(minutes=hotel.alert_cooldown_min)
        decision, after = policy.on_attention(
            now, cooldown, before, item.message_id, urgent=item.urgent
        )
        if decision is policy.AlertDecision.SUPPRESS:
            _set_cooldown(conv, after)
            continue
        guest = guests.get(item.key)
        text = await _alert_text(store, item, conv, guest, hotel, now)
        drafts.append(
            (
                conv,
                AlertDraft(
                    hotel.id,
                    conv.id,
                    item.message_id,
                    "alert",
                    item.reason,
                    conv.suppressed_alerts,
                    text,
                    signal=item.signal,
                    category=item.category,
                    urgent=item.urgent,
                ),
            )
        )
        _set_cooldown(conv, after)
    if drafts:
        alert_ids = await store.record_alerts([d for _, d in drafts], hotels, now, result)
        for conv, draft in drafts:
            conv.open_alert_id = alert_ids.get(draft.message_id, conv.open_alert_id)


async def _alert_text(
    store: AlertStore,
    item: Attention,
    conv: ConvState,
    guest: GuestState | None,
    hotel: HotelPolicy,
    now: datetime,
) -> str:
    """What staff read: who (name, phone, room), why, the guest's words, the earlier
    messages counted, and the signals of the digest."""
    room = await store.room_of(hotel.id, guest.id if guest else None, item.key[1])
    subject = policy.AlertSubject(
        guest.name if guest else None, item.key[1], policy.phone_of(item.key[1]), room
    )
    since = digest_since(conv.last_alert_at, now)
    digest = await store.digest_counts(conv.id, since, hotel.signal_modes)
    lang = hotel.staff_language
    if item.signal is not None:
        return signal_alert_text(
            item.signal, subject.label(lang), lang, digest, conv.suppressed_alerts, item.text
        )
    guest_language = item.language if item.language not in (None, "", "und") else None
    text = policy.alert_text(
        subject,
        item.reason,
        item.text,
        conv.suppressed_alerts,
        language=lang,
        category=item.category,
        guest_language=guest_language or (guest.language if guest else None),
        urgent=item.urgent,
    )
    return "\n".join(filter(None, [text, digest_line(digest, lang)]))


def _set_cooldown(conv: ConvState, state: policy.CooldownState) -> None:
    conv.last_alert_at = state.last_alert_at
    conv.suppressed_alerts = state.suppressed
    conv.last_suppressed_message_id = state.last_counted
    conv.touched = True


async def send_followups(
    store: FollowupStore, hotels: Mapping[int, HotelPolicy], *, now: datetime
) -> BatchResult:
    """Send the follow-up alert of every conversation (of `hotels`) whose cooldown ended
    with messages counted, in the caller's transaction. Idempotent: the follow-up is
    recorded against the newest counted message, so running it twice alerts once."""
    result = BatchResult()
    for found in await store.followup_candidates():
        hotel = hotels.get(found.hotel_id)
        if hotel is None or found.state.last_counted is None:
            continue
        cooldown = timedelta(minutes=hotel.alert_cooldown_min)
        if not policy.followup_due(now, cooldown, found.state):
            continue
        room = await store.room_of(hotel.id, found.guest_id, found.chat_id)
        subject = policy.AlertSubject(
            found.guest_name, found.chat_id, policy.phone_of(found.chat_id), room
        )
        reason = found.latest_reason or "needs attention"
        since = digest_since(found.state.last_alert_at, now)
        digest = await store.digest_counts(found.conversation_id, since, hotel.signal_modes)
        count = found.state.suppressed
        lang = hotel.staff_language
        text = policy.followup_text(subject, count, reason, found.latest_text, language=lang)
        text = "\n".join(filter(None, [text, digest_line(digest, lang)]))
        draft = AlertDraft(
            hotel.id,
            found.conversation_id,
            found.state.last_counted,
            "followup",
            reason,
            count,
            text,
        )
        alert_ids = await store.record_alerts([draft], hotels, now, result)
        await store.set_cooldown(
            found.conversation_id,
            policy.alerted(now),
            open_alert_id=alert_ids.get(draft.message_id),
            now=now,
        )
    return result


__all__ = [
    "AlertDraft",
    "AlertStore",
    "Attention",
    "BatchResult",
    "FollowupCandidate",
    "FollowupStore",
    "decide_alerts",
    "send_followups",
]
