"""A hotel's own facts for automatic answers, one row per imported version.

Revision ID: 0009_hotel_facts
Revises: 0008_signal_sticker
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.models import BigId
from hotelbot.storage.types import UtcDateTime

revision = "0009_hotel_facts"
down_revision = "0008_signal_sticker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotel_facts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "hotel_id",
            sa.BigInteger,
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_hotel_facts_hotel_id_hotels"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("hotel_id", "version", name="uq_hotel_facts_hotel_id_version"),
    )


def downgrade() -> None:
    op.drop_table("hotel_facts")
