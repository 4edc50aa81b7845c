"""Escalating open staff alerts: which alerts are open, and escalating one exactly once.

Exactly once, whoever runs it and however often: `escalate` first claims the alert with a
compare-and-set (`escalated_at IS NULL AND acknowledged_at IS NULL`; on PostgreSQL a second
daemon's UPDATE waits for the first's row lock, then matches nothing), and the escalation and
reminder are outbox rows keyed "escalation:<alert id>" / "reminder:<alert id>" (ON CONFLICT
DO NOTHING). A crash before the commit rolls all of it back; the next run decides again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from hotelbot.domain import escalation as rule
from hotelbot.domain.acknowledgement import AckRoute
from hotelbot.domain.alerts import AlertSubject, excerpt, phone_of
from hotelbot.domain.display import for_people
from hotelbot.domain.outbox import Lane, OutboxKind
from hotelbot.observability import metrics
from hotelbot.storage.models import Hotel, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message
from hotelbot.storage.outbox import enqueue


@dataclass(frozen=True, slots=True)
class OpenAlertRow:
    """An alert nobody acknowledged or escalated yet, with what its escalation says."""

    id: int
    hotel_id: int
    hotel_name: str
    reference: int
    state: rule.OpenAlert
    escalate_after_min: float
    staff_chat_id: str | None
    escalation_chat_id: str | None
    staff_language: str | None
    chat_id: str
    guest_name: str | None
    text: str | None
    alert_id_message: str | None = None  # the alert as sent to the staff chat, when known


async def open_alerts(
    conn: AsyncConnection, now: datetime, hotel_ids: Collection[int] | None = None
) -> list[OpenAlertRow]:
    """Alerts neither acknowledged nor escalated (the partial index `ix_alerts_open`) and
    young enough to escalate (`domain.escalation.MAX_AGE`), of `hotel_ids` (None: every
    hotel), oldest first."""
    sent = aliased(OutboxMessage)
    query = (
        select(
            Alert.id,
            Alert.hotel_id,
            Hotel.name,
            Alert.reference,
            Alert.created_at,
            Message.sent_at,
            Conversation.handled_at,
            Hotel.escalate_after_min,
            Hotel.staff_chat_id,
            Hotel.escalation_chat_id,
            Hotel.staff_language,
            Hotel.default_language,
            Message.chat_id,
            Guest.name,
            Message.text,
            Alert.urgent,
            sent.id_message,
        )
        .join(Hotel, Hotel.id == Alert.hotel_id)
        .outerjoin(sent, sent.id == Alert.outbox_id)
        .join(Message, Message.id == Alert.message_id)
        .outerjoin(Conversation, Conversation.id == Alert.conversation_id)
        .outerjoin(Guest, Guest.id == Conversation.guest_id)
        .where(
            Alert.acknowledged_at.is_(None),
            Alert.escalated_at.is_(None),
            Alert.created_at >= rule.oldest_candidate(now),
        )
        .order_by(Alert.created_at, Alert.id)
    )
    if hotel_ids is not None:
        query = query.where(Alert.hotel_id.in_(sorted(hotel_ids)))
    found: list[OpenAlertRow] = []
    for r in await conn.execute(query):
        state = rule.OpenAlert(r[4], None, None, r[5], r[6], urgent=bool(r[15]))
        found.append(
            OpenAlertRow(
                id=int(r[0]),
                hotel_id=int(r[1]),
                hotel_name=str(r[2]),
                reference=int(r[3] if r[3] is not None else r[0]),
                state=state,
                escalate_after_min=float(r[7]),
                staff_chat_id=r[8] or None,
                escalation_chat_id=r[9] or None,
                staff_language=r[10] or r[11] or None,
                chat_id=str(r[12]),
                guest_name=r[13],
                text=r[14],
                alert_id_message=r[16] or None,
            )
        )
    return found


async def escalate(conn: AsyncConnection, alert: OpenAlertRow, now: datetime) -> bool:
    """Escalate `alert` once, in the caller's transaction: mark it escalated and enqueue the
    escalation (to the escalation chat, when the hotel has one) and the reminder (to the
    staff chat, as a reply quoting the alert when its idMessage is known; its text names the
    alert's reference either way) in the alert lane. Returns False, changing nothing, when
    it was acknowledged or escalated meanwhile. Idempotent (see the module doc)."""
    claimed = (
        await conn.execute(
            update(Alert)
            .where(
                Alert.id == alert.id,
                Alert.acknowledged_at.is_(None),
                Alert.escalated_at.is_(None),
            )
            .values(escalated_at=now)
            .returning(Alert.id)
        )
    ).first()
    if claimed is None:
        return False
    metrics.ALERTS_ESCALATED.inc()
    subject = AlertSubject(alert.guest_name, alert.chat_id, phone_of(alert.chat_id))
    who = subject.label(alert.staff_language)
    minutes = (now - alert.state.created_at).total_seconds() / 60
    minutes = float(round(minutes)) if minutes >= 1 else round(minutes, 1)
    escalation_id = reminder_id = None
    if alert.escalation_chat_id:
        text = rule.escalation_text(
            alert.reference,
            who,
            for_people(alert.hotel_name, max_chars=80),
            minutes,
            excerpt(alert.text),
            alert.staff_language,
        )
        escalation_id = await enqueue(
            conn,
            hotel_id=alert.hotel_id,
            idempotency_key=rule.escalation_key(alert.id),
            kind=OutboxKind.ESCALATION,
            chat_id=alert.escalation_chat_id,
            text=text,
            lane=Lane.ALERT,
            urgent=alert.state.urgent,
        )
    if alert.staff_chat_id:
        text = rule.reminder_text(alert.reference, who, minutes, alert.staff_language)
        reminder_id = await enqueue(
            conn,
            hotel_id=alert.hotel_id,
            idempotency_key=rule.reminder_key(alert.id),
            kind=OutboxKind.REMINDER,
            chat_id=alert.staff_chat_id,
            text=text,
            lane=Lane.ALERT,
            urgent=alert.state.urgent,
            quoted_message_id=alert.alert_id_message,
        )
    await conn.execute(
        update(Alert)
        .where(Alert.id == alert.id)
        .values(escalation_outbox_id=escalation_id, reminder_outbox_id=reminder_id)
    )
    return True


async def settle(conn: AsyncConnection, alert: OpenAlertRow) -> bool:
    """Close an alert whose conversation staff handled after the guest wrote (the answer
    raced the alert): acknowledged at that time, route `AckRoute.EARLIER`. Idempotent."""
    handled_at = alert.state.handled_at
    if handled_at is None:
        return False
    result = await conn.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=handled_at, acknowledged_via=AckRoute.EARLIER.value)
    )
    return bool(result.rowcount)
