"""hotels.report_schedule and manager_chat_id: the manager's scheduled digest.

Revision ID: 0012_report_schedule
Revises: 0011_llm_usage
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_report_schedule"
down_revision = "0011_llm_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotels") as batch:
        batch.add_column(
            sa.Column("report_schedule", sa.String(32), nullable=False, server_default="off")
        )
        batch.add_column(sa.Column("manager_chat_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hotels") as batch:
        batch.drop_column("manager_chat_id")
        batch.drop_column("report_schedule")
