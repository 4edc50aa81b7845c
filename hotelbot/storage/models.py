"""Typed table models of the foundation: hotels, raw notifications, dead letters, runtime status.

Later features add their own model modules (sharing `Base`) and migrations. Statements use
SQLAlchemy Core against these mapped classes; repositories return domain objects, never rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hotelbot.domain.outbox import OutboxState
from hotelbot.storage.types import UtcDateTime

# Deterministic constraint names so migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys on PostgreSQL, INTEGER PRIMARY KEY (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Hotel(Base):
    __tablename__ = "hotels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[str] = mapped_column(String(20), unique=True)
    api_url: Mapped[str] = mapped_column(String(300))
    api_token: Mapped[str | None] = mapped_column(String(200))
    api_token_env: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    staff_chat_id: Mapped[str | None] = mapped_column(String(64))
    default_language: Mapped[str] = mapped_column(String(8))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    quiet_hours: Mapped[str] = mapped_column(String(11), server_default="22:00-09:00")
    max_automated_per_day: Mapped[int] = mapped_column(Integer, server_default="3")
    alert_cooldown_min: Mapped[int] = mapped_column(Integer, server_default="30")
    staff_pause_h: Mapped[float] = mapped_column(Float, server_default="12")
    groups_as_guests: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    check_in_time: Mapped[str] = mapped_column(String(5), server_default="15:00")
    check_out_time: Mapped[str] = mapped_column(String(5), server_default="11:00")
    # The alert path (domain/alerts.py): staff language, escalation, staff quiet hours and
    # what each kind of non-text guest signal does (alert | digest | ignore).
    staff_language: Mapped[str | None] = mapped_column(String(8))
    escalation_chat_id: Mapped[str | None] = mapped_column(String(64))
    staff_email: Mapped[str | None] = mapped_column(String(254))  # backup channel for alerts
    report_schedule: Mapped[str] = mapped_column(String(32), server_default="off")
    manager_chat_id: Mapped[str | None] = mapped_column(String(64))
    escalate_after_min: Mapped[float] = mapped_column(Float, server_default="10")
    alert_quiet_hours: Mapped[str] = mapped_column(String(11), server_default="")
    signal_call: Mapped[str] = mapped_column(String(8), server_default="alert")
    signal_voice_note: Mapped[str] = mapped_column(String(8), server_default="alert")
    signal_photo: Mapped[str] = mapped_column(String(8), server_default="digest")
    signal_video: Mapped[str] = mapped_column(String(8), server_default="digest")
    signal_document: Mapped[str] = mapped_column(String(8), server_default="digest")
    signal_location: Mapped[str] = mapped_column(String(8), server_default="digest")
    signal_sticker: Mapped[str] = mapped_column(String(8), server_default="ignore")
    # Last known Green API instance state (authorized, notAuthorized, ...), from
    # stateInstanceChanged notifications or getStateInstance.
    instance_state: Mapped[str | None] = mapped_column(String(32))
    instance_state_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Notification(Base):
    """Every notification received from a hotel's queue, raw, stored once.

    `dedupe_key` identifies the event (type + chat + idMessage [+ status]) so a duplicate
    delivery hits the unique constraint. A redelivery with a *different* body under the same
    key (Green API's {{SWE001}} placeholder followed by the real text) replaces the body and
    marks the row unprocessed again.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("hotel_id", "dedupe_key"),
        Index(
            "ix_notifications_unprocessed",
            "id",
            sqlite_where=text("processed_at IS NULL"),
            postgresql_where=text("processed_at IS NULL"),
        ),
        Index("ix_notifications_hotel_received", "hotel_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    receipt_id: Mapped[int] = mapped_column(BigInteger)
    type_webhook: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    id_message: Mapped[str | None] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Interpretation (sentiment, alerts) happens after the commit+delete; NULL = still to do.
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    process_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    process_error: Mapped[str | None] = mapped_column(Text)


class DeadLetter(Base):
    """A queue item that could not be parsed or stored; kept, then deleted upstream.

    `raw` holds the item's bytes: as text when they are UTF-8 without NUL (`raw_encoding`
    "utf-8"), else base64 ("base64"); at most 256 KiB of them, `raw_bytes` is the full size.
    `error` names what failed, never the content."""

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("hotel_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    receipt_id: Mapped[int | None] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text)
    raw_encoding: Mapped[str] = mapped_column(String(8), server_default="utf-8")
    raw_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HotelStatus(Base):
    """What the daemon polling a hotel last said about it (read by `hotelbot status`)."""

    __tablename__ = "hotel_status"

    hotel_id: Mapped[int] = mapped_column(
        ForeignKey("hotels.id", ondelete="CASCADE"), primary_key=True
    )
    daemon: Mapped[str | None] = mapped_column(String(200))
    polling: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    healthy: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    unhealthy_reason: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_total: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """Every message hotelbot sends (alerts, scheduled messages, confirmations, manual sends).

    Producers insert with a unique `idempotency_key` per logical message (e.g.
    "alert:<message id>", "trigger:<trigger>:<stay>:<scheduled time>"), in the same
    transaction as the decision that caused it, so a retried producer never enqueues twice.
    The sender moves rows pending -> sending (committed before the HTTP call) -> sent | failed
    | unknown (outcome ambiguous: reconciled from Green API before any resend). `lane`
    (domain.outbox.Lane) decides the order and pace; `urgent` rows go first in their lane.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("hotel_id", "idempotency_key"),
        Index("ix_outbox_due", "state", "available_at"),
        Index("ix_outbox_id_message", "hotel_id", "id_message"),
        Index("ix_outbox_lane_due", "hotel_id", "lane", "state", "available_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))  # domain.outbox.OutboxKind
    lane: Mapped[str] = mapped_column(String(16), server_default="automated")
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    chat_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # With a file (sendFileByUrl): its https URL and file name; `text` is then its caption.
    file_url: Mapped[str | None] = mapped_column(String(2000))
    file_name: Mapped[str | None] = mapped_column(String(255))
    # Sent as a reply to this message of the same chat (sendMessage quotedMessageId).
    quoted_message_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), server_default=OutboxState.PENDING.value)
    available_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    id_message: Mapped[str | None] = mapped_column(String(128))
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sending_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
