"""Reading dead letters: queue items set aside because they could not be parsed or stored
(written by `storage.ingest`). Read-only; for `hotelbot dead-letters` and the operator
watch (daemon/operator_watch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.ingest import decode_raw
from hotelbot.storage.models import DeadLetter


@dataclass(frozen=True, slots=True)
class DeadLetterSummary:
    """One dead letter without its raw item."""

    id: int
    hotel_id: int
    receipt_id: int | None
    raw_bytes: int | None  # the size of the whole item (the kept raw may be cut)
    error: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetterItem:
    """One dead letter with the bytes it kept (guest data: make it safe before showing)."""

    id: int
    receipt_id: int | None
    raw_bytes: int | None
    error: str
    raw: bytes


async def list_dead_letters(
    conn: AsyncConnection, *, hotel_id: int | None = None, limit: int
) -> list[DeadLetterSummary]:
    """At most `limit` dead letters, newest (highest id) first; only `hotel_id`'s if given."""
    query = (
        select(
            DeadLetter.id,
            DeadLetter.hotel_id,
            DeadLetter.receipt_id,
            DeadLetter.raw_bytes,
            DeadLetter.error,
            DeadLetter.received_at,
        )
        .order_by(DeadLetter.id.desc())
        .limit(limit)
    )
    if hotel_id is not None:
        query = query.where(DeadLetter.hotel_id == hotel_id)
    return [DeadLetterSummary(*row) for row in await conn.execute(query)]


async def get_dead_letter(conn: AsyncConnection, dead_letter_id: int) -> DeadLetterItem | None:
    """The dead letter with this id and its kept bytes (decoded from storage); None if none."""
    query = select(
        DeadLetter.id,
        DeadLetter.receipt_id,
        DeadLetter.raw_bytes,
        DeadLetter.error,
        DeadLetter.raw,
        DeadLetter.raw_encoding,
    ).where(DeadLetter.id == dead_letter_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    letter_id, receipt_id, raw_bytes, error, raw, encoding = row
    return DeadLetterItem(letter_id, receipt_id, raw_bytes, error, decode_raw(raw, encoding))


async def dead_letters_after(conn: AsyncConnection, *, after: datetime) -> dict[int, int]:
    """How many dead letters each hotel received strictly after `after` (hotels with none
    are absent)."""
    query = (
        select(DeadLetter.hotel_id, func.count())
        .where(DeadLetter.received_at > after)
        .group_by(DeadLetter.hotel_id)
    )
    return {int(h): int(n) for h, n in await conn.execute(query)}
