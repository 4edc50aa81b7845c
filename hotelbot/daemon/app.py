"""The composition root: `Daemon.run()` owns everything the daemon starts and stops it in
order. Nothing else in hotelbot installs signal handlers or owns long-lived tasks.

* resources (database, sentiment stage) are opened first and closed last by an
  AsyncExitStack, shielded from cancellation and bounded in time (daemon/wiring.py);
* every long-running task runs in one anyio task group (daemon/tasks.py): ingest writer,
  processor, outbox sender, lease manager, hotel reconciliation, one worker per hotel
  (daemon/hotel_worker.py, reconciled by daemon/hotels.py), watchdog and side tasks. A critical
  task that crashes is logged at once; the daemon then drains in order and exits 1, for
  systemd (Restart=on-failure) to start a fresh process. A hotel worker that ends is
  restarted by the hotel reconciliation;
* the main loop (daemon/housekeeping.py) runs until the stop event: status, retention,
  SIGHUP reloads;
* signals only flip state (daemon/signals.py): the first SIGTERM/SIGINT sets the stop event
  and the ordered drain runs (daemon/drain.py); a second one cancels the task group (the
  drain is cut short, commits in flight are shielded and finish): nothing committed is lost,
  and anything not yet deleted upstream is redelivered after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Mapping

import anyio
from loguru import logger

from hotelbot import sdnotify
from hotelbot.daemon.drain import drain
from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.heap import freeze_startup_heap
from hotelbot.daemon.housekeeping import Housekeeping
from hotelbot.daemon.operator_watch import mark_stopped
from hotelbot.daemon.signals import SignalHandlers
from hotelbot.daemon.tasks import OwnedTasks
from hotelbot.daemon.wiring import Parts, open_resources, start_parts
from hotelbot.error_text import describe
from hotelbot.errors import EXIT_CONFIG, EXIT_TASK_CRASHED, ConfigError, SchemaError
from hotelbot.settings import Settings, load_settings


def default_daemon_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Daemon:
    """`await Daemon(settings).run()` runs until `request_stop()` or a signal.

    Returns the process exit code (0 clean stop, 78 bad configuration or schema, 1 when a
    background task crashed or a second signal cut the drain short)."""

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
        self.name = settings.daemon.name or default_daemon_name()
        self.ready = asyncio.Event()
        self.parts: Parts | None = None  # set once every task started
        self.housekeeping: Housekeeping | None = None
        self._stop = asyncio.Event()
        self._exit_code = 0
        self._scope: anyio.CancelScope | None = None  # the task group's: a second signal cancels it
        self._install_signals = install_signal_handlers
        self._signals = SignalHandlers(
            on_stop=self.request_stop, on_cut=self._cut_short, on_reload=self.request_reload
        )

    @property
    def health(self) -> dict[int, HotelHealth]:
        return {} if self.parts is None else self.parts.workers.health

    # -- control ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        if self.housekeeping is not None:
            self.housekeeping.wake()

    def request_reload(self) -> None:
        """What SIGHUP does: re-read settings and hotels in the main loop (not in the handler)."""
        if self.housekeeping is not None:
            self.housekeeping.request_reload()

    def _cut_short(self) -> None:
        """A second stopping signal: cancel the whole task group (shielded commits finish,
        resources are still closed) and exit 1."""
        self._exit_code = self._exit_code or 1
        self._stop.set()
        if self._scope is not None:
            self._scope.cancel()

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

    # -- run --------------------------------------------------------------------------------
    async def run(self) -> int:
        async with contextlib.AsyncExitStack() as resources:
            try:
                db, stage = await open_resources(self.settings, self.environ, resources)
                if self._install_signals:
                    self._signals.install()
                    resources.callback(self._signals.remove)
                async with anyio.create_task_group() as group:
                    self._scope = group.cancel_scope
                    tasks = OwnedTasks(group, on_crash=self._on_task_crash)
                    try:
                        self.parts = await start_parts(
                            tasks,
                            db,
                            stage,
                            settings=lambda: self.settings,
                            environ=self.environ,
                            name=self.name,
                        )
                    except BaseException:
                        group.cancel_scope.cancel()  # a half-built daemon: nothing to drain
                        raise
                    await self._serve(self.parts)
                    group.cancel_scope.cancel()  # nothing may outlive the drain
            except (ConfigError, SchemaError) as exc:
                return self._cannot_start(exc)
            except BaseExceptionGroup as group_error:
                error = _single(group_error)
                if isinstance(error, ConfigError | SchemaError):
                    return self._cannot_start(error)
                raise error from None
            finally:
                self._scope = None
        return self._exit_code

    async def _serve(self, parts: Parts) -> None:
        """READY=1, the main loop until the stop event, then the ordered drain."""

        def apply_settings(settings: Settings) -> None:
            self.settings = settings

        house = Housekeeping(
            parts,
            self.name,
            settings=lambda: self.settings,
            apply_settings=apply_settings,
            load_settings=self._load_settings,
        )
        self.housekeeping = house
        try:
            self.ready.set()
            sdnotify.ready(await house.status_text())  # [operations] after schema, signals
            house.start_supervisor()  # [operations] watchdog pings only after READY=1
            logger.info(
                "hotelbot daemon {} started: {} of {} enabled hotel(s) polling (leases), {}",
                self.name,
                len(parts.workers.workers),
                parts.workers.known,
                parts.db.location,
            )
            frozen = freeze_startup_heap()  # full GC passes no longer walk the start-up heap
            logger.debug("start-up heap frozen: {} objects", frozen)
            await house.run(self._stop)
        finally:
            await drain(
                parts,
                timeout_s=self.settings.daemon.drain_timeout_s,
                stop_watchdog=house.stop_supervisor,
                write_status=house.write_status,
                lease_ttl_s=self.settings.leases.ttl_s,
            )
            if parts.crash_marker is not None and self._exit_code == 0:
                mark_stopped(parts.crash_marker)  # a clean stop: the next start is no restart

    def _cannot_start(self, error: BaseException) -> int:
        logger.error("cannot start: {}", error)
        sdnotify.status("cannot start: see the log")  # [operations]
        return EXIT_CONFIG


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
