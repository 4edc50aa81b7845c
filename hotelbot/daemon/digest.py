"""The manager's scheduled digest: `hotelbot report` as a WhatsApp message to the hotel's
manager_chat_id at its `report_schedule` (hotel time), in the staff language.

Once per scheduled moment, by construction: the outbox row's idempotency key is
"report:<moment in UTC>", so a second daemon, a restart or a repeated tick enqueues nothing
new. A moment missed by more than GRACE (the daemon was down) is skipped, not sent late.
Runs for the hotels this daemon polls (holds the lease of)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from loguru import logger

from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.outbox import OutboxKind
from hotelbot.domain.report import render_report
from hotelbot.domain.report_schedule import GRACE, last_due
from hotelbot.storage.db import Connection, Database
from hotelbot.storage.hotel_policy import hotel_policy
from hotelbot.storage.hotels import list_hotels
from hotelbot.storage.leases import LeaseView
from hotelbot.storage.manager_report import hotel_report
from hotelbot.storage.outbox import enqueue, queued_keys
from hotelbot.storage.unit_of_work import SqlUnitsOfWork


def digest_key(moment: datetime) -> str:
    return f"report:{moment.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


class DigestSender:
    """`run()` ticks until cancelled; `run_once(now)` enqueues the digests due now and
    returns how many it enqueued (idempotent)."""

    def __init__(
        self,
        db: Database,
        hotel_ids: Callable[[], Collection[int]],
        *,
        tick_s: float = 60.0,
        lease: LeaseView | None = None,
    ) -> None:
        self._db = db
        self._units = SqlUnitsOfWork(db, lease)  # fenced: a stale daemon queues nothing
        self._hotel_ids = hotel_ids
        self._tick_s = tick_s
        self._warned: set[str] = set()

    async def run(self) -> None:
        while True:
            try:
                await self.run_once(datetime.now(UTC))
            except Exception as exc:  # the database may be away: next tick
                logger.warning("digest: tick failed ({})", type(exc).__name__)
            await asyncio.sleep(self._tick_s)

    async def run_once(self, now: datetime) -> int:
        owned = set(self._hotel_ids())
        async with self._db.read() as conn:
            hotels = [
                hotel_policy(h)
                for h in await list_hotels(conn, enabled_only=True)
                if h.id in owned and h.manager_chat_id and h.report_schedule != "off"
            ]
        sent = 0
        for hotel in hotels:
            sent += await self._one(hotel, now)
        return sent

    async def _one(self, hotel: HotelPolicy, now: datetime) -> int:
        if hotel.report_schedule_problem is not None:
            if hotel.slug not in self._warned:
                self._warned.add(hotel.slug)
                logger.bind(hotel=hotel.slug).warning(
                    "report_schedule: {}", hotel.report_schedule_problem
                )
            return 0
        schedule = hotel.report_schedule
        if schedule is None or hotel.manager_chat_id is None:
            return 0
        tz = hotel.tz
        moment = last_due(schedule, now.astimezone(tz))
        if now - moment > GRACE:
            return 0
        key = digest_key(moment)
        async with self._db.read() as conn:
            if await queued_keys(conn, hotel_id=hotel.id, keys=[key]):
                return 0
        start = moment - schedule.period
        try:
            async with self._units.begin({hotel.id}) as uow:
                queued = await self._queue(uow.conn, hotel, key, start, moment, tz)
        except LeaseLost:
            return 0
        if queued is None:
            return 0
        logger.bind(hotel=hotel.slug).info("manager digest queued for {}", key)
        return 1

    async def _queue(
        self,
        conn: Connection,
        hotel: HotelPolicy,
        key: str,
        start: datetime,
        moment: datetime,
        tz: ZoneInfo,
    ) -> int | None:
        """The digest of [start, moment) queued under `key` (None: queued before)."""
        assert hotel.manager_chat_id is not None
        report = await hotel_report(conn, hotel, start, moment, tz)
        text = render_report(
            report,
            language=hotel.staff_language or hotel.default_language,
            shown_start=f"{start:%Y-%m-%d %H:%M}",
            shown_end=f"{moment:%Y-%m-%d %H:%M %Z}",
        )
        return await enqueue(
            conn,
            hotel_id=hotel.id,
            idempotency_key=key,
            kind=OutboxKind.REPORT,
            chat_id=hotel.manager_chat_id,
            text=text,
        )
