"""StatusWriter: hotel_status rows written in proportion to what changed, all of them refreshed
often enough that `hotelbot status` never sees a live daemon's row as stale."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.status_writer import StatusWriter
from hotelbot.storage.db import Database
from hotelbot.storage.models import HotelStatus
from tests.scheduling_helpers import make_hotel


async def _rows(db: Database) -> dict[int, Any]:
    async with db.read() as conn:
        return {r.hotel_id: r for r in await conn.execute(select(HotelStatus))}


async def test_changed_rows_at_once_and_every_row_at_each_refresh(db: Database) -> None:
    ids = [await make_hotel(db, f"h{n}", instance_id=f"110100002{n}") for n in range(3)]
    healths = [HotelHealth(hotel_id=i, slug=f"h{n}", polling=True) for n, i in enumerate(ids)]
    now = [0.0]
    writer = StatusWriter(db, "d1", clock=lambda: now[0])

    assert await writer.write(healths, refresh_s=10) == 3  # first write: everything
    first = await _rows(db)
    assert {r.daemon for r in first.values()} == {"d1"}

    now[0] = 5.0
    healths[1].healthy, healths[1].unhealthy_reason = False, "Unauthorized"
    healths[2].last_poll_at = datetime.now().astimezone()  # a timestamp alone waits
    assert await writer.write(healths, refresh_s=10) == 1
    second = await _rows(db)
    assert not second[ids[1]].healthy and second[ids[1]].unhealthy_reason == "Unauthorized"
    assert second[ids[1]].updated_at > first[ids[1]].updated_at
    for i in (ids[0], ids[2]):
        assert second[i].updated_at == first[i].updated_at
    assert second[ids[2]].last_poll_at is None

    now[0] = 9.5  # 0.9 x refresh_s passed since the last full write: refresh everything
    assert await writer.write(healths, refresh_s=10) == 3
    third = await _rows(db)
    assert all(third[i].updated_at > second[i].updated_at for i in ids)
    assert third[ids[2]].last_poll_at is not None

    now[0] = 10.0
    assert await writer.write(healths, refresh_s=10) == 0
    assert await writer.write(healths, refresh_s=10, full=True) == 3
