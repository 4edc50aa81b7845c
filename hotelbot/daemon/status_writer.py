"""Writes each hotel's in-memory health to hotel_status, so `hotelbot status` can read it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from hotelbot.daemon.health import HotelHealth
from hotelbot.storage.db import Database
from hotelbot.storage.hotel_status import HotelStatusRow, write_hotel_statuses

_Content = tuple[bool, bool, str | None, str | None, int]


def _content(h: HotelHealth) -> _Content:
    """What `hotelbot status` shows apart from timestamps: a change here is written at once."""
    return (h.polling, h.healthy, h.unhealthy_reason, h.last_error, h.received_total)


def _row(h: HotelHealth, daemon_name: str) -> HotelStatusRow:
    return HotelStatusRow(
        hotel_id=h.hotel_id,
        daemon=daemon_name,
        polling=h.polling,
        healthy=h.healthy,
        unhealthy_reason=h.unhealthy_reason,
        last_error=h.last_error,
        last_poll_at=h.last_poll_at,
        last_ok_at=h.last_ok_at,
        received_total=h.received_total,
    )


async def write_status(db: Database, daemon_name: str, healths: Iterable[HotelHealth]) -> None:
    """Upsert one row per hotel. Idempotent; cheap enough to run every few seconds."""
    rows = [_row(h, daemon_name) for h in healths]
    if not rows:
        return
    async with db.write() as conn:
        await write_hotel_statuses(conn, rows)


class StatusWriter:
    """`write_status` in proportion to what changed: a hotel whose status content (polling,
    health, last error, received count) changed since the last successful write is written at
    once; every hotel is rewritten (timestamps included) at least every `refresh_s`, which must
    stay below the staleness horizon of `hotelbot status`. Between refreshes `last_poll_at` and
    `last_ok_at` in the table may lag by up to `refresh_s`.

    Not safe to call concurrently with itself; a failed write raises (database errors) and
    leaves the memory of what was written untouched, so the next call retries everything."""

    def __init__(
        self, db: Database, daemon_name: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._daemon_name = daemon_name
        self._clock = clock
        self._written: dict[int, _Content] = {}
        self._last_full: float | None = None

    async def write(
        self, healths: Iterable[HotelHealth], *, refresh_s: float, full: bool = False
    ) -> int:
        """Write what is due; returns the number of rows written."""
        now = self._clock()
        snapshot = [(h, _content(h)) for h in healths]
        # 0.9: a loop waking a little early must not postpone the refresh by a whole interval.
        full = full or self._last_full is None or now - self._last_full >= 0.9 * refresh_s
        due = [h for h, c in snapshot if full or self._written.get(h.hotel_id) != c]
        await write_status(self._db, self._daemon_name, due)
        if full:
            self._written = {h.hotel_id: c for h, c in snapshot}
            self._last_full = now
        else:
            self._written.update((h.hotel_id, c) for h, c in snapshot)
        return len(due)
