"""The hotel_status table's write side: what the daemon polling a hotel says about it, read
back by `hotelbot status` (storage/status_report.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from hotelbot.storage.db import Connection
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models import HotelStatus
from hotelbot.storage.types import utcnow


@dataclass(frozen=True, slots=True)
class HotelStatusRow:
    """One hotel's status as its daemon sees it now."""

    hotel_id: int
    daemon: str
    polling: bool
    healthy: bool
    unhealthy_reason: str | None
    last_error: str | None
    last_poll_at: datetime | None
    last_ok_at: datetime | None
    received_total: int


async def write_hotel_statuses(conn: Connection, rows: Sequence[HotelStatusRow]) -> None:
    """Upsert one hotel_status row per hotel in `rows`, stamped now. Idempotent: writing the
    same rows again changes only `updated_at`. Raises database errors."""
    if not rows:
        return
    now = utcnow()
    values = [{**asdict(row), "updated_at": now} for row in rows]
    insert = insert_for(conn, HotelStatus)
    stmt = insert.on_conflict_do_update(
        index_elements=[HotelStatus.hotel_id],
        set_={key: insert.excluded[key] for key in values[0] if key != "hotel_id"},
    )
    await conn.execute(stmt, values)
