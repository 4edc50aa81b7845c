"""Marking notifications processed, or failed (attempts, error), after interpretation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.models import Notification
from hotelbot.storage.types import STORED_ERROR_CHARS

if TYPE_CHECKING:
    from hotelbot.storage.understanding import Work


async def mark_processed(conn: AsyncConnection, works: Iterable[Work], now: datetime) -> None:
    # receipt_id in the condition: if the ingest writer replaced the body meanwhile (a new
    # delivery, e.g. the real text after {{SWE001}}), the row stays unprocessed for the
    # new body.
    stmt = (
        update(Notification)
        .where(Notification.id == bindparam("nid"), Notification.receipt_id == bindparam("rid"))
        .values(processed_at=now, process_error=None)
    )
    params = [{"nid": w.notification_id, "rid": w.receipt_id} for w in works]
    if params:
        await conn.execute(stmt, params)


async def record_failures(
    conn: AsyncConnection, works: Sequence[Work], *, now: datetime, max_attempts: int
) -> list[Work]:
    """Count a failed attempt for each work (error text in process_error, no guest text).
    Works that reached `max_attempts` are marked processed: failed for good. Returns those."""
    given_up = [w for w in works if w.attempts + 1 >= max_attempts]
    stmt = (
        update(Notification)
        .where(Notification.id == bindparam("nid"), Notification.receipt_id == bindparam("rid"))
        .values(
            process_attempts=Notification.process_attempts + 1,
            process_error=bindparam("err"),
            processed_at=bindparam("at"),
        )
    )
    params = [
        {
            "nid": w.notification_id,
            "rid": w.receipt_id,
            "err": (w.error or "unknown error")[:STORED_ERROR_CHARS],
            "at": now if w in given_up else None,
        }
        for w in works
    ]
    if params:
        await conn.execute(stmt, params)
    return given_up
