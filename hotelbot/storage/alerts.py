"""Recording staff alerts: the alert rows and their outbox messages (decided by app.alerts).

Idempotent by construction: one alert per (hotel, message) and one outbox row per
idempotency key "alert:<message id>", both inserted with ON CONFLICT DO NOTHING in the
caller's transaction. A replay records nothing new and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.alerts import AlertDraft, BatchResult
from hotelbot.domain import alerts as policy
from hotelbot.domain.alerts import AlertState
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.outbox import OutboxKind
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models_messaging import Alert, Conversation, Message
from hotelbot.storage.outbox import enqueue
from hotelbot.storage.types import fit


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


async def hotels_with_counted_messages(conn: AsyncConnection) -> set[int]:
    """Hotels with a conversation whose messages were counted during a cooldown (a
    follow-up may be due). Read-only: an idle daemon takes no write lock to learn it."""
    query = select(Conversation.hotel_id).where(Conversation.suppressed_alerts > 0).distinct()
    return {int(h) for (h,) in await conn.execute(query)}


async def alerted_message_times(
    conn: AsyncConnection, outbox_ids: Collection[int]
) -> dict[int, datetime]:
    """For each of `outbox_ids` that is a staff alert's outbox row, when the guest sent the
    message it is about: outbox id -> the message's sent_at. Other outbox rows (answers,
    escalations, reminders) and unknown ids are left out. Read-only."""
    if not outbox_ids:
        return {}
    query = (
        select(Alert.outbox_id, Message.sent_at)
        .join(Message, Message.id == Alert.message_id)
        .where(Alert.outbox_id.in_(sorted(set(outbox_ids))))
    )
    rows = await conn.execute(query)
    return {int(outbox_id): sent_at for outbox_id, sent_at in rows if outbox_id is not None}


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What became of a staff alert: acknowledged (`acknowledged_via`: how, e.g. "quote"),
    escalated (`escalated_at`), both or neither yet. `reference`: the number staff see."""

    id: int
    hotel_id: int
    reference: int | None
    acknowledged_via: str | None
    escalated_at: datetime | None


async def alert_outcomes(conn: AsyncConnection) -> list[AlertOutcome]:
    """Every alert of every hotel with its acknowledgement and escalation, by id. Read-only;
    raises what the driver raises."""
    query = select(
        Alert.id, Alert.hotel_id, Alert.reference, Alert.acknowledged_via, Alert.escalated_at
    ).order_by(Alert.id)
    return [
        AlertOutcome(int(r[0]), int(r[1]), None if r[2] is None else int(r[2]), r[3], r[4])
        for r in await conn.execute(query)
    ]
