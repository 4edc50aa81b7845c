"""Asks Green API how a hotel's WhatsApp instance is, so a logout is seen without webhooks.

Green API tells of a logout with a stateInstanceChanged notification only when the instance's
`stateWebhook` setting is on; an instance set up by hand often has it off, and then nothing
in the queue says the number stopped working. The probe closes that gap: every
`[greenapi] state_check_s` (Green API's own advice is about once a minute) it calls
getStateInstance and stores the answer in `hotels.instance_state`, where the sender holds
sends to a logged-out instance, the operator watch mails operators, `hotelbot status` and the
metrics read it.

It writes only when the state changed (`storage.hotels.record_instance_state`), so
`instance_state_at` keeps saying since when, and a quiet minute costs one HTTP call and one
read, no write transaction. The write is fenced like every other: a daemon that lost the
hotel's lease stores nothing. A failed call is logged and tried again next round; the probe
never stops the hotel's poller.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import anyio
from loguru import logger

from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.error_text import describe
from hotelbot.greenapi.client import GreenApiClient
from hotelbot.greenapi.errors import GreenApiError
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import instance_state_of, record_instance_state
from hotelbot.storage.unit_of_work import SqlUnitsOfWork


class InstanceStateProbe:
    """One hotel's state probe. `run_once()` is one check; `run()` checks every `interval_s`
    until cancelled (the hotel worker owns it and cancels it with the poller)."""

    def __init__(
        self,
        hotel_id: int,
        slug: str,
        client: GreenApiClient,
        db: Database,
        units: SqlUnitsOfWork,
        *,
        interval_s: float,
        jitter: Callable[[float], float] = lambda upper: random.uniform(0.0, upper),
    ) -> None:
        self.hotel_id = hotel_id
        self.slug = slug
        self._client = client
        self._db = db
        self._units = units
        self.interval_s = interval_s
        self._jitter = jitter
        self.checks = 0  # calls answered, for status and tests

    async def run_once(self) -> str | None:
        """Ask once; returns the state when it differs from the stored one and was stored,
        None otherwise (same state, call failed, lease lost). Raises database errors; may run
        twice (the second finds the state stored and writes nothing)."""
        log = logger.bind(hotel=self.slug)
        try:
            state = await self._client.get_state_instance()
        except GreenApiError as exc:
            # The poller reports the hotel's connection troubles; here a miss is only a
            # skipped check.
            log.debug("instance state check failed: {}", describe(exc))
            return None
        self.checks += 1
        async with self._db.read() as conn:
            if await instance_state_of(conn, self.hotel_id) == state:
                return None
        try:
            async with self._units.begin([self.hotel_id]) as uow:
                changed = await record_instance_state(uow.conn, self.hotel_id, state)
        except LeaseLost:
            return None  # another daemon serves the hotel now; its probe tells
        if changed:
            log.info("instance state (checked): {}", state)
            return state
        return None

    async def run(self) -> None:
        """Check every `interval_s` (0: never) until cancelled. The first check waits a random
        part of the interval, so a daemon of many hotels does not ask for all at once."""
        if self.interval_s <= 0:
            return
        await anyio.sleep(self._jitter(self.interval_s))
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # a database outage: try again next round
                logger.bind(hotel=self.slug).warning("instance state not stored: {}", describe(exc))
            await anyio.sleep(self.interval_s)
