"""Guest signals: stickers get a per-hotel setting too (default: ignore).

Revision ID: 0008_signal_sticker
Revises: 0007_guestmsg
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_signal_sticker"
down_revision = "0007_guestmsg"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "hotels", sa.Column("signal_sticker", sa.String(8), nullable=False, server_default="ignore")
    )


def downgrade() -> None:
    with op.batch_alter_table("hotels") as batch:
        batch.drop_column("signal_sticker")
