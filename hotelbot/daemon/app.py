"""The composition root: creates every resource, task and signal handler, and shuts them down
in order. Nothing else in hotelbot installs signal handlers or owns long-lived tasks.

Lifecycle: start-up (database, schema check, ingest writer, signal handlers, hotel pollers) ->
main loop (re-read the hotel list, write status) -> shutdown on SIGTERM/SIGINT:
  1. pollers stop receiving (in-flight long polls are cancelled: safe, only delete dequeues);
     items being stored/deleted are finished. The whole drain (sender, pollers, ingest
     writer, processor) shares one budget, drain_timeout_s;
  2. the ingest writer commits what is queued and stops;
  3. final status write, HTTP clients closed, database engines disposed.
Leases (several daemons on one database, docs/scale-out.md): the hotels polled are the enabled
hotels this daemon holds a valid lease for. The LeaseManager task claims/renews/balances them
and calls `_reconcile()` after every change; at shutdown the leases are released after the
pollers stopped and the ingest writer committed.
A second SIGTERM/SIGINT cancels the task group (the drain is cut short, commits in flight
are shielded and finish): nothing committed is lost, and anything not yet deleted upstream is
redelivered after the restart.
Runtime: resources (database, sentiment stage) are closed by an AsyncExitStack; every
long-running task (ingest writer, processor, lease manager, watchdog supervisor, hotel
pollers) runs in one anyio task group (daemon/tasks.py). A critical task that crashes is
logged at once and the daemon stops in order with exit status 1, for systemd to restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup
from loguru import logger

from hotelbot import sdnotify
from hotelbot.daemon.digest import DigestSender
from hotelbot.daemon.escalator import Escalator
from hotelbot.daemon.fact_answers import LlmFactAnswerer, facts_hook
from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.heap import freeze_startup_heap
from hotelbot.daemon.operator_watch import (
    OperatorWatch,
    WatchSources,
    mark_running,
    mark_stopped,
    marker_path,
)
from hotelbot.daemon.ownership import LeaseManager
from hotelbot.daemon.poller import HotelPoller
from hotelbot.daemon.processor import Processor
from hotelbot.daemon.reload import plan_reload
from hotelbot.daemon.scheduler import Scheduler
from hotelbot.daemon.scheduler import message_hook as scheduler_message_hook
from hotelbot.daemon.sender import OutboxSender
from hotelbot.daemon.status_writer import StatusWriter
from hotelbot.daemon.supervisor import Backlog, PollerProbe, Supervisor, status_line
from hotelbot.daemon.tasks import OwnedTask, OwnedTasks
from hotelbot.daemon.transports import TransportFactory
from hotelbot.daemon.worker_process import ProcessingWorker
from hotelbot.domain.backoff import Backoff
from hotelbot.error_text import describe
from hotelbot.errors import EXIT_CONFIG, EXIT_TASK_CRASHED, ConfigError, SchemaError
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.retry import poll_policy
from hotelbot.greenapi.transport import Transport
from hotelbot.hotel_credentials import connection_changed, connection_problem, resolve_token
from hotelbot.hotel_spec import TOKEN_ENV_PREFIX
from hotelbot.mail.smtp import Mailer, smtp_login
from hotelbot.observability.runtime import Observability
from hotelbot.observability.snapshot import SnapshotSources
from hotelbot.paths import state_dir
from hotelbot.redact import redact, register_secret, register_secrets
from hotelbot.sentiment.factory import BuiltStage, build_stage
from hotelbot.sentiment.settings import resolve_api_key
from hotelbot.settings import Settings, load_settings
from hotelbot.storage.backlog import backlog_counts
from hotelbot.storage.db import Database, PgSessionLimits
from hotelbot.storage.hotels import HotelRecord, list_hotels
from hotelbot.storage.ingest import IngestWriter
from hotelbot.storage.llm_ledger import LlmLedger
from hotelbot.storage.schema import check_schema
from hotelbot.storage.stays import room_of_current_stay

if TYPE_CHECKING:
    from hotelbot.domain.breaker import BreakerState
    from hotelbot.sentiment.facts_llm import FactsLlm
    from hotelbot.sentiment.llm import LlmAnalyser


# Closing the database and the LLM client at exit: bounded, so a hung driver cannot keep a
# stopping daemon past systemd's TimeoutStopSec.
_CLOSE_TIMEOUT_S = 10.0


def default_daemon_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Runner:
    record: HotelRecord
    token: str = field(repr=False)
    poller: HotelPoller
    task: OwnedTask
    transport: Transport
    client: GreenApiClient


class Daemon:
    """`await Daemon(settings).run()` runs until `request_stop()` or a signal.

    Returns the process exit code (0 clean stop, 78 bad configuration or schema, 1 when a
    background task crashed and the daemon stopped because of it)."""

    def __init__(
        self,
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        install_signal_handlers: bool = True,
        settings_loader: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        # [operations] SIGHUP re-reads settings with this (default: the same file and
        # environment as at start-up); it may raise ConfigError, which keeps the old ones.
        self._load_settings = settings_loader or (lambda: load_settings(None, self.environ)[0])
        self._wake = asyncio.Event()
        self._reload_requested = False
        self._supervisor: Supervisor | None = None
        self._status_writer: StatusWriter | None = None
        self._supervisor_task: OwnedTask | None = None
        self._purge_due = 0.0
        self.reloads = 0
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
        self._processor_task: OwnedTask | None = None
        self.worker: ProcessingWorker | None = None  # processing.workers = 1
        # facts answered by the LLM for hotels with facts mode "llm" (daemon/fact_answers.py)
        self._fact_answerer: LlmFactAnswerer | None = None
        self._facts_llm: FactsLlm | None = None
        # scheduling: trigger scheduler and outbox sender (started in _start)
        self.scheduler: Scheduler | None = None
        self.sender: OutboxSender | None = None
        # --- leases (scale-out) ---
        self.leases: LeaseManager | None = None
        self._lease_task: OwnedTask | None = None
        self._writer_task: OwnedTask | None = None
        self._sender_task: OwnedTask | None = None
        self._fact_answer_task: OwnedTask | None = None
        self._tasks: OwnedTasks | None = None  # set by run(): the daemon's task group
        self._group: TaskGroup | None = None
        self._exit_code = 0
        self._hotels: dict[int, HotelRecord] = {}  # enabled hotels, as last read
        self._runners_lock = asyncio.Lock()  # _reconcile runs from the lease manager too
        self.observability: Observability | None = None
        self._snapshot_task: OwnedTask | None = None
        self.operator_watch: OperatorWatch | None = None
        self._watch_task: OwnedTask | None = None
        self._digest_task: OwnedTask | None = None
        self._crash_marker: Path | None = None

    def client_for(self, hotel_id: int) -> GreenApiClient | None:
        """The Green API client of a hotel being polled (None if it is not running)."""
        runner = self._runners.get(hotel_id)
        return None if runner is None else runner.client

    # -- control ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_reload(self) -> None:
        """What SIGHUP does: re-read settings and hotels in the main loop (not in the handler)."""
        self._reload_requested = True
        self._wake.set()

    def _on_signal(self, name: str) -> None:
        self._signals_seen += 1
        if self._signals_seen > 1:
            # Cancel the whole task group: the drain stops where it is; shielded commits
            # finish, resources are still closed, and the process exits 1.
            logger.warning("second {}: cancelling the drain and exiting", name)
            self._exit_code = self._exit_code or 1
            if self._group is not None:
                self._group.cancel_scope.cancel()
            return
        logger.info("{} received: stopping (send it again to cut the drain short)", name)
        self.request_stop()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig.name)
        # Python's default action for SIGHUP is to terminate: catch it before READY=1.
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self) -> None:
        logger.info("SIGHUP received: reloading settings and the hotel list")
        self.request_reload()

    def _register_known_secrets(self, url: str) -> None:
        """Secrets known before the database is read: its password (in the URL, or the
        pg_password credential), the LLM key, and every variable a hotel may take its token
        from (the GREENAPI_TOKEN_ prefix). Hotel tokens stored in the database are registered
        as soon as the hotel list is read (sqlalchemy never logs result rows: logs.py)."""
        from sqlalchemy.engine import make_url

        password = make_url(url).password
        found = [str(password)] if password else []
        if self.settings.llm.enabled:
            from hotelbot.sentiment.settings import resolve_api_key

            key = resolve_api_key(self.settings.llm, self.environ)
            if key:
                found.append(key)
        found.extend(v for k, v in self.environ.items() if k.startswith(TOKEN_ENV_PREFIX))
        register_secrets(found)

    # -- run --------------------------------------------------------------------------------
    async def run(self) -> int:
        async with contextlib.AsyncExitStack() as resources:
            # Closed last, whatever happens below, and not interruptible by the cancellation
            # of a second signal (an engine left open can hold SQLite's lock).
            resources.push_async_callback(self._close_resources_shielded)
            try:
                await self._open()
            except (ConfigError, SchemaError) as exc:
                logger.error("cannot start: {}", exc)
                sdnotify.status("cannot start: see the log")  # [operations]
                return EXIT_CONFIG
            try:
                async with anyio.create_task_group() as group:
                    self._group = group
                    self._tasks = OwnedTasks(group, on_crash=self._on_task_crash)
                    try:
                        await self._start()
                        await self._main_loop()
                    finally:
                        await self._shutdown()
                    group.cancel_scope.cancel()  # nothing may outlive the drain
            except BaseExceptionGroup as group_error:
                error = _single(group_error)
                if isinstance(error, ConfigError | SchemaError):
                    logger.error("cannot start: {}", error)
                    return EXIT_CONFIG
                raise error from None
            finally:
                self._group = None
                self._remove_signal_handlers()
        return self._exit_code

    def _on_task_crash(self, name: str, error: BaseException | None) -> None:
        """A critical task raised or ended by itself: report it at once and stop in order
        with a non-zero exit status (systemd's Restart=on-failure starts a fresh process)."""
        if error is None:
            logger.error("task {} ended unexpectedly: stopping the daemon", name)
        else:
            logger.error("task {} crashed ({}): stopping the daemon", name, describe(error))
        self._exit_code = EXIT_TASK_CRASHED
        sdnotify.status(f"stopping: task {name} crashed")
        self.request_stop()

    def _start_task(
        self, name: str, fn: Callable[[], Awaitable[None]], *, critical: bool = True
    ) -> OwnedTask:
        assert self._tasks is not None, "tasks start inside run()"
        return self._tasks.start(name, fn, critical=critical)

    async def _open(self) -> None:
        """Resources that can fail on bad configuration (exit 78): database, schema, the
        sentiment stage. No task runs yet."""
        url = self.settings.database_url(self.environ)
        self._register_known_secrets(url)  # before any query or log line could show them
        # The daemon never creates a database: a missing SQLite file is an error naming it
        # (exit 78), so a daemon and the admin commands can never work on different files.
        self.db = Database.open(
            url,
            pool_size=self.settings.database.pool_size,
            busy_timeout_ms=self.settings.database.busy_timeout_ms,
            pgbouncer=self.settings.database.pgbouncer,  # leases (scale-out)
            # No frozen session may keep lease-row locks until its lease expires.
            pg_limits=PgSessionLimits.for_lease_ttl(self.settings.leases.ttl_s),
            create=False,
        )
        await check_schema(self.db)
        # may raise ConfigError; the database gives the LLM its limits, cache and context
        llm = self.settings.llm
        ledger = LlmLedger(
            self.db,
            llm.limits.to_limits(),
            {slug: spec.to_limits() for slug, spec in llm.hotel_limits.items()},
        )
        self._stage = build_stage(self.settings, self.environ, ledger=ledger)

    async def _start(self) -> None:
        """Long-running tasks, signal handlers and the first hotel round (inside the task
        group)."""
        assert self.db is not None and self._stage is not None
        # --- leases (scale-out) ---
        self.leases = LeaseManager(
            self.db, self.settings.leases, self.name, on_change=self._reconcile
        )
        self.writer = IngestWriter(self.db, fence=self.leases.ownership)
        self._writer_task = self._start_task("ingest-writer", self.writer.run)
        # -- understanding: the processor starts after the ingest writer, woken by its commits
        if self.settings.processing.workers > 0:  # in a child process (daemon/worker_process)
            self.worker = ProcessingWorker(
                self.db, self.settings, self.name, self.environ, hotels=self._polled_epochs,
                hang_after_s=self.settings.processing.hang_after_s,
            )  # fmt: skip
            self.writer.on_commit(self.worker.notify)
            self._processor_task = self._start_task("processing-worker", self.worker.run)
        else:
            self._start_processor()
        self._start_fact_answerer()
        logger.info("sentiment: rules, LLM {}", self._stage.llm_status)
        if not self.settings.llm.enabled and resolve_api_key(self.settings.llm, self.environ):
            # Guest text goes to a third party only on an explicit choice (docs/systemd.md).
            logger.warning(
                "an LLM API key is present but [llm] enabled = false: guest messages are "
                "judged by the rules only (set enabled = true in the settings file to use it)"
            )
        self._transports = TransportFactory(self.settings.greenapi, client_id=self.name)
        if self._install_signals:
            self._install_signal_handlers()
        self._hotels_due = 0.0
        await self._sync_hotels()
        # --- leases (scale-out): first round claims hotels and starts their pollers ---
        await self.leases.start()
        self._lease_task = self._start_task("lease-manager", self.leases.run)
        # --- scheduling (begin) ---
        # Only hotels this daemon polls (holds a lease for): one decider per hotel.
        self.scheduler = Scheduler(
            self.db,
            name=self.name,
            hotel_ids=lambda: list(self._runners),
            tick_s=self.settings.daemon.scheduler_tick_s,
            lease=self.leases.ownership if self.leases is not None else None,
        )
        self.scheduler.start()
        self.sender = OutboxSender(
            self.db,
            self.client_for,
            hotel_ids=lambda: list(self._runners),
            policies=self.settings.outbox.policies(),
            lease=self.leases.ownership if self.leases is not None else None,
        )
        self._sender_task = self._start_task("outbox-sender", self.sender.run)
        if self.worker is not None:  # alerts committed by the worker leave at once too
            self.worker.on_alerts(self.sender.wake_for_alerts)
        if self.processor is not None:  # bench: alerts leave at once, not at the next poll
            self.processor.on_commit(self.sender.wake_for_alerts)
            # Alerts nobody acknowledged in time go to the duty manager, at the processor's
            # periodic scan, for the hotels this daemon holds (fenced by their leases).
            self.processor.set_escalator(
                Escalator(
                    self.db,
                    hotel_ids=lambda: list(self._runners),
                    lease=self.leases.ownership if self.leases is not None else None,
                )
            )
        # --- scheduling (end) ---
        self.observability = _observability(self)  # [metrics] /metrics and its snapshot
        self.observability.start()
        if self.observability.enabled:
            self._snapshot_task = self._start_task(
                "metrics-snapshot", self.observability.snapshot.run, critical=False
            )
        self.operator_watch = _operator_watch(self)  # [email] the operators' backup channel
        if self.operator_watch is not None:
            self._watch_task = self._start_task(
                "operator-watch", self.operator_watch.run, critical=False
            )
        digest = DigestSender(  # the managers' scheduled digests (report_schedule)
            self.db, lambda: list(self._runners), tick_s=self.settings.daemon.scheduler_tick_s,
            lease=None if self.db.is_sqlite else self.leases.ownership,
        )  # fmt: skip
        self._digest_task = self._start_task("digest", digest.run, critical=False)
        self.ready.set()
        sdnotify.ready(await self._status_text())  # [operations] after schema, signals, hotels
        self._start_supervisor()  # [operations] watchdog pings only after READY=1
        logger.info(
            "hotelbot daemon {} started: {} of {} enabled hotel(s) polling (leases), {}",
            self.name, len(self._runners), len(self._hotels), self.db.location,
        )  # fmt: skip
        frozen = freeze_startup_heap()  # full GC passes no longer walk the start-up heap
        logger.debug("start-up heap frozen: {} objects", frozen)

    def _start_processor(self) -> None:
        """`processing.workers = 0`: the processor in this process's event loop."""
        assert self.db is not None and self._stage is not None and self.writer is not None
        assert self.leases is not None
        self.processor = Processor(
            self.db,
            self._stage.stage,
            max_concurrency=self.settings.llm.max_concurrency,
            # PostgreSQL with several daemons: interpret only the hotels this one holds.
            owned_hotels=None if self.db.is_sqlite else (lambda: list(self._runners)),
            # ... and its write transaction is fenced by their lease epochs.
            lease=None if self.db.is_sqlite else self.leases.ownership,
        )
        # Event triggers (first message, keyword) are decided in the processing transaction;
        # staff alerts carry the guest's room from their current stay.
        self.processor.add_message_hook(scheduler_message_hook(decided_by=self.name))
        # Information questions answered from the hotel's facts (daemon/fact_answers.py).
        self.processor.add_message_hook(facts_hook())
        self.processor.set_room_lookup(room_of_current_stay)
        self.writer.on_commit(self.processor.notify)
        self._processor_task = self._start_task("processor", self.processor.run)

    def _polled_epochs(self) -> tuple[list[int], dict[int, tuple[int, float]]]:
        """The hotels polled and, for each valid lease, (epoch, self-fence deadline): what
        the processing worker is relayed."""
        ids = list(self._runners)
        if self.leases is None:
            return ids, {}
        ownership = self.leases.ownership
        held: dict[int, tuple[int, float]] = {}
        for hotel_id in ids:
            epoch, until = ownership.epoch_of(hotel_id), ownership.valid_until(hotel_id)
            if epoch is not None and until is not None:
                held[hotel_id] = (epoch, until)
        return ids, held

    async def _main_loop(self) -> None:
        status_every = self.settings.daemon.status_interval_s
        status_due = time.monotonic()
        while not self._stop.is_set():
            if self._reload_requested:  # [operations] SIGHUP
                self._reload_requested = False
                await self._reload()
                status_due = 0.0
            now = time.monotonic()
            if now >= self._hotels_due:
                try:
                    await self._sync_hotels()
                except Exception as exc:  # database briefly unavailable: keep running
                    logger.warning("could not re-read hotels: {}", type(exc).__name__)
                self._hotels_due = now + self.settings.daemon.hotels_refresh_s
            if now >= status_due:
                await self._write_status()
                sdnotify.status(await self._status_text())  # [operations]
                status_every = self.settings.daemon.status_interval_s
                status_due = now + status_every
            if now >= self._purge_due:  # [operations] retention
                await self._purge()
            next_due = min(self._hotels_due, status_due, self._purge_due)
            wait_s = max(0.05, next_due - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            self._wake.clear()

    # -- [operations] supervision, reload, retention -----------------------------------------
    def _poller_probes(self) -> list[PollerProbe]:
        probes = []
        for hotel_id, runner in self._runners.items():
            health = self.health.get(hotel_id)
            if health is None or runner.poller.stopping or runner.poller.lease_lost:
                continue  # ending on purpose (stop, reload, lease handed over): not a hang
            probes.append(
                PollerProbe(
                    runner.record.slug,
                    not runner.task.done(),
                    health.last_progress,
                    health.quiet_until,
                )
            )
        if self.worker is not None and self._processor_task is not None:
            probes.append(self.worker.probe(running=not self._processor_task.done()))
        return probes

    def _start_supervisor(self) -> None:
        interval_s = sdnotify.watchdog_interval_s()
        if interval_s is None:
            return  # no WatchdogSec=: nothing to ping
        g = self.settings.greenapi
        # The longest legitimate silence of a poller: a long poll that runs into its read
        # timeout, twice, plus storing and deleting one item.
        stall_after_s = 2 * (g.receive_timeout_s + g.poll_timeout_margin_s) + g.request_timeout_s
        self._supervisor = Supervisor(
            self._poller_probes,
            interval_s=interval_s,
            stall_after_s=stall_after_s,
            max_loop_lag_s=max(1.0, min(5.0, interval_s)),
        )
        self._supervisor_task = self._start_task("supervisor", self._supervisor.run)

    async def _stop_supervisor(self) -> None:
        if self._supervisor_task is not None:
            self._supervisor_task.cancel()
            await self._supervisor_task.wait()
            self._supervisor_task = None

    async def _status_text(self) -> str:
        backlog = None
        if self.db is not None:
            try:
                async with self.db.read() as conn:
                    backlog = Backlog(*await backlog_counts(conn))
            except Exception as exc:  # the database being down is itself worth showing
                return status_line(
                    list(self.health.values()), backlog=None,
                    extra=f"database unavailable ({type(exc).__name__})",
                )  # fmt: skip
        # Error texts come from upstream answers: mask any registered secret, as in logs.
        return redact(status_line(list(self.health.values()), backlog=backlog))

    async def _reload(self) -> None:
        """SIGHUP: apply changed settings and re-sync hotels; in-flight work continues.

        Always answers RELOADING=1 with READY=1, also when the new file is invalid (then the
        running settings stay and the error is logged)."""
        sdnotify.reloading("reloading settings and hotels")
        self.reloads += 1
        try:
            loaded = self._load_settings()
        except ConfigError as exc:
            logger.error("reload: keeping the running settings: {}", exc)
        else:
            plan = plan_reload(self.settings, loaded)
            self.settings = plan.settings
            if plan.logging_changed:
                from hotelbot.logs import configure_logging

                configure_logging(self.settings.logging.level, self.settings.logging.format)
            for key in plan.needs_restart:
                logger.warning("reload: {} changed; it takes effect after a restart", key)
            if plan.applied:
                logger.info("reload: applied {}", ", ".join(plan.applied))
            if plan.greenapi_changed:
                self._transports = TransportFactory(self.settings.greenapi, client_id=self.name)
                async with self._runners_lock:  # restarted by _sync_hotels below
                    for hotel_id in list(self._runners):
                        await self._stop_runner(self._runners.pop(hotel_id))
        try:
            await self._sync_hotels()
            await self._lease_round_now()
        except Exception as exc:
            logger.warning("reload: could not re-read hotels: {}", type(exc).__name__)
        self._hotels_due = time.monotonic() + self.settings.daemon.hotels_refresh_s
        sdnotify.ready(await self._status_text())

    async def _lease_round_now(self) -> None:
        """Claim leases for newly added hotels now rather than at the next lease round. The
        lease task is replaced (never two rounds at once); cancelling it is what shutdown
        does too, so it is safe mid-round."""
        if self.leases is None or self._lease_task is None:
            return
        async with self._runners_lock:
            self._lease_task.cancel()
            await self._lease_task.wait()
        try:
            await self.leases.tick()
        finally:
            self._lease_task = self._start_task("lease-manager", self.leases.run)

    async def _purge(self) -> None:
        privacy = self.settings.privacy
        self._purge_due = time.monotonic() + privacy.purge_interval_h * 3600
        if privacy.retention_days <= 0 or self.db is None:
            return
        from hotelbot.ops.retention import purge_expired

        try:
            result = await purge_expired(self.db, retention_days=privacy.retention_days)
        except Exception as exc:
            logger.error("retention purge failed ({}); retrying next time", describe(exc))
            return
        if result.total:
            logger.info("retention purge ({} days): {}", privacy.retention_days, result.summary())

    async def _write_status(self) -> None:
        assert self.db is not None
        try:
            if self._status_writer is None:  # writes changed rows; all every 2 intervals
                self._status_writer = StatusWriter(self.db, self.name)
            refresh_s = 2 * self.settings.daemon.status_interval_s
            await self._status_writer.write(self.health.values(), refresh_s=refresh_s)
        except Exception as exc:
            logger.warning("could not write hotel status: {}", type(exc).__name__)

    # -- hotels -----------------------------------------------------------------------------
    async def _load_hotels(self) -> None:
        assert self.db is not None
        async with self.db.read() as conn:
            self._hotels = {h.id: h for h in await list_hotels(conn, enabled_only=True)}
        # One redaction-pattern rebuild for all tokens, not one per hotel (bench: 1,000
        # hotels took ~10 s of CPU to start); _start_runner's own registration is a no-op.
        tokens = (resolve_token(r, self.environ) for r in self._hotels.values())
        register_secrets(t for t in tokens if t)

    async def _sync_hotels(self) -> None:
        """Re-read the hotel list, then reconcile the pollers. Idempotent."""
        await self._load_hotels()
        await self._reconcile()

    async def _reconcile(self) -> None:
        """Start pollers for enabled hotels this daemon holds a valid lease for, stop the rest
        (also restarts pollers that ended). Idempotent. Touches the database only to re-read
        the hotel list when a held hotel is not known yet, so it can stop pollers while the
        database is down."""
        valid: set[int] = set() if self.leases is None else self.leases.ownership.valid_ids()
        if valid - self._hotels.keys():
            try:
                await self._load_hotels()
            except Exception as exc:
                logger.warning("could not re-read hotels: {}", type(exc).__name__)
        wanted = {hotel_id: r for hotel_id, r in self._hotels.items() if hotel_id in valid}
        async with self._runners_lock:
            stopping: list[_Runner] = []
            for hotel_id in list(self._runners):
                runner = self._runners[hotel_id]
                record = wanted.get(hotel_id)
                token = resolve_token(record, self.environ) if record else None
                if (
                    record is None
                    or token != runner.token
                    or connection_changed(runner.record, record)
                    or runner.task.done()
                ):
                    reason = "not ours" if hotel_id not in valid else "hotel changed or ended"
                    logger.bind(hotel=runner.record.slug).info("stopping poller ({})", reason)
                    stopping.append(runner)
                    del self._runners[hotel_id]
                    if record is None:
                        self.health.pop(hotel_id, None)
            # Together: losing many leases at once must not take drain_timeout_s per hotel.
            await asyncio.gather(*(self._stop_runner(runner) for runner in stopping))
            for hotel_id, record in wanted.items():
                if hotel_id not in self._runners:
                    self._start_runner(record)

    def _start_runner(self, record: HotelRecord) -> None:
        assert self.writer is not None and self._transports is not None
        health = self.health.setdefault(record.id, HotelHealth(record.id, record.slug))
        token = resolve_token(record, self.environ)
        log = logger.bind(hotel=record.slug)
        reason = connection_problem(record, self.environ)
        if reason is not None or token is None:
            reason = reason or "no API token"
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
        ownership = None if self.leases is None else self.leases.ownership
        poller = HotelPoller(
            record.id,
            record.slug,
            client,
            self.writer,
            health=health,
            backoff=Backoff(poll_policy(g.backoff_min_s, g.backoff_max_s).delay_s),
            unhealthy_retry_s=g.unhealthy_retry_s,
            may_poll=None if ownership is None else (lambda: ownership.is_valid(record.id)),
        )
        # Not critical: a poller that ends is restarted by the next reconciliation.
        task = self._start_task(f"poller:{record.slug}", poller.run, critical=False)
        poller.bind_cancel(task.cancel)
        self._runners[record.id] = _Runner(record, token, poller, task, transport, client)
        log.info("polling instance {} at {}", record.instance_id, record.api_url)

    async def _stop_runner(self, runner: _Runner) -> None:
        runner.poller.stop()
        await runner.task.stop(self.settings.daemon.drain_timeout_s)
        await runner.transport.aclose()

    # -- shutdown ---------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        started = time.monotonic()
        # One budget for the whole drain: every stage below waits at most for what is left of
        # drain_timeout_s, so the process is done within it (plus closing), well inside the
        # unit's TimeoutStopSec.
        deadline = started + self.settings.daemon.drain_timeout_s

        def left_s() -> float:
            return max(0.1, deadline - time.monotonic())

        sdnotify.stopping("stopping: finishing in-flight work")  # [operations]
        if self._tasks is not None:
            self._tasks.stopping = True  # tasks ending from here on do so on purpose
        await self._stop_supervisor()
        if self._snapshot_task is not None:
            self._snapshot_task.cancel()  # a read-only round: safe to drop
            await self._snapshot_task.wait()
        if self.observability is not None:
            await self.observability.stop()
        if self._digest_task is not None:
            self._digest_task.cancel()  # a tick's transaction either committed or not
            await self._digest_task.wait()
        if self._watch_task is not None:
            self._watch_task.cancel()  # between checks or in one: either is safe to drop
            await self._watch_task.wait()
        # --- scheduling (begin): no new fires, finish sends in flight, before clients close ---
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.sender is not None:
            await self.sender.stop(left_s())
        if self._sender_task is not None:
            await self._sender_task.stop(left_s())
        # --- scheduling (end) ---
        # --- leases (scale-out): no more claims or reconciles while stopping. Under the lock,
        # so a reconcile that is stopping pollers finishes that first (its pollers are no
        # longer in _runners, and would otherwise be left running). ---
        if self._lease_task is not None:
            async with self._runners_lock:
                self._lease_task.cancel()
                await self._lease_task.wait()
        runners = list(self._runners.values())
        for runner in runners:
            runner.poller.stop()
        # Pollers finish together within what is left of the budget, then are cancelled.
        with anyio.move_on_after(left_s()):
            for runner in runners:
                await runner.task.wait()
        pending = [r.task for r in runners if not r.task.done()]
        for task in pending:
            task.cancel()
        for task in pending:
            await task.wait()
        cancelled = len(pending)
        if self.writer is not None and self._writer_task is not None:
            await self.writer.close()
            if not await self._writer_task.stop(left_s()):
                logger.error("ingest writer did not finish in time")
        await self._stop_processor(left_s())  # understanding: after pollers and the writer
        if self.db is not None:
            await self._write_status()
        for runner in runners:
            await runner.transport.aclose()
        self._runners.clear()
        # --- leases (scale-out): pollers stopped and writes committed; now let others in ---
        if self.leases is not None and self.db is not None:
            try:
                await self.leases.release_all()
            except Exception as exc:
                logger.warning(
                    "could not release leases ({}); they expire in {:.0f} s",
                    type(exc).__name__, self.settings.leases.ttl_s,
                )  # fmt: skip
        received = sum(h.received_total for h in self.health.values())
        logger.info(
            "stopped in {:.1f} s: {} hotel(s), {} notification(s) stored this run, "
            "{} poller(s) cancelled",
            time.monotonic() - started, len(runners), received, cancelled,
        )  # fmt: skip
        if self._crash_marker is not None and self._exit_code == 0:
            mark_stopped(self._crash_marker)  # a clean stop: the next start is no restart
        await self._close_resources()

    def _start_fact_answerer(self) -> None:
        """With an LLM configured, questions the rules leave are tried with it for the
        hotels whose facts say mode "llm" (guest text goes to the same provider as for
        sentiment: an explicit choice, docs/systemd.md)."""
        assert self._stage is not None and self.db is not None
        if self._stage.llm is None:
            return
        from hotelbot.sentiment.facts_llm import build_facts_llm
        from hotelbot.sentiment.settings import resolve_api_key

        key = resolve_api_key(self.settings.llm, self.environ)
        if key is None:
            return
        self._facts_llm = build_facts_llm(self.settings.llm, key)
        owned = None if self.db.is_sqlite else (lambda: list(self._runners))
        fence = None if self.db.is_sqlite or self.leases is None else self.leases.ownership
        self._fact_answerer = LlmFactAnswerer(
            self.db, self._facts_llm, hotel_ids=owned, lease=fence
        )
        # Not critical: without it questions wait for staff, as with the LLM switched off.
        self._fact_answer_task = self._start_task(
            "llm-fact-answers", self._fact_answerer.run, critical=False
        )

    async def _stop_fact_answerer(self) -> None:
        if self._fact_answerer is not None:
            await self._fact_answerer.stop()
            self._fact_answerer = None
        if self._fact_answer_task is not None:
            await self._fact_answer_task.stop(10.0)
            self._fact_answer_task = None
        if self._facts_llm is not None:
            await self._facts_llm.aclose()
            self._facts_llm = None

    async def _stop_processor(self, timeout_s: float) -> None:
        """Stop the processor (it commits finished analyses; unfinished ones stay
        unprocessed and are redone after the restart), then close the LLM client."""
        await self._stop_fact_answerer()
        if self.processor is not None and self._processor_task is not None:
            self.processor.stop()
            if not await self._processor_task.stop(timeout_s):
                logger.error("processor did not finish in time")
        if self.worker is not None and self._processor_task is not None:
            self.worker.stop()  # the child commits what it analysed, then exits
            if not await self._processor_task.stop(timeout_s):
                logger.error("processing worker did not finish in time: killed")
        if self._stage is not None:
            await self._stage.aclose()
            self._stage = None

    async def _close_resources_shielded(self) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_TIMEOUT_S):
            await self._close_resources()

    def _remove_signal_handlers(self) -> None:
        """Give the signals back (a daemon run inside a longer process, tests, the demo)."""
        if not self._install_signals:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)

    async def _close_resources(self) -> None:
        await self._stop_fact_answerer()
        if self._stage is not None:
            await self._stage.aclose()
            self._stage = None
        if self.db is not None:
            await self.db.dispose()
            self.db = None


def _single(group: BaseExceptionGroup) -> BaseException:
    """The task group wraps what the host raised (a database error at start-up, a bug) in an
    exception group; the daemon's callers expect the error itself."""
    leaves: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            leaves.append(error)

    walk(group)
    return leaves[0] if len(leaves) == 1 else group


def _operator_watch(daemon: Daemon) -> OperatorWatch | None:
    """The e-mail backup channel when [email] is enabled (None otherwise). Its crash marker
    sits in the state directory, named after the daemon."""
    settings = daemon.settings.email
    if not settings.enabled or daemon.db is None:
        return None
    login = smtp_login(daemon.environ)
    if login is not None:
        register_secret(login.password)
    daemon._crash_marker = marker_path(state_dir(daemon.environ), daemon.settings.daemon.name)
    llm = None if daemon._stage is None else daemon._stage.llm
    sources = WatchSources(
        daemon.db,
        health=lambda: list(daemon.health.values()),
        polled=lambda: list(daemon._runners),
        breaker_state=_breaker_source(daemon, llm),
        daemon_name=daemon.name,
        crashed_before=mark_running(daemon._crash_marker),
    )
    return OperatorWatch(settings, Mailer(settings, login), sources)


def _breaker_source(daemon: Daemon, llm: LlmAnalyser | None) -> Callable[[], BreakerState | None]:
    """The LLM breaker that judges guest messages: the processing worker's when there is
    one (as it last reported it), else this process's."""
    worker = daemon.worker
    if worker is not None:
        return lambda: worker.breaker_state
    return (lambda: None) if llm is None else (lambda: llm.breaker_state)


def _observability(daemon: Daemon) -> Observability:
    """The metrics runtime over this daemon's database, pollers, leases and LLM breaker."""
    assert daemon.db is not None
    stage = daemon._stage
    llm = None if stage is None else stage.llm
    sources = SnapshotSources(
        daemon.db,
        polled=lambda: list(daemon._runners),
        lease=None if daemon.leases is None else daemon.leases.ownership,
        breaker_state=_breaker_source(daemon, llm),
    )
    return Observability(daemon.settings.metrics, sources)
