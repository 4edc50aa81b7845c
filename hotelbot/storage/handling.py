"""Staff handling conversations and acknowledging alerts: the rows behind `app.handled`.

`SqlHandlingStore(conn)` implements `hotelbot.app.handled.HandlingStore` on the caller's
connection (one transaction). `alerts_quoted` and `alerts_by_reference` find the alerts a
staff message in the staff or escalation chat points at.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.understand import PointedAlert
from hotelbot.domain.acknowledgement import AckRoute, Handling
from hotelbot.observability import metrics
from hotelbot.storage.models import Hotel, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message
from hotelbot.storage.outbox import cancel_pending
from hotelbot.storage.types import utcnow

_HANDLING_COLUMNS = (
    Conversation.handled_at,
    Conversation.handled_by_staff_until,
    Conversation.last_staff_reply_at,
    Conversation.suppressed_alerts,
    Conversation.last_suppressed_message_id,
)


class SqlHandlingStore:
    """`HandlingStore` on one connection: every method runs in the caller's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def handling(self, conversation_id: int) -> Handling | None:
        query = select(*_HANDLING_COLUMNS).where(Conversation.id == conversation_id)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return Handling(row[0], row[1], row[2], int(row[3] or 0), row[4])

    async def save_handling(self, conversation_id: int, state: Handling) -> None:
        await self._conn.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(
                handled_at=state.handled_at,
                handled_by_staff_until=state.handled_by_staff_until,
                last_staff_reply_at=state.last_staff_reply_at,
                suppressed_alerts=state.suppressed_alerts,
                last_suppressed_message_id=state.last_suppressed_message_id,
                updated_at=utcnow(),
            )
        )

    async def acknowledge_alerts(
        self, conversation_id: int, *, answered_at: datetime, route: AckRoute
    ) -> int:
        return await acknowledge_conversation_alerts(
            self._conn, conversation_id, answered_at=answered_at, route=route
        )


async def conversation_id_of(conn: AsyncConnection, hotel_id: int, chat_id: str) -> int | None:
    """The id of the hotel's conversation with this chat, None before its first message."""
    query = select(Conversation.id).where(
        Conversation.hotel_id == hotel_id, Conversation.chat_id == chat_id
    )
    found = (await conn.execute(query)).scalar()
    return None if found is None else int(found)


async def sent_by_us(conn: AsyncConnection, hotel_id: int, chat_id: str, text: str) -> bool:
    """True when hotelbot has an outbox message with exactly this text for this chat (any
    state): an API echo that matched no row by its id is then a second copy of ours (resent
    after an ambiguous failure), not another tool writing to the guest."""
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.hotel_id == hotel_id,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.text == text,
        )
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def acknowledge_conversation_alerts(
    conn: AsyncConnection, conversation_id: int, *, answered_at: datetime, route: AckRoute
) -> int:
    """Acknowledge, as of `answered_at`, the open alerts of a conversation about messages
    sent at or before it (a compare-and-set on `acknowledged_at IS NULL`, so a concurrent or
    repeated acknowledgement keeps the first route and time) and cancel their escalation
    and reminder while those still wait in the outbox. Returns how many were acknowledged."""
    sent_before = (
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.sent_at <= answered_at)
        .scalar_subquery()
    )
    rows = list(
        await conn.execute(
            update(Alert)
            .where(
                Alert.conversation_id == conversation_id,
                Alert.acknowledged_at.is_(None),
                Alert.message_id.in_(sent_before),
            )
            .values(acknowledged_at=answered_at, acknowledged_via=route.value)
            .returning(Alert.escalation_outbox_id, Alert.reminder_outbox_id)
        )
    )
    waiting = [int(v) for row in rows for v in row if v is not None]
    await cancel_pending(conn, waiting, reason="alert acknowledged")
    if rows:
        metrics.ALERTS_ACKNOWLEDGED.labels(route.value).inc(len(rows))
    return len(rows)


async def alerts_quoted(
    conn: AsyncConnection, hotel_id: int, id_message: str
) -> list[PointedAlert]:
    """The alert whose alert, reminder or escalation message was sent with this idMessage
    (what a staff reply or reaction quotes). [] if none."""
    query = (
        select(Alert.id, Alert.conversation_id, Message.sent_at)
        .join(Message, Message.id == Alert.message_id)
        .join(
            OutboxMessage,
            or_(
                OutboxMessage.id == Alert.outbox_id,
                OutboxMessage.id == Alert.reminder_outbox_id,
                OutboxMessage.id == Alert.escalation_outbox_id,
            ),
        )
        .where(
            OutboxMessage.hotel_id == hotel_id,
            OutboxMessage.id_message == id_message,
            Alert.hotel_id == hotel_id,
            Alert.conversation_id.is_not(None),
        )
    )
    return [(int(r[0]), int(r[1] or 0), r[2]) for r in await conn.execute(query)]


async def alerts_by_reference(
    conn: AsyncConnection, hotel_id: int, references: Collection[int]
) -> list[PointedAlert]:
    """The hotel's alerts with these references."""
    if not references:
        return []
    query = (
        select(Alert.id, Alert.conversation_id, Message.sent_at)
        .join(Message, Message.id == Alert.message_id)
        .where(
            Alert.hotel_id == hotel_id,
            Alert.reference.in_(list(references)),
            Alert.conversation_id.is_not(None),
        )
    )
    return [(int(r[0]), int(r[1] or 0), r[2]) for r in await conn.execute(query)]


def unhandled_attention_sql() -> ColumnElement[bool]:
    """For queries over `messages` joined (outer) with `conversations`: the message needs
    attention and staff have not handled its conversation since it was sent. The one
    definition of "still needs attention" for `messages list --attention` and
    `conversations list --attention`."""
    return and_(
        Message.requires_attention.is_(True),
        or_(Conversation.handled_at.is_(None), Message.sent_at > Conversation.handled_at),
    )


def conversation_needs_attention_sql() -> ColumnElement[bool]:
    """For queries over `conversations`: at least one of its messages still needs attention
    (`unhandled_attention_sql`)."""
    return exists(
        select(Message.id).where(
            Message.conversation_id == Conversation.id, unhandled_attention_sql()
        )
    )


@dataclass(frozen=True, slots=True)
class AlertListing:
    """One alert as `hotelbot alerts list` shows it."""

    reference: int
    hotel: str
    timezone: str
    created_at: datetime
    guest: str | None
    chat_id: str
    reason: str
    acknowledged_at: datetime | None
    acknowledged_via: str | None
    escalated_at: datetime | None


async def list_alerts(
    conn: AsyncConnection, *, hotel: str | None, open_only: bool, limit: int
) -> list[AlertListing]:
    """The newest `limit` alerts (of hotel slug `hotel`; only unacknowledged ones with
    `open_only`), oldest first."""
    query = (
        select(
            Alert.reference,
            Alert.id,
            Hotel.slug,
            Hotel.timezone,
            Alert.created_at,
            Guest.name,
            Message.chat_id,
            Alert.reason,
            Alert.acknowledged_at,
            Alert.acknowledged_via,
            Alert.escalated_at,
        )
        .join(Hotel, Hotel.id == Alert.hotel_id)
        .join(Message, Message.id == Alert.message_id)
        .outerjoin(Conversation, Conversation.id == Alert.conversation_id)
        .outerjoin(Guest, Guest.id == Conversation.guest_id)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(max(1, limit))
    )
    if hotel:
        query = query.where(Hotel.slug == hotel)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    return [
        AlertListing(int(r[0] if r[0] is not None else r[1]), *r[2:])
        for r in reversed(list(await conn.execute(query)))
    ]
