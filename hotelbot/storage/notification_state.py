"""The processor's work list: notifications not processed yet, and marking them processed, or
failed (attempts, error), after interpretation."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.models import Notification
from hotelbot.storage.types import STORED_ERROR_CHARS

if TYPE_CHECKING:
    from hotelbot.app.understand import Work


@dataclass(frozen=True, slots=True)
class Unprocessed:
    """A stored notification waiting for the processor (`body`: the wire JSON)."""

    id: int
    hotel_id: int
    receipt_id: int
    received_at: datetime
    attempts: int
    body: str


async def unprocessed(
    conn: AsyncConnection, *, after_id: int, limit: int, hotel_ids: Collection[int] | None = None
) -> list[Unprocessed]:
    """Up to `limit` notifications not processed yet with an id above `after_id`, oldest
    first; only those of `hotel_ids` unless None. Read-only."""
    query = (
        select(
            Notification.id,
            Notification.hotel_id,
            Notification.receipt_id,
            Notification.received_at,
            Notification.process_attempts,
            Notification.body,
        )
        .where(Notification.processed_at.is_(None), Notification.id > after_id)
        .order_by(Notification.id)
        .limit(limit)
    )
    if hotel_ids is not None:
        query = query.where(Notification.hotel_id.in_(list(hotel_ids)))
    return [
        Unprocessed(int(r[0]), int(r[1]), int(r[2]), r[3], int(r[4]), str(r[5]))
        for r in await conn.execute(query)
    ]


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


@dataclass(frozen=True, slots=True)
class StoredNotification:
    """A stored notification as received (`body`: the wire JSON), processed or not."""

    id: int
    hotel_id: int
    type_webhook: str
    body: str


async def notifications_after(conn: AsyncConnection, *, after_id: int) -> list[StoredNotification]:
    """Every stored notification with an id above `after_id`, of every hotel and type,
    processed or not, oldest (lowest id) first. Read-only; raises what the driver raises."""
    query = (
        select(Notification.id, Notification.hotel_id, Notification.type_webhook, Notification.body)
        .where(Notification.id > after_id)
        .order_by(Notification.id)
    )
    return [
        StoredNotification(int(r[0]), int(r[1]), str(r[2]), str(r[3]))
        for r in await conn.execute(query)
    ]
