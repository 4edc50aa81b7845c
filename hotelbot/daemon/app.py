"""The composition root: creates every resource, task and signal handler, and shuts them down
in order. Nothing else in hotelbot installs signal handlers or owns long-lived tasks.

Lifecycle: start-up (database, schema check, ingest writer, signal handlers, hotel pollers) ->
main loop (re-read the hotel list, write status) -> shutdown on SIGTERM/SIGINT:
  1. pollers stop receiving (in-flight long polls are cancelled: safe, only delete dequeues);
     items being stored/deleted are finished, bounded by drain_timeout_s;
  2. the ingest writer commits what is queued and stops;
  3. final status write, HTTP clients closed, database engines disposed.
A second SIGTERM/SIGINT exits at once (status 1): nothing committed is lost, and anything not
yet deleted upstream is redelivered after the restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

from loguru import logger

from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.poller import HotelPoller
from hotelbot.daemon.processor import Processor
from hotelbot.daemon.scheduler import Scheduler
from hotelbot.daemon.sender import OutboxSender
from hotelbot.daemon.status_writer import write_status
from hotelbot.daemon.transports import TransportFactory
from hotelbot.domain.backoff import Backoff
from hotelbot.errors import EXIT_CONFIG, ConfigError, SchemaError
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.transport import Transport
from hotelbot.redact import register_secret, register_secrets
from hotelbot.sentiment.factory import BuiltStage, build_stage
from hotelbot.settings import Settings
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import HotelRecord, list_hotels
from hotelbot.storage.ingest import IngestWriter
from hotelbot.storage.schema import check_schema


def default_daemon_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Runner:
    record: HotelRecord
    token: str
    poller: HotelPoller
    task: asyncio.Task[None]
    transport: Transport
    client: GreenApiClient


def resolve_token(record: HotelRecord, environ: Mapping[str, str]) -> str | None:
    if record.api_token:
        return record.api_token
    if record.api_token_env:
        value = environ.get(record.api_token_env, "").strip()
        return value or None
    return None


class Daemon:
    """`await Daemon(settings).run()` runs until `request_stop()` or a signal; returns an exit code."""

    def __init__(
        self,
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        install_signal_handlers: bool = True,
    ) -> None:
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        self.name = settings.daemon.name or default_daemon_name()
        self._install_signals = install_signal_handlers
        self._stop = asyncio.Event()
        self._signals_seen = 0
        self.db: Database | None = None
        self.writer: IngestWriter | None = None
        self.health: dict[int, HotelHealth] = {}
        self._runners: dict[int, _Runner] = {}
        self._transports: TransportFactory | None = None
        self.ready = asyncio.Event()
        # understanding: interpretation, sentiment, alerts (see daemon/processor.py)
        self.processor: Processor | None = None
        self._stage: BuiltStage | None = None
        self._processor_task: asyncio.Task[None] | None = None
        # scheduling: trigger scheduler and outbox sender (started in _start)
        self.scheduler: Scheduler | None = None
        self.sender: OutboxSender | None = None

    def client_for(self, hotel_id: int) -> GreenApiClient | None:
        """The Green API client of a hotel being polled (None if it is not running)."""
        runner = self._runners.get(hotel_id)
        return None if runner is None else runner.client

    # -- control ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def _on_signal(self, name: str) -> None:
        self._signals_seen += 1
        if self._signals_seen > 1:
            logger.warning("second {}: exiting now without draining", name)
            os._exit(1)
        logger.info("{} received: stopping (send it again to exit at once)", name)
        self._stop.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig.name)
        # Until reload is implemented, SIGHUP re-reads the hotel list instead of killing us
        # (Python's default action for SIGHUP is to terminate).
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self) -> None:
        logger.info("SIGHUP: re-reading the hotel list")
        self._hotels_due = 0.0

    # -- run --------------------------------------------------------------------------------
    async def run(self) -> int:
        try:
            await self._start()
        except (ConfigError, SchemaError) as exc:
            logger.error("cannot start: {}", exc)
            await self._close_resources()
            return EXIT_CONFIG
        try:
            await self._main_loop()
        finally:
            await self._shutdown()
        return 0

    async def _start(self) -> None:
        url = self.settings.database_url(self.environ)
        from sqlalchemy.engine import make_url

        if make_url(url).password:
            register_secret(str(make_url(url).password))
        self.db = Database.open(
            url,
            pool_size=self.settings.database.pool_size,
            busy_timeout_ms=self.settings.database.busy_timeout_ms,
        )
        await check_schema(self.db)
        self._stage = build_stage(self.settings, self.environ)  # may raise ConfigError
        self.writer = IngestWriter(self.db)
        self._writer_task = asyncio.create_task(self.writer.run(), name="ingest-writer")
        # -- understanding: the processor starts after the ingest writer, woken by its commits
        self.processor = Processor(
            self.db, self._stage.stage, max_concurrency=self.settings.sentiment.max_concurrency
        )
        self.writer.on_commit(self.processor.notify)
        self._processor_task = asyncio.create_task(self.processor.run(), name="processor")
        logger.info("sentiment: rules, LLM {}", self._stage.llm_status)
        self._transports = TransportFactory(self.settings.greenapi, client_id=self.name)
        if self._install_signals:
            self._install_signal_handlers()
        self._hotels_due = 0.0
        await self._sync_hotels()
        # --- scheduling (begin) ---
        self.scheduler = Scheduler(self.db, name=self.name)
        self.scheduler.start()
        self.sender = OutboxSender(self.db, self.client_for, hotel_ids=lambda: list(self._runners))
        self.sender.start()
        if self.processor is not None:  # bench: alerts leave at once, not at the next poll
            self.processor.on_commit(self.sender.wake)
        # --- scheduling (end) ---
        self.ready.set()
        logger.info(
            "hotelbot daemon {} started: {} hotel(s) polling, database {}",
            self.name, len(self._runners), self.db.dialect,
        )  # fmt: skip

    async def _main_loop(self) -> None:
        status_every = self.settings.daemon.status_interval_s
        status_due = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= self._hotels_due:
                try:
                    await self._sync_hotels()
                except Exception as exc:  # database briefly unavailable: keep running
                    logger.warning("could not re-read hotels: {}", type(exc).__name__)
                self._hotels_due = now + self.settings.daemon.hotels_refresh_s
            if now >= status_due:
                await self._write_status()
                status_due = now + status_every
            wait_s = max(0.05, min(self._hotels_due, status_due) - time.monotonic())
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=wait_s)
            except TimeoutError:
                pass

    async def _write_status(self) -> None:
        assert self.db is not None
        try:
            await write_status(self.db, self.name, self.health.values())
        except Exception as exc:
            logger.warning("could not write hotel status: {}", type(exc).__name__)

    # -- hotels -----------------------------------------------------------------------------
    async def _sync_hotels(self) -> None:
        """Start pollers for new/changed enabled hotels, stop the rest. Idempotent."""
        assert self.db is not None
        async with self.db.read() as conn:
            wanted = {h.id: h for h in await list_hotels(conn, enabled_only=True)}
        # One redaction-pattern rebuild for all tokens, not one per hotel (bench: 1,000
        # hotels took ~10 s of CPU to start); _start_runner's own registration is a no-op.
        register_secrets(t for t in (resolve_token(r, self.environ) for r in wanted.values()) if t)
        for hotel_id in list(self._runners):
            runner = self._runners[hotel_id]
            record = wanted.get(hotel_id)
            token = resolve_token(record, self.environ) if record else None
            if record is None or token != runner.token or _connection_changed(runner.record, record):
                logger.bind(hotel=runner.record.slug).info("stopping poller (hotel changed or disabled)")
                await self._stop_runner(runner)
                del self._runners[hotel_id]
                if record is None:
                    self.health.pop(hotel_id, None)
        for hotel_id, record in wanted.items():
            if hotel_id not in self._runners:
                self._start_runner(record)

    def _start_runner(self, record: HotelRecord) -> None:
        assert self.writer is not None and self._transports is not None
        health = self.health.setdefault(record.id, HotelHealth(record.id, record.slug))
        token = resolve_token(record, self.environ)
        log = logger.bind(hotel=record.slug)
        if token is None:
            reason = f"no API token: environment variable {record.api_token_env} is not set"
            if health.unhealthy_reason != reason:
                log.error("not polling: {}", reason)
            health.healthy, health.unhealthy_reason, health.polling = False, reason, False
            return
        register_secret(token)  # scrubbed from every log line from now on
        g = self.settings.greenapi
        transport = self._transports.create()
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
            self.writer,
            health=health,
            backoff=Backoff(g.backoff_min_s, g.backoff_max_s),
            unhealthy_retry_s=g.unhealthy_retry_s,
        )
        self._runners[record.id] = _Runner(record, token, poller, poller.start(), transport, client)
        log.info("polling instance {} at {}", record.instance_id, record.api_url)

    async def _stop_runner(self, runner: _Runner) -> None:
        runner.poller.stop()
        done, _ = await asyncio.wait({runner.task}, timeout=self.settings.daemon.drain_timeout_s)
        if not done:
            runner.task.cancel()
            await asyncio.gather(runner.task, return_exceptions=True)
        await runner.transport.aclose()

    # -- shutdown ---------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        started = time.monotonic()
        # --- scheduling (begin): no new fires, finish sends in flight, before clients close ---
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.sender is not None:
            await self.sender.stop(self.settings.daemon.drain_timeout_s)
        # --- scheduling (end) ---
        runners = list(self._runners.values())
        for runner in runners:
            runner.poller.stop()
        tasks = {r.task for r in runners}
        cancelled = 0
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.settings.daemon.drain_timeout_s)
            for task in pending:
                task.cancel()
            cancelled = len(pending)
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.writer is not None:
            await self.writer.close()
            try:
                await asyncio.wait_for(self._writer_task, timeout=self.settings.daemon.drain_timeout_s)
            except TimeoutError:
                logger.error("ingest writer did not finish in time")
        await self._stop_processor()  # understanding: after pollers and the writer
        if self.db is not None:
            await self._write_status()
        for runner in runners:
            await runner.transport.aclose()
        self._runners.clear()
        received = sum(h.received_total for h in self.health.values())
        logger.info(
            "stopped in {:.1f} s: {} hotel(s), {} notification(s) stored this run, {} poller(s) cancelled",
            time.monotonic() - started, len(runners), received, cancelled,
        )  # fmt: skip
        await self._close_resources()

    async def _stop_processor(self) -> None:
        """Stop the processor (it commits finished analyses; unfinished ones stay
        unprocessed and are redone after the restart), then close the LLM client."""
        if self.processor is not None and self._processor_task is not None:
            self.processor.stop()
            done, _ = await asyncio.wait(
                {self._processor_task}, timeout=self.settings.daemon.drain_timeout_s
            )
            if not done:
                logger.error("processor did not finish in time")
                self._processor_task.cancel()
                await asyncio.gather(self._processor_task, return_exceptions=True)
        if self._stage is not None:
            await self._stage.aclose()
            self._stage = None

    async def _close_resources(self) -> None:
        if self._stage is not None:
            await self._stage.aclose()
            self._stage = None
        if self.db is not None:
            await self.db.dispose()
            self.db = None


def _connection_changed(old: HotelRecord, new: HotelRecord) -> bool:
    return (old.api_url, old.instance_id, old.api_token_env, old.slug) != (
        new.api_url, new.instance_id, new.api_token_env, new.slug
    )  # fmt: skip
