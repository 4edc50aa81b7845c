"""How much work is waiting: unprocessed notifications and unsent outbox messages."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.outbox import OPEN_STATES
from hotelbot.storage.models import Notification, OutboxMessage

# Outbox states that still need the sender (unknown = awaiting reconciliation).
OUTBOX_OPEN_STATES = tuple(sorted(OPEN_STATES))


async def backlog_counts(conn: AsyncConnection, hotel_id: int | None = None) -> tuple[int, int]:
    """(unprocessed notifications, open outbox messages), for one hotel or all. Read-only;
    both counts use indexed columns (the partial unprocessed index, ix_outbox_due)."""
    unprocessed = (
        select(func.count()).select_from(Notification).where(Notification.processed_at.is_(None))
    )
    outbox = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.state.in_(OUTBOX_OPEN_STATES))
    )
    if hotel_id is not None:
        unprocessed = unprocessed.where(Notification.hotel_id == hotel_id)
        outbox = outbox.where(OutboxMessage.hotel_id == hotel_id)
    return (
        int((await conn.execute(unprocessed)).scalar_one()),
        int((await conn.execute(outbox)).scalar_one()),
    )
