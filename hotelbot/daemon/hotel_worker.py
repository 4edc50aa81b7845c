"""One hotel's worker: its poller and its outbox loop, started and stopped as one unit.

The worker runs as one owned task (`hotel:<slug>`, daemon/tasks.py) in the daemon's task
group; inside it the poller (receive -> store -> delete, daemon/poller.py) and the hotel's
send loop (`OutboxSender.hotel_loop`, daemon/sender.py) share one small task group:

* `stop()` asks both to end: an in-flight long poll is cancelled (safe: only delete
  dequeues), an item being stored/deleted and a send step in progress are finished first;
* when the poller ends by itself (its lease is no longer valid, the ingest writer closed),
  the send loop ends with it: a hotel is served whole or not at all;
* a crash of either half cancels the other and ends the worker with the error; the hotel
  reconciliation (daemon/hotels.py) logs it and starts a fresh worker, with a growing delay;
* beside them the instance state probe (daemon/state_probe.py) asks Green API every
  `state_check_s` whether the number is still logged in; it ends with the poller.

The worker owns its HTTP transport; `aclose()` closes it once the task ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from loguru import logger

from hotelbot.crashpoints import fail_point
from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.poller import HotelPoller
from hotelbot.daemon.sender import OutboxSender
from hotelbot.daemon.state_probe import InstanceStateProbe
from hotelbot.daemon.tasks import OwnedTask, OwnedTasks
from hotelbot.daemon.transports import TransportFactory
from hotelbot.domain.backoff import Backoff
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.retry import poll_policy
from hotelbot.greenapi.transport import Transport
from hotelbot.settings import GreenApiSettings
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import HotelRecord
from hotelbot.storage.ingest import IngestWriter
from hotelbot.storage.leases import Ownership
from hotelbot.storage.unit_of_work import SqlUnitsOfWork


@dataclass(eq=False)
class HotelWorker:
    """Poller and send loop of one hotel. Build with `start_worker`; stop with `stop()`, then
    `await task.stop(timeout)` and `aclose()`."""

    record: HotelRecord
    token: str = field(repr=False)
    poller: HotelPoller
    client: GreenApiClient
    transport: Transport
    sender: OutboxSender
    probe: InstanceStateProbe
    task: OwnedTask | None = None
    started_at: float = 0.0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _poll_scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    _probe_scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)

    @property
    def hotel_id(self) -> int:
        return self.record.id

    @property
    def ending_on_purpose(self) -> bool:
        """Stopping, or its poller found the lease gone: its silence is no hang."""
        return self._stop.is_set() or self.poller.stopping or self.poller.lease_lost

    def done(self) -> bool:
        return self.task is None or self.task.done()

    def stop(self) -> None:
        """Ask both halves to end (see the module docstring). Idempotent, never blocks."""
        self._stop.set()
        self.poller.stop()
        self.sender.wake([self.hotel_id])

    async def run(self) -> None:
        """Runs until `stop()` or until the poller ends; raises what a bug in either raises."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._send_loop, name=f"outbox:{self.record.slug}")
            group.start_soon(self._probe_loop, name=f"state:{self.record.slug}")
            with self._poll_scope:
                await self.poller.run()
            # The poller ended (stop, lease lost, writer closed): the rest end with it.
            self._stop.set()
            self._probe_scope.cancel()
            self.sender.wake([self.hotel_id])

    async def _send_loop(self) -> None:
        fail_point("hotel_worker")  # tests: a bug in one hotel's worker
        await self.sender.hotel_loop(self.hotel_id, self._stop)

    async def _probe_loop(self) -> None:
        with self._probe_scope:
            await self.probe.run()

    async def aclose(self) -> None:
        await self.transport.aclose()


def start_worker(
    tasks: OwnedTasks,
    record: HotelRecord,
    token: str,
    *,
    settings: GreenApiSettings,
    transports: TransportFactory,
    writer: IngestWriter,
    sender: OutboxSender,
    db: Database,
    units: SqlUnitsOfWork,
    health: HotelHealth,
    ownership: Ownership | None,
    now: float,
    on_end: Callable[[], None],
) -> HotelWorker:
    """Build the hotel's client and poller and start the worker as a non-critical owned task;
    `on_end` is called when it ended (the hotel reconciliation decides what comes next)."""
    g = settings
    transport = transports.create()
    client = GreenApiClient(
        InstanceCredentials(record.api_url, record.instance_id, token),
        transport,
        receive_timeout_s=g.receive_timeout_s,
        request_timeout_s=g.request_timeout_s,
        poll_timeout_margin_s=g.poll_timeout_margin_s,
    )
    poller = HotelPoller(
        record.id,
        record.slug,
        client,
        writer,
        health=health,
        backoff=Backoff(poll_policy(g.backoff_min_s, g.backoff_max_s).delay_s),
        unhealthy_retry_s=g.unhealthy_retry_s,
        may_poll=None if ownership is None else (lambda: ownership.is_valid(record.id)),
    )
    probe = InstanceStateProbe(
        record.id, record.slug, client, db, units, interval_s=g.state_check_s
    )
    worker = HotelWorker(record, token, poller, client, transport, sender, probe, started_at=now)
    # stop() cancels an in-flight receive or pause, never a store or a send step.
    poller.bind_cancel(worker._poll_scope.cancel)
    worker.task = tasks.start(f"hotel:{record.slug}", worker.run, critical=False, on_end=on_end)
    logger.bind(hotel=record.slug).info(
        "polling instance {} at {}", record.instance_id, record.api_url
    )
    return worker
