"""Guest messaging: files with triggers, stay events and conditions, the guest's language.

* triggers.attachment: a file sent by URL after the trigger's text (JSON, domain.attachments);
* triggers.conditions: when a trigger applies to a stay (JSON, domain.conditions);
* trigger_fires.file_outbox_id: the outbox row of that file (withdrawn with the text);
* outbox.file_url / file_name: a row with a file goes out with sendFileByUrl, `text` being
  its caption;
* stays.source / room_tags: the booking source and the room's tags, for conditions;
* guests.language_source ("detected" | "operator") and language_candidate: the guest's
  language is kept per guest; detection changes it only when two messages agree, and never
  once the operator set it.

Revision ID: 0007_guestmsg
Revises: 0006_hardening
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_guestmsg"
down_revision = "0006_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("triggers") as batch:
        batch.add_column(sa.Column("attachment", sa.Text, nullable=True))
        batch.add_column(sa.Column("conditions", sa.Text, nullable=True))
    with op.batch_alter_table("trigger_fires") as batch:
        batch.add_column(sa.Column("file_outbox_id", sa.BigInteger, nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("file_url", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("file_name", sa.String(255), nullable=True))
    with op.batch_alter_table("stays") as batch:
        batch.add_column(sa.Column("source", sa.String(64), nullable=True))
        batch.add_column(sa.Column("room_tags", sa.String(200), nullable=True))
    with op.batch_alter_table("guests") as batch:
        batch.add_column(sa.Column("language_source", sa.String(16), nullable=True))
        batch.add_column(sa.Column("language_candidate", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("guests") as batch:
        batch.drop_column("language_candidate")
        batch.drop_column("language_source")
    with op.batch_alter_table("stays") as batch:
        batch.drop_column("room_tags")
        batch.drop_column("source")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("file_name")
        batch.drop_column("file_url")
    with op.batch_alter_table("trigger_fires") as batch:
        batch.drop_column("file_outbox_id")
    with op.batch_alter_table("triggers") as batch:
        batch.drop_column("conditions")
        batch.drop_column("attachment")
