"""The daemon's main loop and its periodic chores, until the stop event is set:

* the hotels' status rows and systemd's STATUS line, every status_interval_s;
* the retention purge ([privacy], every purge_interval_h);
* SIGHUP: apply changed settings, re-read the hotel list, claim new hotels' leases now;
* the watchdog supervisor (systemd WatchdogSec=), started after READY=1.

Hotels are reconciled by daemon/hotels.py; a reload only asks it for a round.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from loguru import logger

from hotelbot import sdnotify
from hotelbot.daemon.reload import plan_reload
from hotelbot.daemon.status_writer import StatusWriter
from hotelbot.daemon.supervisor import Backlog, Supervisor, status_line
from hotelbot.daemon.tasks import OwnedTask
from hotelbot.daemon.wiring import Parts
from hotelbot.error_text import describe
from hotelbot.errors import ConfigError
from hotelbot.redact import redact
from hotelbot.settings import Settings
from hotelbot.storage.backlog import backlog_counts


class Housekeeping:
    """The main loop over `parts`; `settings` is the daemon's (a reload replaces it through
    `apply_settings`)."""

    def __init__(
        self,
        parts: Parts,
        name: str,
        *,
        settings: Callable[[], Settings],
        apply_settings: Callable[[Settings], None],
        load_settings: Callable[[], Settings],
    ) -> None:
        self._parts = parts
        self._name = name
        self._settings = settings
        self._apply_settings = apply_settings
        self._load_settings = load_settings
        self._status_writer = StatusWriter(parts.db, name)
        self._wake = asyncio.Event()
        self._reload_requested = False
        self._purge_due = 0.0
        self.supervisor: Supervisor | None = None
        self._supervisor_task: OwnedTask | None = None

    def wake(self) -> None:
        self._wake.set()

    def request_reload(self) -> None:
        self._reload_requested = True
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        status_due = time.monotonic()
        while not stop.is_set():
            if self._reload_requested:  # [operations] SIGHUP
                self._reload_requested = False
                await self._reload()
                status_due = 0.0
            now = time.monotonic()
            if now >= status_due:
                await self.write_status()
                sdnotify.status(await self.status_text())  # [operations]
                status_due = now + self._settings().daemon.status_interval_s
            if now >= self._purge_due:  # [operations] retention
                await self._purge()
            wait_s = max(0.05, min(status_due, self._purge_due) - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            self._wake.clear()

    # -- status ---------------------------------------------------------------------------------
    async def write_status(self) -> None:
        try:  # writes changed rows; all every 2 intervals
            refresh_s = 2 * self._settings().daemon.status_interval_s
            health = self._parts.workers.health.values()
            await self._status_writer.write(health, refresh_s=refresh_s)
        except Exception as exc:
            logger.warning("could not write hotel status: {}", type(exc).__name__)

    async def status_text(self) -> str:
        health = list(self._parts.workers.health.values())
        try:
            async with self._parts.db.read() as conn:
                backlog = Backlog(*await backlog_counts(conn))
        except Exception as exc:  # the database being down is itself worth showing
            return status_line(
                health, backlog=None, extra=f"database unavailable ({type(exc).__name__})"
            )
        # Error texts come from upstream answers: mask any registered secret, as in logs.
        return redact(status_line(health, backlog=backlog))

    # -- the watchdog -------------------------------------------------------------------------
    def start_supervisor(self) -> None:
        """Pings the systemd watchdog while the loop and the pollers make progress; only
        after READY=1, and only with WatchdogSec= set."""
        interval_s = sdnotify.watchdog_interval_s()
        if interval_s is None:
            return  # no WatchdogSec=: nothing to ping
        g = self._settings().greenapi
        # The longest legitimate silence of a poller: a long poll that runs into its read
        # timeout, twice, plus storing and deleting one item.
        stall_after_s = 2 * (g.receive_timeout_s + g.poll_timeout_margin_s) + g.request_timeout_s
        parts = self._parts
        self.supervisor = Supervisor(
            lambda: parts.workers.probes() + parts.processing.probes(),
            interval_s=interval_s,
            stall_after_s=stall_after_s,
            max_loop_lag_s=max(1.0, min(5.0, interval_s)),
        )
        self._supervisor_task = self._parts.tasks.start("supervisor", self.supervisor.run)

    async def stop_supervisor(self) -> None:
        if self._supervisor_task is not None:
            self._supervisor_task.cancel()
            await self._supervisor_task.wait()
            self._supervisor_task = None

    # -- reload and retention -----------------------------------------------------------------
    async def _reload(self) -> None:
        """SIGHUP: apply changed settings and re-sync hotels; in-flight work continues.

        Always answers RELOADING=1 with READY=1, also when the new file is invalid (then the
        running settings stay and the error is logged)."""
        sdnotify.reloading("reloading settings and hotels")
        restart = False
        try:
            loaded = self._load_settings()
        except ConfigError as exc:
            logger.error("reload: keeping the running settings: {}", exc)
        else:
            plan = plan_reload(self._settings(), loaded)
            self._apply_settings(plan.settings)
            if plan.logging_changed:
                from hotelbot.logs import configure_logging

                logging = plan.settings.logging
                configure_logging(logging.level, logging.format)
            for key in plan.needs_restart:
                logger.warning("reload: {} changed; it takes effect after a restart", key)
            if plan.applied:
                logger.info("reload: applied {}", ", ".join(plan.applied))
            restart = plan.greenapi_changed  # workers restart with the new settings
        await self._parts.workers.settle(reread=True, restart=restart)
        try:
            await self._lease_round_now()
        except Exception as exc:
            logger.warning("reload: could not claim leases now: {}", type(exc).__name__)
        sdnotify.ready(await self.status_text())

    async def _lease_round_now(self) -> None:
        """Claim leases for newly added hotels now rather than at the next lease round. The
        lease task is replaced (never two rounds at once); cancelling it is what the drain
        does too, so it is safe mid-round."""
        parts = self._parts
        parts.lease_task.cancel()
        await parts.lease_task.wait()
        try:
            await parts.leases.tick()
        finally:
            parts.restart_lease_task()

    async def _purge(self) -> None:
        privacy = self._settings().privacy
        self._purge_due = time.monotonic() + privacy.purge_interval_h * 3600
        if privacy.retention_days <= 0:
            return
        from hotelbot.ops.retention import purge_expired

        try:
            result = await purge_expired(self._parts.db, retention_days=privacy.retention_days)
        except Exception as exc:
            logger.error("retention purge failed ({}); retrying next time", describe(exc))
            return
        if result.total:
            logger.info("retention purge ({} days): {}", privacy.retention_days, result.summary())
