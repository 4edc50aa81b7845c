"""Recording staff alerts: the alert rows and their outbox messages, and cooldown follow-ups.

Idempotent by construction: one alert per (hotel, message) and one outbox row per
idempotency key "alert:<message id>", both inserted with ON CONFLICT DO NOTHING in the
caller's transaction. A replay records nothing new and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain import alerts as policy
from hotelbot.domain.alerts import AlertState
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.outbox import OutboxKind
from hotelbot.domain.signal_texts import digest_line
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message
from hotelbot.storage.outbox import enqueue
from hotelbot.storage.signals import digest_counts, digest_since
from hotelbot.storage.types import fit


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


async def record_alerts(
    conn: AsyncConnection,
    drafts: Sequence[AlertDraft],
    hotels: Mapping[int, HotelPolicy],
    now: datetime,
    result: BatchResult,
) -> dict[int, int]:
    """Enqueue each alert to its hotel's staff chat (kind "alert", key "alert:<message id>")
    and insert the alert rows in one statement. A hotel without a staff chat gets the row
    with state "unsent" and no outbox message. Each alert gets the hotel's next reference
    (unique per hotel: the lease makes one writer per hotel; a concurrent writer would fail
    on the unique index and retry), shown on its last line. Returns {message id: alert id}
    for the rows inserted now (not for ones that existed)."""
    rows: list[dict[str, Any]] = []
    references = await _last_references(conn, {d.hotel_id for d in drafts})
    for draft in drafts:
        hotel = hotels[draft.hotel_id]
        staff_chat = hotel.staff_chat_id
        reference = references.get(draft.hotel_id, 0) + 1
        references[draft.hotel_id] = reference
        outbox_id = None
        if staff_chat:
            text = f"{draft.text}\n{policy.reference_line(reference, hotel.staff_language)}"
            outbox_id = await enqueue(
                conn,
                hotel_id=draft.hotel_id,
                idempotency_key=f"alert:{draft.message_id}",
                kind=OutboxKind.ALERT,
                chat_id=staff_chat,
                text=text,
                urgent=draft.urgent,
            )
        else:
            result.unsent_alert_hotels.add(draft.hotel_id)
        rows.append(
            {
                "hotel_id": draft.hotel_id,
                "message_id": draft.message_id,
                "conversation_id": draft.conversation_id,
                "kind": draft.kind,
                "reason": fit(draft.reason, Alert.reason),
                "more_count": draft.more_count,
                "state": AlertState.QUEUED if staff_chat else AlertState.UNSENT,
                "outbox_id": outbox_id,
                "signal": draft.signal,
                "category": draft.category,
                "reference": reference,
                "urgent": draft.urgent,
                "created_at": now,
            }
        )
    if not rows:
        return {}
    insert = insert_for(conn, Alert)
    stmt = insert.on_conflict_do_nothing(
        index_elements=[Alert.hotel_id, Alert.message_id]
    ).returning(Alert.id, Alert.message_id)
    inserted = {int(r[1]): int(r[0]) for r in await conn.execute(stmt, rows)}
    result.alerts += len(inserted)
    return inserted


async def _last_references(conn: AsyncConnection, hotel_ids: set[int]) -> dict[int, int]:
    """The highest alert reference of each hotel so far (hotels without alerts omitted)."""
    if not hotel_ids:
        return {}
    query = (
        select(Alert.hotel_id, func.max(Alert.reference))
        .where(Alert.hotel_id.in_(sorted(hotel_ids)))
        .group_by(Alert.hotel_id)
    )
    return {int(r[0]): int(r[1]) for r in await conn.execute(query) if r[1] is not None}


async def apply_followups(
    conn: AsyncConnection,
    hotels: Mapping[int, HotelPolicy],
    *,
    now: datetime,
    room_lookup: Callable[[AsyncConnection, int, int | None, str], Awaitable[str | None]]
    | None = None,
) -> BatchResult:
    """Send the follow-up alert of every conversation whose cooldown ended with messages
    counted. Idempotent: the follow-up is recorded against the newest counted message."""
    result = BatchResult()
    query = (
        select(
            Conversation.id,
            Conversation.hotel_id,
            Conversation.chat_id,
            Conversation.last_alert_at,
            Conversation.suppressed_alerts,
            Conversation.last_suppressed_message_id,
            Conversation.guest_id,
            Guest.name,
            Message.text,
            Message.reason,
        )
        .join(Message, Message.id == Conversation.last_suppressed_message_id)
        .outerjoin(Guest, Guest.id == Conversation.guest_id)
        .where(Conversation.suppressed_alerts > 0)
    )
    for row in list(await conn.execute(query)):
        conv_id, hotel_id, chat_id, last_alert_at, count, suppressed_id, guest_id = row[:7]
        name, text, reason = row[7:]
        hotel = hotels.get(hotel_id)
        if hotel is None or suppressed_id is None:
            continue
        cooldown = timedelta(minutes=hotel.alert_cooldown_min)
        if not policy.followup_due(now, cooldown, policy.CooldownState(last_alert_at, count)):
            continue
        room = await room_lookup(conn, hotel.id, guest_id, chat_id) if room_lookup else None
        subject = policy.AlertSubject(name, chat_id, policy.phone_of(chat_id), room)
        reason = reason or "needs attention"
        digest = await digest_counts(
            conn, conv_id, digest_since(last_alert_at, now), hotel.signal_modes
        )
        followup = policy.followup_text(subject, count, reason, text, language=hotel.staff_language)
        followup = "\n".join(filter(None, [followup, digest_line(digest, hotel.staff_language)]))
        draft = AlertDraft(
            hotel.id, conv_id, int(suppressed_id), "followup", reason, count, followup
        )
        alert_ids = await record_alerts(conn, [draft], hotels, now, result)
        after = policy.alerted(now)
        await conn.execute(
            update(Conversation)
            .where(Conversation.id == conv_id)
            .values(
                suppressed_alerts=after.suppressed,
                last_suppressed_message_id=after.last_counted,
                last_alert_at=after.last_alert_at,
                open_alert_id=alert_ids.get(draft.message_id),
                updated_at=now,
            )
        )
    return result
