"""Typed tables of understood conversations: guests, conversations, messages, staff alerts.

All rows are per hotel and keyed by the WhatsApp chat id (and idMessage for messages), so
the processor writes them with ON CONFLICT upserts and a replay changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotelbot.storage.models import Base, BigId
from hotelbot.storage.types import UtcDateTime

_FALSE = text("false")


class Guest(Base):
    """A person writing to a hotel from one chat. `phone` only for @c.us chats (a @lid id
    is not a phone number). `opted_out` stops automated messages, never staff replies."""

    __tablename__ = "guests"
    __table_args__ = (UniqueConstraint("hotel_id", "chat_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    # Who set `language`: "detected" (two guest messages agreed) or "operator" (then
    # detection leaves it alone). `language_candidate`: the last detected language not yet
    # confirmed by a second message.
    language_source: Mapped[str | None] = mapped_column(String(16))
    language_candidate: Mapped[str | None] = mapped_column(String(8))
    opted_out: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_message_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Conversation(Base):
    """One chat of one hotel: timing facts the alert policy and the scheduler read.

    `handled_by_staff_until`: automated messages pause until then (staff replied from the
    phone, or `hotelbot conversations handled`). `suppressed_alerts` counts messages that
    needed attention during the alert cooldown; `last_suppressed_message_id` is the newest
    of them (the follow-up alert is recorded against it).
    """

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("hotel_id", "chat_id"),
        Index("ix_conversations_suppressed", "suppressed_alerts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(64))
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guests.id", ondelete="SET NULL"))
    is_group: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    last_message_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_guest_message_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_staff_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handled_by_staff_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_alert_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    open_alert_id: Mapped[int | None] = mapped_column(BigId)
    suppressed_alerts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_suppressed_message_id: Mapped[int | None] = mapped_column(BigId)
    # When staff last answered or acknowledged this guest (any route): messages needing
    # attention sent before it are handled (they leave `messages list --attention`).
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Message(Base):
    """Every message of a chat, in and out, keyed (hotel, chat, idMessage).

    Reactions, edits and deletions are rows of their own (kind reaction/edited/deleted,
    `target_id` = the message they change) and also update the target row. Sentiment
    columns are NULL until analysed; `analyser` says who answered ("rules", "llm", ...).
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("hotel_id", "chat_id", "id_message"),
        Index("ix_messages_conversation", "conversation_id", "sent_at"),
        Index("ix_messages_attention", "hotel_id", "requires_attention", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    chat_id: Mapped[str] = mapped_column(String(64))
    id_message: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    from_staff: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    from_api: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    kind: Mapped[str] = mapped_column(String(32))
    type_message: Mapped[str] = mapped_column(String(64))
    sender_id: Mapped[str | None] = mapped_column(String(64))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    undecryptable: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    target_id: Mapped[str | None] = mapped_column(String(128))
    edited: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    reaction: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    notification_id: Mapped[int | None] = mapped_column(BigId)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    requires_attention: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    reason: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    analyser: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))  # domain.categories
    analysed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Alert(Base):
    """A staff alert about one message (at most one per message). `outbox_id` is NULL when
    the hotel has no staff chat (state "unsent"); `more_count` = messages summarised with it.

    `reference` is the short number staff see and may quote ("#12"), unique per hotel.
    `acknowledged_at`/`acknowledged_via` (domain.alerts.AckRoute) close it; an open alert
    is escalated once (`escalated_at`, and the outbox rows of the escalation and reminder).
    `signal` names a non-text guest signal (domain.alerts.SignalKind) when that raised it.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("hotel_id", "message_id"),
        Index("uq_alerts_hotel_reference", "hotel_id", "reference", unique=True),
        Index(
            "ix_alerts_open",
            "hotel_id",
            "created_at",
            sqlite_where=text("acknowledged_at IS NULL AND escalated_at IS NULL"),
            postgresql_where=text("acknowledged_at IS NULL AND escalated_at IS NULL"),
        ),
        Index("ix_alerts_conversation", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # alert | followup
    reason: Mapped[str] = mapped_column(String(200))
    more_count: Mapped[int] = mapped_column(Integer, server_default="0")
    state: Mapped[str] = mapped_column(String(16))  # queued | unsent
    outbox_id: Mapped[int | None] = mapped_column(BigId)
    category: Mapped[str | None] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=_FALSE)
    signal: Mapped[str | None] = mapped_column(String(16))
    reference: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_via: Mapped[str | None] = mapped_column(String(16))
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalation_outbox_id: Mapped[int | None] = mapped_column(BigId)
    reminder_outbox_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
