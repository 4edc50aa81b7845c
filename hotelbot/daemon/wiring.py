"""Building the daemon: resources first (`open_resources`, may fail on configuration), then
every component and long-running task, in dependency order (`start_parts`).

What is built here is started as owned tasks of the daemon's task group (daemon/tasks.py) and
stopped by the ordered drain (daemon/drain.py). A new long-running task starts here; a new
resource is closed by the exit stack in daemon/app.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from loguru import logger

from hotelbot.daemon.digest import DigestSender
from hotelbot.daemon.escalator import Escalator
from hotelbot.daemon.fact_answers import LlmFactAnswerer, facts_hook
from hotelbot.daemon.hotels import HotelWorkers
from hotelbot.daemon.operator_watch import OperatorWatch, WatchSources, mark_running, marker_path
from hotelbot.daemon.ownership import LeaseManager
from hotelbot.daemon.processor import Processor
from hotelbot.daemon.scheduler import Scheduler
from hotelbot.daemon.scheduler import message_hook as scheduler_message_hook
from hotelbot.daemon.sender import OutboxSender
from hotelbot.daemon.supervisor import PollerProbe
from hotelbot.daemon.tasks import OwnedTask, OwnedTasks
from hotelbot.daemon.worker_process import HotelsAndEpochs, ProcessingWorker
from hotelbot.mail.smtp import Mailer, smtp_login
from hotelbot.observability.runtime import Observability
from hotelbot.observability.snapshot import SnapshotSources
from hotelbot.paths import state_dir
from hotelbot.redact import register_secret, register_secrets
from hotelbot.sentiment.factory import BuiltStage, build_stage
from hotelbot.sentiment.settings import resolve_api_key
from hotelbot.settings import Settings
from hotelbot.storage.db import Database, PgSessionLimits, url_password
from hotelbot.storage.ingest import IngestWriter
from hotelbot.storage.leases import Ownership
from hotelbot.storage.llm_ledger import LlmLedger
from hotelbot.storage.schema import check_schema
from hotelbot.storage.stays import room_of_current_stay

if TYPE_CHECKING:
    from pathlib import Path

    from hotelbot.domain.breaker import BreakerState
    from hotelbot.sentiment.facts_llm import FactsLlm
    from hotelbot.sentiment.llm import LlmAnalyser

# Closing the database and the LLM client at exit: bounded, so a hung driver cannot keep a
# stopping daemon past systemd's TimeoutStopSec.
_CLOSE_TIMEOUT_S = 10.0


async def open_resources(
    settings: Settings, environ: Mapping[str, str], resources: contextlib.AsyncExitStack
) -> tuple[Database, BuiltStage]:
    """The database (schema checked) and the sentiment stage, closed by `resources` last,
    shielded from cancellation and bounded in time. Raises ConfigError/SchemaError (exit 78).
    No task runs yet."""
    url = settings.database_url(environ)
    _register_known_secrets(settings, environ, url)  # before any query or log line
    # The daemon never creates a database: a missing SQLite file is an error naming it
    # (exit 78), so a daemon and the admin commands can never work on different files.
    db = Database.open(
        url,
        pool_size=settings.database.pool_size,
        busy_timeout_ms=settings.database.busy_timeout_ms,
        pgbouncer=settings.database.pgbouncer,  # leases (scale-out)
        # No frozen session may keep lease-row locks until its lease expires.
        pg_limits=PgSessionLimits.for_lease_ttl(settings.leases.ttl_s),
        create=False,
    )
    resources.push_async_callback(_shielded, db.dispose)  # closed after the stage
    await check_schema(db)
    # may raise ConfigError; the database gives the LLM its limits, cache and context
    llm = settings.llm
    ledger = LlmLedger(
        db,
        llm.limits.to_limits(),
        {slug: spec.to_limits() for slug, spec in llm.hotel_limits.items()},
    )
    stage = build_stage(settings, environ, ledger=ledger)
    resources.push_async_callback(_shielded, stage.aclose)
    return db, stage


async def _shielded(close: Callable[[], Awaitable[None]]) -> None:
    with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_TIMEOUT_S):
        await close()


def _register_known_secrets(settings: Settings, environ: Mapping[str, str], url: str) -> None:
    """Secrets known before the database is read: its password (in the URL, or the
    pg_password credential), the LLM key, and every variable a hotel may take its token
    from (the GREENAPI_TOKEN_ prefix). Hotel tokens stored in the database are registered
    as soon as the hotel list is read (SQLAlchemy never logs result rows: logs.py)."""
    from hotelbot.hotel_spec import TOKEN_ENV_PREFIX

    password = url_password(url)
    found = [password] if password else []
    if settings.llm.enabled:
        key = resolve_api_key(settings.llm, environ)
        if key:
            found.append(key)
    found.extend(v for k, v in environ.items() if k.startswith(TOKEN_ENV_PREFIX))
    register_secrets(found)


@dataclass(eq=False)
class Processing:
    """The understanding stage: the processor (in this process, or supervised in a child
    process: `worker`) and, with an LLM, the fact answerer. (The sentiment stage itself is a
    resource: closed by the exit stack.)"""

    processor: Processor | None
    worker: ProcessingWorker | None
    task: OwnedTask
    fact_answerer: LlmFactAnswerer | None = None
    fact_task: OwnedTask | None = None
    facts_llm: FactsLlm | None = field(default=None, repr=False)

    async def stop(self, timeout_s: float) -> None:
        """Stop the fact answerer, then the processor (it commits finished analyses;
        unfinished ones stay unprocessed and are redone after the restart)."""
        if self.fact_answerer is not None:
            await self.fact_answerer.stop()
        if self.fact_task is not None:
            await self.fact_task.stop(10.0)
        if self.facts_llm is not None:
            await self.facts_llm.aclose()
        if self.processor is not None:
            self.processor.stop()
            if not await self.task.stop(timeout_s):
                logger.error("processor did not finish in time")
        if self.worker is not None:
            self.worker.stop()  # the child commits what it analysed, then exits
            if not await self.task.stop(timeout_s):
                logger.error("processing worker did not finish in time: killed")

    def probes(self) -> list[PollerProbe]:
        """The processing worker's line in the watchdog (none in-process)."""
        if self.worker is None:
            return []
        return [self.worker.probe(running=not self.task.done())]

    def breaker_source(self, llm: LlmAnalyser | None) -> Callable[[], BreakerState | None]:
        """The LLM breaker that judges guest messages: the processing worker's when there is
        one (as it last reported it), else this process's."""
        worker = self.worker
        if worker is not None:
            return lambda: worker.breaker_state
        return (lambda: None) if llm is None else (lambda: llm.breaker_state)


def start_processing(
    tasks: OwnedTasks,
    db: Database,
    stage: BuiltStage,
    *,
    settings: Settings,
    environ: Mapping[str, str],
    name: str,
    writer: IngestWriter,
    sender: OutboxSender,
    ownership: Ownership,
    hotel_ids: Callable[[], list[int]],
) -> Processing:
    """The one place the processor is created and started: in this process's event loop, or
    (`processing.workers = 1`) in a supervised child process (daemon/worker_process.py).
    Either is one task of the group, woken by the ingest writer's commits; its commits wake
    the hotels' send loops."""
    if settings.processing.workers > 0:
        worker = ProcessingWorker(
            db,
            settings,
            name,
            environ,
            hotels=_held_epochs(hotel_ids, ownership),
            hang_after_s=settings.processing.hang_after_s,
        )
        writer.on_commit(worker.notify)
        worker.on_alerts(sender.wake_for_alerts)  # alerts committed by the child leave at once
        processing = Processing(None, worker, tasks.start("processing-worker", worker.run))
    else:
        processor = Processor(
            db,
            stage.stage,
            max_concurrency=settings.llm.max_concurrency,
            # PostgreSQL with several daemons: interpret only the hotels this one holds ...
            owned_hotels=None if db.is_sqlite else hotel_ids,
            # ... and its write transaction is fenced by their lease epochs.
            lease=None if db.is_sqlite else ownership,
        )
        # Event triggers (first message, keyword) are decided in the processing transaction;
        # staff alerts carry the guest's room from their current stay.
        processor.add_message_hook(scheduler_message_hook(decided_by=name))
        # Information questions answered from the hotel's facts (daemon/fact_answers.py).
        processor.add_message_hook(facts_hook())
        processor.set_room_lookup(room_of_current_stay)
        # Alerts nobody acknowledged in time go to the duty manager, at the processor's
        # periodic scan, for the hotels this daemon holds (fenced by their leases).
        processor.set_escalator(Escalator(db, hotel_ids=hotel_ids, lease=ownership))
        writer.on_commit(processor.notify)
        processor.on_commit(sender.wake_for_alerts)  # alerts leave at once, not at a poll
        processing = Processing(processor, None, tasks.start("processor", processor.run))
    logger.info("sentiment: rules, LLM {}", stage.llm_status)
    if not settings.llm.enabled and resolve_api_key(settings.llm, environ):
        # Guest text goes to a third party only on an explicit choice (docs/systemd.md).
        logger.warning(
            "an LLM API key is present but [llm] enabled = false: guest messages are "
            "judged by the rules only (set enabled = true in the settings file to use it)"
        )
    key = resolve_api_key(settings.llm, environ) if stage.llm is not None else None
    if key is not None:
        # With an LLM configured, questions the rules leave are tried with it for the hotels
        # whose facts say mode "llm" (guest text goes to the same provider as for sentiment).
        from hotelbot.sentiment.facts_llm import build_facts_llm

        processing.facts_llm = build_facts_llm(settings.llm, key)
        owned = None if db.is_sqlite else hotel_ids
        fence = None if db.is_sqlite else ownership
        answerer = LlmFactAnswerer(db, processing.facts_llm, hotel_ids=owned, lease=fence)
        processing.fact_answerer = answerer
        # Not critical: without it questions wait for staff, as with the LLM switched off.
        processing.fact_task = tasks.start("llm-fact-answers", answerer.run, critical=False)
    return processing


def _held_epochs(hotel_ids: Callable[[], list[int]], ownership: Ownership) -> HotelsAndEpochs:
    """The hotels served and, for each valid lease, (epoch, self-fence deadline): what the
    processing worker is relayed."""

    def held() -> tuple[list[int], dict[int, tuple[int, float]]]:
        ids = hotel_ids()
        epochs: dict[int, tuple[int, float]] = {}
        for hotel_id in ids:
            epoch, until = ownership.epoch_of(hotel_id), ownership.valid_until(hotel_id)
            if epoch is not None and until is not None:
                epochs[hotel_id] = (epoch, until)
        return ids, epochs

    return held


@dataclass(eq=False)
class Parts:
    """Everything `start_parts` built and started, for the main loop and the drain."""

    db: Database
    tasks: OwnedTasks
    writer: IngestWriter
    writer_task: OwnedTask
    leases: LeaseManager
    lease_task: OwnedTask
    workers: HotelWorkers
    hotels_task: OwnedTask
    sender: OutboxSender
    sender_task: OwnedTask
    processing: Processing
    scheduler: Scheduler
    observability: Observability
    # read-only rounds or one transaction each: cancelled at the drain
    side_tasks: list[OwnedTask]
    crash_marker: Path | None

    def restart_lease_task(self) -> None:
        self.lease_task = self.tasks.start("lease-manager", self.leases.run)


async def start_parts(
    tasks: OwnedTasks,
    db: Database,
    stage: BuiltStage,
    *,
    settings: Callable[[], Settings],
    environ: Mapping[str, str],
    name: str,
) -> Parts:
    """Build and start every component, in dependency order; the first hotels are served
    when this returns. Raises database errors (start-up)."""
    s = settings()
    workers: HotelWorkers | None = None

    async def leases_changed() -> None:  # leases are released only after their workers stop
        if workers is not None:
            await workers.settle()

    leases = LeaseManager(db, s.leases, name, on_change=leases_changed)
    writer = IngestWriter(db, fence=leases.ownership)
    writer_task = tasks.start("ingest-writer", writer.run)
    sender = OutboxSender(
        db,
        lambda hotel_id: None if workers is None else workers.client_for(hotel_id),
        policies=s.outbox.policies(),
        lease=leases.ownership,
    )
    sender_task = tasks.start("outbox-sender", sender.run)
    workers = HotelWorkers(
        db,
        settings=settings,
        environ=environ,
        name=name,
        writer=writer,
        sender=sender,
        ownership=leases.ownership,
        tasks=tasks,
    )
    processing = start_processing(
        tasks,
        db,
        stage,
        settings=s,
        environ=environ,
        name=name,
        writer=writer,
        sender=sender,
        ownership=leases.ownership,
        hotel_ids=workers.hotel_ids,
    )
    await workers.load()
    hotels_task = tasks.start("hotels", workers.run)
    await leases.start()  # the first round claims hotels; their workers start
    lease_task = tasks.start("lease-manager", leases.run)
    # Only hotels this daemon serves (holds a lease for): one decider per hotel.
    scheduler = Scheduler(
        db,
        name=name,
        hotel_ids=workers.hotel_ids,
        tick_s=s.daemon.scheduler_tick_s,
        lease=leases.ownership,
    )
    scheduler.start()
    llm = stage.llm
    observability = Observability(  # [metrics] /metrics and its snapshot
        s.metrics,
        SnapshotSources(
            db,
            polled=workers.hotel_ids,
            lease=leases.ownership,
            breaker_state=processing.breaker_source(llm),
        ),
    )
    observability.start()
    side_tasks = []
    if observability.enabled:
        side_tasks.append(
            tasks.start("metrics-snapshot", observability.snapshot.run, critical=False)
        )
    watch, crash_marker = _operator_watch(
        s, environ, db, workers, name, processing.breaker_source(llm)
    )
    if watch is not None:  # [email] the operators' backup channel
        side_tasks.append(tasks.start("operator-watch", watch.run, critical=False))
    digest = DigestSender(  # the managers' scheduled digests (report_schedule)
        db,
        workers.hotel_ids,
        tick_s=s.daemon.scheduler_tick_s,
        lease=None if db.is_sqlite else leases.ownership,
    )
    side_tasks.append(tasks.start("digest", digest.run, critical=False))
    return Parts(
        db,
        tasks,
        writer,
        writer_task,
        leases,
        lease_task,
        workers,
        hotels_task,
        sender,
        sender_task,
        processing,
        scheduler,
        observability,
        side_tasks,
        crash_marker,
    )


def _operator_watch(
    settings: Settings,
    environ: Mapping[str, str],
    db: Database,
    workers: HotelWorkers,
    name: str,
    breaker_state: Callable[[], BreakerState | None],
) -> tuple[OperatorWatch | None, Path | None]:
    """The e-mail backup channel when [email] is enabled (None otherwise), and its crash
    marker in the state directory, named after the daemon."""
    email = settings.email
    if not email.enabled:
        return None, None
    login = smtp_login(environ)
    if login is not None:
        register_secret(login.password)
    crash_marker = marker_path(state_dir(environ), settings.daemon.name)
    sources = WatchSources(
        db,
        health=lambda: list(workers.health.values()),
        polled=workers.hotel_ids,
        breaker_state=breaker_state,
        daemon_name=name,
        crashed_before=mark_running(crash_marker),
    )
    return OperatorWatch(email, Mailer(email, login), sources), crash_marker
