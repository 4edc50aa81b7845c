"""Foundation: hotels, raw notifications, dead letters, hotel runtime status, outbox.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.models import BigId
from hotelbot.storage.types import UtcDateTime

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotels",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("instance_id", sa.String(20), nullable=False),
        sa.Column("api_url", sa.String(300), nullable=False),
        sa.Column("api_token", sa.String(200), nullable=True),
        sa.Column("api_token_env", sa.String(100), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("staff_chat_id", sa.String(64), nullable=True),
        sa.Column("default_language", sa.String(8), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("quiet_hours", sa.String(11), nullable=False, server_default="22:00-09:00"),
        sa.Column("max_automated_per_day", sa.Integer, nullable=False, server_default="3"),
        sa.Column("alert_cooldown_min", sa.Integer, nullable=False, server_default="30"),
        sa.Column("staff_pause_h", sa.Float, nullable=False, server_default="12"),
        sa.Column("groups_as_guests", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("check_in_time", sa.String(5), nullable=False, server_default="15:00"),
        sa.Column("check_out_time", sa.String(5), nullable=False, server_default="11:00"),
        sa.Column("instance_state", sa.String(32), nullable=True),
        sa.Column("instance_state_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("slug", name="uq_hotels_slug"),
        sa.UniqueConstraint("instance_id", name="uq_hotels_instance_id"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "hotel_id",
            sa.BigInteger,
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_notifications_hotel_id_hotels"),
            nullable=False,
        ),
        sa.Column("receipt_id", sa.BigInteger, nullable=False),
        sa.Column("type_webhook", sa.String(64), nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=True),
        sa.Column("id_message", sa.String(128), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("processed_at", UtcDateTime, nullable=True),
        sa.Column("process_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("process_error", sa.Text, nullable=True),
        sa.UniqueConstraint("hotel_id", "dedupe_key", name="uq_notifications_hotel_id"),
    )
    op.create_index(
        "ix_notifications_unprocessed",
        "notifications",
        ["id"],
        sqlite_where=sa.text("processed_at IS NULL"),
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_index("ix_notifications_hotel_received", "notifications", ["hotel_id", "received_at"])
    op.create_table(
        "dead_letters",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "hotel_id",
            sa.BigInteger,
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_dead_letters_hotel_id_hotels"),
            nullable=False,
        ),
        sa.Column("receipt_id", sa.BigInteger, nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "fingerprint", name="uq_dead_letters_hotel_id"),
    )
    op.create_table(
        "hotel_status",
        sa.Column(
            "hotel_id",
            sa.BigInteger,
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_hotel_status_hotel_id_hotels"),
            primary_key=True,
        ),
        sa.Column("daemon", sa.String(200), nullable=True),
        sa.Column("polling", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("healthy", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("unhealthy_reason", sa.Text, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_poll_at", UtcDateTime, nullable=True),
        sa.Column("last_ok_at", UtcDateTime, nullable=True),
        sa.Column("received_total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "hotel_id",
            sa.BigInteger,
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_outbox_hotel_id_hotels"),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("available_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("id_message", sa.String(128), nullable=True),
        sa.Column("delivery_status", sa.String(16), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("sending_started_at", UtcDateTime, nullable=True),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("hotel_id", "idempotency_key", name="uq_outbox_hotel_id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "available_at"])
    op.create_index("ix_outbox_id_message", "outbox", ["hotel_id", "id_message"])


def downgrade() -> None:
    op.drop_index("ix_outbox_id_message", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("hotel_status")
    op.drop_table("dead_letters")
    op.drop_index("ix_notifications_hotel_received", table_name="notifications")
    op.drop_index("ix_notifications_unprocessed", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("hotels")
