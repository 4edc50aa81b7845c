"""Stays, triggers and the trigger fire log.

Revision ID: 0003_stays_triggers
Revises: 0001_foundation
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.models import BigId
from hotelbot.storage.types import UtcDateTime

revision = "0003_stays_triggers"
down_revision = "0002_understanding"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.Column[int]:
    return sa.Column(
        column,
        sa.BigInteger,
        sa.ForeignKey(f"{target}.id", ondelete="CASCADE", name=f"fk_{table}_{column}_{target}"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "stays",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _fk("stays", "hotel_id", "hotels"),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("guest_name", sa.String(200), nullable=False),
        sa.Column("room", sa.String(32), nullable=True),
        sa.Column("check_in", sa.Date, nullable=False),
        sa.Column("check_out", sa.Date, nullable=False),
        sa.Column("check_in_time", sa.String(5), nullable=True),
        sa.Column("check_out_time", sa.String(5), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="booked"),
        sa.Column("external_ref", sa.String(100), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "external_ref", name="uq_stays_hotel_id_external_ref"),
        sa.UniqueConstraint(
            "hotel_id", "chat_id", "check_in", name="uq_stays_hotel_id_chat_id_check_in"
        ),
    )
    op.create_index("ix_stays_hotel_check_out", "stays", ["hotel_id", "check_out"])
    op.create_table(
        "triggers",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _fk("triggers", "hotel_id", "hotels"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("grace_s", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "name", name="uq_triggers_hotel_id_name"),
    )
    op.create_table(
        "trigger_fires",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _fk("trigger_fires", "hotel_id", "hotels"),
        _fk("trigger_fires", "trigger_id", "triggers"),
        _fk("trigger_fires", "stay_id", "stays"),
        sa.Column("scheduled_for", UtcDateTime, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("outcome", sa.String(48), nullable=False),
        sa.Column("trigger_version", sa.Integer, nullable=False),
        sa.Column("outbox_id", sa.Integer, nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.UniqueConstraint(
            "trigger_id",
            "stay_id",
            "scheduled_for",
            name="uq_trigger_fires_trigger_id_stay_id_scheduled_for",
        ),
    )


def downgrade() -> None:
    op.drop_table("trigger_fires")
    op.drop_table("triggers")
    op.drop_index("ix_stays_hotel_check_out", table_name="stays")
    op.drop_table("stays")
