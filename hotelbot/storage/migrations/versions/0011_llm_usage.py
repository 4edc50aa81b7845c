"""llm_usage (LLM calls and tokens per hotel and UTC day, the daily budget) and llm_cache
(verdicts reused for identical questions within a day).

Revision ID: 0011_llm_usage
Revises: 0010_staff_email
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotelbot.storage.types import UtcDateTime

revision = "0011_llm_usage"
down_revision = "0010_staff_email"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column(
            "hotel_id",
            sa.BigInteger(),
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_llm_usage_hotel_id_hotels"),
            primary_key=True,
        ),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_hits", sa.Integer(), nullable=False),
        sa.Column("limited", sa.Integer(), nullable=False),
        sa.Column("over_budget_logged", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "llm_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column(
            "hotel_id",
            sa.BigInteger(),
            sa.ForeignKey("hotels.id", ondelete="CASCADE", name="fk_llm_cache_hotel_id_hotels"),
            nullable=False,
        ),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_llm_cache_day", "llm_cache", ["day"])


def downgrade() -> None:
    op.drop_index("ix_llm_cache_day", table_name="llm_cache")
    op.drop_table("llm_cache")
    op.drop_table("llm_usage")
