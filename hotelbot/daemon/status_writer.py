"""Writes each hotel's in-memory health to hotel_status, so `hotelbot status` can read it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.dialects import postgresql, sqlite

from hotelbot.daemon.health import HotelHealth
from hotelbot.storage.db import Database
from hotelbot.storage.models import HotelStatus
from hotelbot.storage.types import utcnow


async def write_status(db: Database, daemon_name: str, healths: Iterable[HotelHealth]) -> None:
    """Upsert one row per hotel. Idempotent; cheap enough to run every few seconds."""
    now = utcnow()
    rows = [
        {
            "hotel_id": h.hotel_id,
            "daemon": daemon_name,
            "polling": h.polling,
            "healthy": h.healthy,
            "unhealthy_reason": h.unhealthy_reason,
            "last_error": h.last_error,
            "last_poll_at": h.last_poll_at,
            "last_ok_at": h.last_ok_at,
            "received_total": h.received_total,
            "updated_at": now,
        }
        for h in healths
    ]
    if not rows:
        return
    insert = (sqlite.insert if db.is_sqlite else postgresql.insert)(HotelStatus)
    stmt = insert.on_conflict_do_update(
        index_elements=[HotelStatus.hotel_id],
        set_={key: insert.excluded[key] for key in rows[0] if key != "hotel_id"},
    )
    async with db.write() as conn:
        await conn.execute(stmt, rows)
