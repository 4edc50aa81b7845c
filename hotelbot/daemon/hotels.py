"""The hotels this daemon serves, reconciled in one place at one rhythm.

One task (`run`, critical, named `hotels`) owns every hotel's worker (daemon/hotel_worker.py). A
round (`_round`) is the only code that starts or stops a worker:

* wanted: the enabled hotels (as last read) this daemon holds a valid lease for
  (`Ownership.valid_ids()`, daemon/ownership.py);
* a worker whose hotel is no longer wanted, whose token or connection changed, or that ended
  by itself is stopped (all of them together, each within drain_timeout_s), then a fresh one
  is started for each wanted hotel without one. A worker that ended by itself (a crash, a
  lease lost under it) is restarted at once the first time, then after 1, 2, 4 ... 60 s; a
  worker that ran for a minute starts that count again.

A round runs when asked and at least every `hotels_refresh_s` (which re-reads the hotel
list). It is asked by the lease manager after every lease change (`settle()`, which returns
once the round is done: leases are released only after their workers stopped), by a SIGHUP
reload (`settle(reread=True, restart=...)`) and by a worker that ended (`wake()`). The list is
also re-read when a held hotel is not known yet; otherwise a round touches no database, so
workers are stopped in time while the database is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import anyio
from loguru import logger

from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.hotel_worker import HotelWorker, start_worker
from hotelbot.daemon.sender import OutboxSender
from hotelbot.daemon.supervisor import PollerProbe
from hotelbot.daemon.tasks import OwnedTasks
from hotelbot.daemon.transports import TransportFactory
from hotelbot.greenapi.client import GreenApiClient
from hotelbot.hotel_credentials import connection_changed, connection_problem, resolve_token
from hotelbot.redact import register_secret, register_secrets
from hotelbot.settings import Settings
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import HotelRecord, list_hotels
from hotelbot.storage.ingest import IngestWriter
from hotelbot.storage.leases import Ownership
from hotelbot.storage.unit_of_work import SqlUnitsOfWork

# A worker that ended by itself is restarted after 0, 1, 2, 4 ... at most this many seconds;
# one that ran this long before it ended starts the count again.
_MAX_RESTART_DELAY_S = 60.0


class HotelWorkers:
    """Owner of the hotel workers. `await load()` once, run `run()` as a task, then (drain)
    `close()`, `stop_all()`, `aclose()`."""

    def __init__(
        self,
        db: Database,
        *,
        settings: Callable[[], Settings],
        environ: Mapping[str, str],
        name: str,
        writer: IngestWriter,
        sender: OutboxSender,
        ownership: Ownership,
        tasks: OwnedTasks,
    ) -> None:
        self._db = db
        self._settings = settings
        self._environ = environ
        self._name = name
        self._writer = writer
        self._sender = sender
        self._ownership = ownership
        # The state probes' writes are fenced by the hotel's lease, like every other write.
        self._units = SqlUnitsOfWork(db, ownership)
        self._tasks = tasks
        self._transports = TransportFactory(settings().greenapi, client_id=name)
        self.health: dict[int, HotelHealth] = {}
        self.workers: dict[int, HotelWorker] = {}
        self._hotels: dict[int, HotelRecord] = {}  # enabled hotels, as last read
        self._stopped: list[HotelWorker] = []  # stopped, transport still open until aclose
        self._wake = asyncio.Event()
        self._asked = self._answered = 0
        self._reread = self._restart = False
        self._round_done = asyncio.Event()
        self._closing = self._closed = False
        self._reread_due = 0.0
        self._restarts: dict[int, int] = {}
        self._restart_at: dict[int, float] = {}

    # -- what the others read ---------------------------------------------------------------
    def hotel_ids(self) -> list[int]:
        """The hotels served now (a worker runs for them)."""
        return list(self.workers)

    @property
    def known(self) -> int:
        """How many enabled hotels the last read found."""
        return len(self._hotels)

    def client_for(self, hotel_id: int) -> GreenApiClient | None:
        """The Green API client of a hotel being served (None if it is not)."""
        worker = self.workers.get(hotel_id)
        return None if worker is None else worker.client

    def probes(self) -> list[PollerProbe]:
        """The watchdog's view of the pollers (daemon/supervisor.py)."""
        probes = []
        for hotel_id, worker in self.workers.items():
            health = self.health.get(hotel_id)
            if health is None or worker.ending_on_purpose:
                continue  # ending on purpose (stop, reload, lease handed over): not a hang
            probes.append(
                PollerProbe(
                    worker.record.slug, not worker.done(), health.last_progress, health.quiet_until
                )
            )
        return probes

    # -- asking for a round -----------------------------------------------------------------
    async def load(self) -> None:
        """Re-read the enabled hotels and register their tokens as secrets. Raises database
        errors."""
        async with self._db.read() as conn:
            self._hotels = {h.id: h for h in await list_hotels(conn, enabled_only=True)}
        # One redaction-pattern rebuild for all tokens, not one per hotel (bench: 1,000
        # hotels took ~10 s of CPU to start); the worker's own registration is a no-op.
        tokens = (resolve_token(r, self._environ) for r in self._hotels.values())
        register_secrets(t for t in tokens if t)

    def wake(self) -> None:
        """Ask for a round soon; does not wait."""
        self._wake.set()

    async def settle(self, *, reread: bool = False, restart: bool = False) -> None:
        """Ask for a round and wait until one that started after this call is done (or the
        reconciliation ended). `reread`: re-read the hotel list first; `restart`: restart
        every worker (new Green API settings)."""
        self._reread |= reread
        self._restart |= restart
        self._asked += 1
        ticket = self._asked
        self._wake.set()
        while self._answered < ticket and not self._closed:
            await self._round_done.wait()

    # -- the one place ------------------------------------------------------------------------
    async def run(self) -> None:
        """Rounds until `close()`; raises only what a bug raises."""
        try:
            while not self._closing:
                now = time.monotonic()
                due = min([self._reread_due, *self._restart_at.values()])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(0.0, due - now))
                self._wake.clear()
                if self._closing:
                    break
                ticket = self._asked
                reread, restart = self._reread, self._restart
                self._reread = self._restart = False
                await self._round(reread=reread, restart=restart)
                self._answered = ticket
                self._round_done.set()
                self._round_done = asyncio.Event()
        finally:
            self._closed = True
            self._round_done.set()

    async def _round(self, *, reread: bool, restart: bool) -> None:
        settings = self._settings()
        now = time.monotonic()
        valid = self._ownership.valid_ids()
        if reread or now >= self._reread_due or valid - self._hotels.keys():
            if now >= self._reread_due:
                self._reread_due = now + settings.daemon.hotels_refresh_s
            try:
                await self.load()
            except Exception as exc:  # database briefly unavailable: keep running
                logger.warning("could not re-read hotels: {}", type(exc).__name__)
        if restart:
            self._transports = TransportFactory(settings.greenapi, client_id=self._name)
        wanted = {hotel_id: r for hotel_id, r in self._hotels.items() if hotel_id in valid}
        stopping: list[HotelWorker] = []
        for hotel_id, worker in list(self.workers.items()):
            record = wanted.get(hotel_id)
            token = resolve_token(record, self._environ) if record else None
            ended = worker.done()
            if not (
                record is None
                or restart
                or ended
                or token != worker.token
                or connection_changed(worker.record, record)
            ):
                continue
            if record is None:
                reason = "not ours" if hotel_id not in valid else "hotel disabled"
                self.health.pop(hotel_id, None)
            elif ended:
                reason = "it ended"
                self._pace_restart(hotel_id, worker, now)
            else:
                reason = "settings or hotel changed"
            logger.bind(hotel=worker.record.slug).info("stopping hotel worker ({})", reason)
            stopping.append(worker)
            del self.workers[hotel_id]
        for hotel_id in self._restart_at.keys() - wanted.keys():
            del self._restart_at[hotel_id]  # not ours any more: nothing to restart
        # Together: losing many leases at once must not take drain_timeout_s per hotel.
        await self._stop_together(stopping, settings.daemon.drain_timeout_s)
        for hotel_id, record in wanted.items():
            if hotel_id not in self.workers and self._restart_at.get(hotel_id, 0.0) <= now:
                self._restart_at.pop(hotel_id, None)
                self._start(record, settings, now)

    def _pace_restart(self, hotel_id: int, worker: HotelWorker, now: float) -> None:
        if now - worker.started_at >= _MAX_RESTART_DELAY_S:
            self._restarts.pop(hotel_id, None)
        count = self._restarts.get(hotel_id, 0)
        self._restarts[hotel_id] = count + 1
        delay_s = 0.0 if count == 0 else min(_MAX_RESTART_DELAY_S, 2.0 ** (count - 1))
        self._restart_at[hotel_id] = now + delay_s
        logger.bind(hotel=worker.record.slug).warning(
            "hotel worker ended by itself: restarting it in {:.0f} s", delay_s
        )

    def _start(self, record: HotelRecord, settings: Settings, now: float) -> None:
        health = self.health.setdefault(record.id, HotelHealth(record.id, record.slug))
        token = resolve_token(record, self._environ)
        reason = connection_problem(record, self._environ)
        if reason is not None or token is None:
            reason = reason or "no API token"
            if health.unhealthy_reason != reason:
                logger.bind(hotel=record.slug).error("not polling: {}", reason)
            health.healthy, health.unhealthy_reason, health.polling = False, reason, False
            return
        register_secret(token)  # scrubbed from every log line from now on
        self.workers[record.id] = start_worker(
            self._tasks,
            record,
            token,
            settings=settings.greenapi,
            transports=self._transports,
            writer=self._writer,
            sender=self._sender,
            db=self._db,
            units=self._units,
            health=health,
            ownership=self._ownership,
            now=now,
            on_end=self.wake,
        )

    async def _stop_together(self, workers: list[HotelWorker], timeout_s: float) -> int:
        """Stop `workers` together: each may finish what it is doing within `timeout_s`, then
        it is cancelled. Returns how many had to be cancelled. Transports are closed by
        `aclose()`, after the drain no longer needs them (or at once, outside the drain)."""
        for worker in workers:
            worker.stop()
        with anyio.move_on_after(timeout_s):
            for worker in workers:
                if worker.task is not None:
                    await worker.task.wait()
        pending = [w.task for w in workers if w.task is not None and not w.task.done()]
        for task in pending:
            task.cancel()
        for task in pending:
            await task.wait()
        if self._closing:
            self._stopped.extend(workers)
        else:
            for worker in workers:
                await worker.aclose()
        return len(pending)

    # -- the drain ----------------------------------------------------------------------------
    def close(self) -> None:
        """No more rounds: `run()` returns after the round in progress."""
        self._closing = True
        self._wake.set()

    async def stop_all(self, timeout_s: float) -> tuple[int, int]:
        """Stop every worker together within `timeout_s` (call after `close()` and after
        `run()` ended). Returns (workers stopped, workers cancelled)."""
        workers = list(self.workers.values())
        self.workers.clear()
        cancelled = await self._stop_together(workers, timeout_s)
        return len(workers), cancelled

    async def aclose(self) -> None:
        """Close the transports of the stopped workers."""
        stopped, self._stopped = self._stopped, []
        for worker in stopped:
            await worker.aclose()
