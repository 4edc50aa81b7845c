"""Import and read a hotel's facts (domain.facts), versioned: every import that changes
something adds a version; the newest is in force."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.facts import HotelFacts
from hotelbot.storage.models_facts import HotelFactsRow
from hotelbot.storage.types import utcnow


@dataclass(frozen=True, slots=True)
class FactsVersion:
    version: int
    facts: HotelFacts
    imported_at: datetime


def _body(facts: HotelFacts) -> str:
    return json.dumps(facts.to_dict(), sort_keys=True, ensure_ascii=False)


async def current_facts(conn: AsyncConnection, hotel_id: int) -> FactsVersion | None:
    """The facts in force for the hotel (its newest version), or None before any import."""
    row = (
        await conn.execute(
            select(HotelFactsRow.version, HotelFactsRow.body, HotelFactsRow.imported_at)
            .where(HotelFactsRow.hotel_id == hotel_id)
            .order_by(HotelFactsRow.version.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return FactsVersion(int(row[0]), HotelFacts.from_dict(json.loads(row[1])), row[2])


async def import_facts(
    conn: AsyncConnection, hotel_id: int, facts: HotelFacts, *, now: datetime | None = None
) -> tuple[int, bool]:
    """Store `facts` as the hotel's next version unless they equal the one in force.
    Returns (version in force, whether it is new). Run in a write transaction: two
    concurrent imports collide on the unique (hotel, version) key, never both win."""
    body = _body(facts)
    digest = hashlib.sha256(body.encode()).hexdigest()
    latest = (
        await conn.execute(
            select(HotelFactsRow.version, HotelFactsRow.sha256)
            .where(HotelFactsRow.hotel_id == hotel_id)
            .order_by(HotelFactsRow.version.desc())
            .limit(1)
        )
    ).first()
    if latest is not None and latest[1] == digest:
        return int(latest[0]), False
    version = (
        await conn.execute(
            select(func.coalesce(func.max(HotelFactsRow.version), 0)).where(
                HotelFactsRow.hotel_id == hotel_id
            )
        )
    ).scalar_one() + 1
    await conn.execute(
        insert(HotelFactsRow).values(
            hotel_id=hotel_id,
            version=version,
            mode=facts.mode.value,
            body=body,
            sha256=digest,
            imported_at=now or utcnow(),
        )
    )
    return int(version), True
