"""Leases: one lease row per hotel (owner, fencing epoch, expiry) and the registered daemons.

Revision ID: 0004_leases
Revises: 0001_foundation
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.types import UtcDateTime

revision = "0004_leases"
down_revision = "0003_stays_triggers"  # merge: chained after scheduling
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotel_leases",
        sa.Column(
            "hotel_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_hotel_leases_hotel_id_hotels"),
            nullable=False,
        ),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("epoch", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("claimed_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("hotel_id", name="pk_hotel_leases"),
    )
    op.create_table(
        "daemons",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("heartbeat_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_daemons"),
    )


def downgrade() -> None:
    op.drop_table("daemons")
    op.drop_table("hotel_leases")
