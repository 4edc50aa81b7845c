"""outbox.quoted_message_id: a message sent as a reply to another of the same chat.

The escalation's reminder in the staff chat quotes the alert it is about, so staff see at
once which alert is still open.

Revision ID: 0013_outbox_quoted
Revises: 0012_report_schedule
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_outbox_quoted"
down_revision = "0012_report_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("quoted_message_id", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("quoted_message_id")
