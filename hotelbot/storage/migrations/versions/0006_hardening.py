"""Hardening: dead letters keep raw bytes safely encoded; the opt-out suppression list.

Revision ID: 0006_hardening
Revises: 0005_alerts
Create Date: 2026-11-22
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.models import BigId
from hotelbot.storage.types import UtcDateTime

revision = "0006_hardening"
down_revision = "0005_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(
            sa.Column("raw_encoding", sa.String(8), nullable=False, server_default="utf-8")
        )
        batch.add_column(sa.Column("raw_bytes", sa.BigInteger, nullable=True))
    op.create_table(
        "optout_suppressions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "hotel_id",
            sa.BigInteger,
            sa.ForeignKey(
                "hotels.id", ondelete="CASCADE", name="fk_optout_suppressions_hotel_id_hotels"
            ),
            nullable=False,
        ),
        sa.Column("chat_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint(
            "hotel_id", "chat_hash", name="uq_optout_suppressions_hotel_id_chat_hash"
        ),
    )
    secrets_table = op.create_table(
        "local_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_local_secrets"),
    )
    op.bulk_insert(secrets_table, [{"name": "optout_hash_key", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("local_secrets")
    op.drop_table("optout_suppressions")
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("raw_bytes")
        batch.drop_column("raw_encoding")
