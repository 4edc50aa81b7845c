"""Staff alerts: outbox lanes, verdict categories, acknowledgement, escalation, guest signals.

Revision ID: 0005_alerts
Revises: 0004_leases
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.models import BigId
from hotelbot.storage.types import UtcDateTime

revision = "0005_alerts"
down_revision = "0004_leases"
branch_labels = None
depends_on = None

_FALSE = sa.text("false")
_SIGNAL_DEFAULTS = {
    "signal_call": "alert",
    "signal_voice_note": "alert",
    "signal_photo": "digest",
    "signal_video": "digest",
    "signal_document": "digest",
    "signal_location": "digest",
}


def upgrade() -> None:
    # Outbox lanes: alert > requested > automated, each paced on its own.
    op.add_column(
        "outbox", sa.Column("lane", sa.String(16), nullable=False, server_default="automated")
    )
    op.add_column("outbox", sa.Column("urgent", sa.Boolean, nullable=False, server_default=_FALSE))
    op.execute("UPDATE outbox SET lane = 'alert' WHERE kind = 'alert'")
    op.execute("UPDATE outbox SET lane = 'requested' WHERE kind IN ('manual', 'optout', 'optin')")
    op.create_index("ix_outbox_lane_due", "outbox", ["hotel_id", "lane", "state", "available_at"])

    # The verdict's category (domain.categories.AttentionCategory) for alerts and reports.
    op.add_column("messages", sa.Column("category", sa.String(32), nullable=True))

    # Alerts: what they are about, a reference staff can quote, acknowledgement, escalation.
    op.add_column("alerts", sa.Column("category", sa.String(32), nullable=True))
    op.add_column("alerts", sa.Column("urgent", sa.Boolean, nullable=False, server_default=_FALSE))
    op.add_column("alerts", sa.Column("signal", sa.String(16), nullable=True))
    op.add_column("alerts", sa.Column("reference", sa.Integer, nullable=True))
    op.add_column("alerts", sa.Column("acknowledged_at", UtcDateTime, nullable=True))
    op.add_column("alerts", sa.Column("acknowledged_via", sa.String(16), nullable=True))
    op.add_column("alerts", sa.Column("escalated_at", UtcDateTime, nullable=True))
    op.add_column("alerts", sa.Column("escalation_outbox_id", BigId, nullable=True))
    op.add_column("alerts", sa.Column("reminder_outbox_id", BigId, nullable=True))
    # Alerts written before this revision keep their id as their reference (unique per hotel).
    op.execute("UPDATE alerts SET reference = id WHERE reference IS NULL")
    op.create_index("uq_alerts_hotel_reference", "alerts", ["hotel_id", "reference"], unique=True)
    op.create_index(
        "ix_alerts_open",
        "alerts",
        ["hotel_id", "created_at"],
        sqlite_where=sa.text("acknowledged_at IS NULL AND escalated_at IS NULL"),
        postgresql_where=sa.text("acknowledged_at IS NULL AND escalated_at IS NULL"),
    )
    op.create_index("ix_alerts_conversation", "alerts", ["conversation_id"])

    # When staff last answered or acknowledged the conversation (any route).
    op.add_column("conversations", sa.Column("handled_at", UtcDateTime, nullable=True))

    # Hotel settings of the alert path.
    op.add_column("hotels", sa.Column("staff_language", sa.String(8), nullable=True))
    op.add_column("hotels", sa.Column("escalation_chat_id", sa.String(64), nullable=True))
    op.add_column(
        "hotels", sa.Column("escalate_after_min", sa.Float, nullable=False, server_default="10")
    )
    op.add_column(
        "hotels", sa.Column("alert_quiet_hours", sa.String(11), nullable=False, server_default="")
    )
    for column, default in _SIGNAL_DEFAULTS.items():
        op.add_column(
            "hotels", sa.Column(column, sa.String(8), nullable=False, server_default=default)
        )


def downgrade() -> None:
    with op.batch_alter_table("hotels") as batch:
        for column in (
            *reversed(_SIGNAL_DEFAULTS),
            "alert_quiet_hours",
            "escalate_after_min",
            "escalation_chat_id",
            "staff_language",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("handled_at")
    op.drop_index("ix_alerts_conversation", table_name="alerts")
    op.drop_index("ix_alerts_open", table_name="alerts")
    op.drop_index("uq_alerts_hotel_reference", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        for column in (
            "reminder_outbox_id",
            "escalation_outbox_id",
            "escalated_at",
            "acknowledged_via",
            "acknowledged_at",
            "reference",
            "signal",
            "urgent",
            "category",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("category")
    op.drop_index("ix_outbox_lane_due", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("urgent")
        batch.drop_column("lane")
