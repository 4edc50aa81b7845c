"""hotels.staff_email: where staff alerts go by e-mail when WhatsApp cannot deliver them.

Revision ID: 0010_staff_email
Revises: 0009_hotel_facts
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_staff_email"
down_revision = "0009_hotel_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotels") as batch:
        batch.add_column(sa.Column("staff_email", sa.String(254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hotels") as batch:
        batch.drop_column("staff_email")
