"""Understanding guests: guests, conversations, messages, alerts.

Revision ID: 0002_understanding
Revises: 0001_foundation
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.models import BigId
from hotelbot.storage.types import UtcDateTime

revision = "0002_understanding"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_FALSE = sa.text("false")


def _hotel_fk(table: str) -> sa.Column[int]:
    return sa.Column(
        "hotel_id",
        sa.BigInteger,
        sa.ForeignKey("hotels.id", ondelete="CASCADE", name=f"fk_{table}_hotel_id_hotels"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "guests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _hotel_fk("guests"),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("opted_out", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("opted_out_at", UtcDateTime, nullable=True),
        sa.Column("first_message_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "chat_id", name="uq_guests_hotel_id"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _hotel_fk("conversations"),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column(
            "guest_id",
            sa.BigInteger,
            sa.ForeignKey(
                "guests.id", ondelete="SET NULL", name="fk_conversations_guest_id_guests"
            ),
            nullable=True,
        ),
        sa.Column("is_group", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("last_message_at", UtcDateTime, nullable=True),
        sa.Column("last_guest_message_at", UtcDateTime, nullable=True),
        sa.Column("last_staff_reply_at", UtcDateTime, nullable=True),
        sa.Column("handled_by_staff_until", UtcDateTime, nullable=True),
        sa.Column("last_alert_at", UtcDateTime, nullable=True),
        sa.Column("open_alert_id", BigId, nullable=True),
        sa.Column("suppressed_alerts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_suppressed_message_id", BigId, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "chat_id", name="uq_conversations_hotel_id"),
    )
    op.create_index("ix_conversations_suppressed", "conversations", ["suppressed_alerts"])
    op.create_table(
        "messages",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _hotel_fk("messages"),
        sa.Column(
            "conversation_id",
            sa.BigInteger,
            sa.ForeignKey(
                "conversations.id",
                ondelete="CASCADE",
                name="fk_messages_conversation_id_conversations",
            ),
            nullable=True,
        ),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("id_message", sa.String(128), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("from_staff", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("from_api", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("type_message", sa.String(64), nullable=False),
        sa.Column("sender_id", sa.String(64), nullable=True),
        sa.Column("sender_name", sa.String(200), nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("undecryptable", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("target_id", sa.String(128), nullable=True),
        sa.Column("edited", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("reaction", sa.String(32), nullable=True),
        sa.Column("sent_at", UtcDateTime, nullable=False),
        sa.Column("notification_id", BigId, nullable=True),
        sa.Column("sentiment", sa.String(16), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("requires_attention", sa.Boolean, nullable=False, server_default=_FALSE),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("analyser", sa.String(32), nullable=True),
        sa.Column("analysed_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "chat_id", "id_message", name="uq_messages_hotel_id"),
    )
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "sent_at"])
    op.create_index(
        "ix_messages_attention", "messages", ["hotel_id", "requires_attention", "sent_at"]
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _hotel_fk("alerts"),
        sa.Column(
            "message_id",
            sa.BigInteger,
            sa.ForeignKey("messages.id", ondelete="CASCADE", name="fk_alerts_message_id_messages"),
            nullable=False,
        ),
        sa.Column(
            "conversation_id",
            sa.BigInteger,
            sa.ForeignKey(
                "conversations.id",
                ondelete="CASCADE",
                name="fk_alerts_conversation_id_conversations",
            ),
            nullable=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("more_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outbox_id", BigId, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "message_id", name="uq_alerts_hotel_id"),
    )


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_index("ix_messages_attention", table_name="messages")
    op.drop_index("ix_messages_conversation", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_conversations_suppressed", table_name="conversations")
    op.drop_table("conversations")
    op.drop_table("guests")
