"""Guest messages and conversations as operators list them (`hotelbot messages`,
`hotelbot conversations`). Read-only; every query keeps to guest chats (`guest_chat_sql`:
never a hotel's staff or escalation chat, groups only where the hotel treats them as guests)
and to one definition of "still needs attention" (`storage.handling`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.handling import unhandled_attention_sql
from hotelbot.storage.hotel_policy import guest_chat_sql
from hotelbot.storage.models import Hotel
from hotelbot.storage.models_messaging import Conversation, Message


async def hotel_zones(conn: AsyncConnection) -> dict[str, str]:
    """Every hotel's slug -> its IANA time zone name."""
    return {slug: zone for slug, zone in await conn.execute(select(Hotel.slug, Hotel.timezone))}


@dataclass(frozen=True, slots=True)
class MessageLine:
    """One stored message with its hotel, as `messages list` shows it."""

    sent_at: datetime
    hotel_slug: str
    hotel_timezone: str
    chat_id: str
    direction: str  # "in" from the guest, "out" to them
    sender_name: str | None
    kind: str
    sentiment: str | None
    requires_attention: bool
    reason: str | None
    text: str | None


async def list_messages(
    conn: AsyncConnection,
    *,
    limit: int,
    hotel_slug: str | None = None,
    since: Mapping[str, datetime] | None = None,
    outgoing: bool = False,
    attention: bool = False,
) -> list[MessageLine]:
    """The latest `limit` messages in guest chats, newest first. `hotel_slug`: that hotel's
    only. `since`: time zone name -> cut-off; a message counts when its hotel's zone has a
    cut-off and it was sent at or after it (each hotel's local date means its own instant),
    so an empty mapping matches nothing. `outgoing`: include messages sent to guests.
    `attention`: only messages that still need staff attention."""
    query = (
        select(
            Message.sent_at, Hotel.slug, Hotel.timezone, Message.chat_id, Message.direction,
            Message.sender_name, Message.kind, Message.sentiment, Message.requires_attention,
            Message.reason, Message.text,
        )
        .join(Hotel, Hotel.id == Message.hotel_id)
        .where(guest_chat_sql(Message.chat_id))
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit)
    )  # fmt: skip
    if not outgoing:
        query = query.where(Message.direction == "in")
    if attention:
        query = query.outerjoin(Conversation, Conversation.id == Message.conversation_id).where(
            unhandled_attention_sql()
        )
    if hotel_slug is not None:
        query = query.where(Hotel.slug == hotel_slug)
    if since is not None:
        query = query.where(
            or_(false(), *(and_(Hotel.timezone == name, Message.sent_at >= at)
                           for name, at in since.items()))
        )  # fmt: skip
    return [MessageLine(*row) for row in await conn.execute(query)]
