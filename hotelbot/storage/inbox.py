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

from hotelbot.storage.handling import conversation_needs_attention_sql, unhandled_attention_sql
from hotelbot.storage.hotel_policy import guest_chat_sql
from hotelbot.storage.models import Hotel, OutboxMessage
from hotelbot.storage.models_messaging import Conversation, Guest, Message


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
            Message.sent_at,
            Hotel.slug,
            Hotel.timezone,
            Message.chat_id,
            Message.direction,
            Message.sender_name,
            Message.kind,
            Message.sentiment,
            Message.requires_attention,
            Message.reason,
            Message.text,
        )
        .join(Hotel, Hotel.id == Message.hotel_id)
        .where(guest_chat_sql(Message.chat_id))
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit)
    )
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
            or_(
                false(),
                *(
                    and_(Hotel.timezone == name, Message.sent_at >= at)
                    for name, at in since.items()
                ),
            )
        )
    return [MessageLine(*row) for row in await conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ConversationLine:
    """One guest conversation with its hotel, as `conversations list` shows it."""

    id: int
    hotel_slug: str
    hotel_timezone: str
    chat_id: str
    guest_name: str | None
    last_message_at: datetime | None
    last_staff_reply_at: datetime | None
    handled_by_staff_until: datetime | None
    suppressed_alerts: int  # messages counted for a follow-up alert
    opted_out: bool | None  # None: no guest row


async def list_conversations(
    conn: AsyncConnection, *, limit: int, hotel_slug: str | None = None, attention: bool = False
) -> list[ConversationLine]:
    """The `limit` most recently active guest conversations, most recent first.
    `hotel_slug`: that hotel's only; `attention`: only those with a message that still
    needs staff attention."""
    query = (
        select(
            Conversation.id,
            Hotel.slug,
            Hotel.timezone,
            Conversation.chat_id,
            Guest.name,
            Conversation.last_message_at,
            Conversation.last_staff_reply_at,
            Conversation.handled_by_staff_until,
            Conversation.suppressed_alerts,
            Guest.opted_out,
        )
        .join(Hotel, Hotel.id == Conversation.hotel_id)
        .outerjoin(Guest, Guest.id == Conversation.guest_id)
        .where(guest_chat_sql(Conversation.chat_id))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if hotel_slug is not None:
        query = query.where(Hotel.slug == hotel_slug)
    if attention:
        query = query.where(conversation_needs_attention_sql())
    # tuple(row): the typed row of a select this wide ends in an open tail mypy would count.
    return [ConversationLine(*tuple(row)) for row in await conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """Which conversation: its id, its hotel's id and its chat id."""

    id: int
    hotel_id: int
    chat_id: str


async def find_conversations(
    conn: AsyncConnection,
    *,
    conversation_id: int | None = None,
    chat_id: str | None = None,
    hotel_slug: str | None = None,
) -> list[ConversationRef]:
    """The conversations with this id or this chat id (in any hotel, or in `hotel_slug`'s):
    none, one, or (a chat id without a hotel) one per hotel the chat wrote to."""
    query = select(Conversation.id, Conversation.hotel_id, Conversation.chat_id).join(
        Hotel, Hotel.id == Conversation.hotel_id
    )
    if conversation_id is not None:
        query = query.where(Conversation.id == conversation_id)
    if chat_id is not None:
        query = query.where(Conversation.chat_id == chat_id)
    if hotel_slug is not None:
        query = query.where(Hotel.slug == hotel_slug)
    return [ConversationRef(int(i), int(h), str(c)) for i, h, c in await conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ConversationHead:
    """A conversation's guest and handling state, as `conversations show` heads it."""

    chat_id: str
    guest_name: str | None
    phone: str | None
    language: str | None
    opted_out: bool | None
    handled_by_staff_until: datetime | None
    hotel_timezone: str


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    """One message of a conversation, as `conversations show` lists it."""

    sent_at: datetime
    direction: str  # "in" from the guest, "out" to them
    from_staff: bool
    kind: str
    sentiment: str | None
    requires_attention: bool
    text: str | None
    deleted: bool
    edited: bool
    outbox_kind: str | None  # what the bot sent it as ("answer": from the hotel's facts)


async def conversation_head(conn: AsyncConnection, conversation_id: int) -> ConversationHead:
    """The head of an existing conversation (raises when there is none: look it up with
    `find_conversations` in the same transaction first)."""
    row = (
        await conn.execute(
            select(
                Conversation.chat_id,
                Guest.name,
                Guest.phone,
                Guest.language,
                Guest.opted_out,
                Conversation.handled_by_staff_until,
                Hotel.timezone,
            )
            .join(Hotel, Hotel.id == Conversation.hotel_id)
            .outerjoin(Guest, Guest.id == Conversation.guest_id)
            .where(Conversation.id == conversation_id)
        )
    ).one()
    return ConversationHead(*row)


async def conversation_messages(
    conn: AsyncConnection, conversation_id: int, *, limit: int
) -> list[ConversationMessage]:
    """The conversation's latest `limit` messages, newest first, each with the kind of
    outbox message it was sent as (None for a guest's message or a staff reply)."""
    query = (
        select(
            Message.sent_at,
            Message.direction,
            Message.from_staff,
            Message.kind,
            Message.sentiment,
            Message.requires_attention,
            Message.text,
            Message.deleted,
            Message.edited,
            OutboxMessage.kind,
        )
        .outerjoin(
            OutboxMessage,
            and_(
                OutboxMessage.hotel_id == Message.hotel_id,
                OutboxMessage.id_message == Message.id_message,
            ),
        )
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return [ConversationMessage(*tuple(row)) for row in await conn.execute(query)]
