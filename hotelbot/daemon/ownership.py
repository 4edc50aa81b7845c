"""The lease manager: decides which hotels this daemon serves, round after round.

One round (`tick()`), every `renew_interval_s` (jittered downwards, so never later):
  1. self-fence: leases whose last renew is older than ttl - margin (monotonic clock) stop
     counting at once, before any database round trip (the database may be what is slow);
  2. heartbeat this daemon's row, give new hotels a lease row, renew every lease held;
     leases not renewed are lost (another daemon claimed them after they expired);
  3. balance: quota = ceil(enabled hotels / live daemons) on PostgreSQL (every hotel on
     SQLite: one owner); leases above the quota, and leases of disabled hotels, are released
     -- after their pollers stopped;
  4. claim free or expired leases up to the quota.
After every change the daemon is told (`on_change`) and reconciles its pollers with
`ownership.valid_ids()`. A failed round (database down) is logged and retried after about a
second; only step 1 keeps running then, which is what stops pollers in time.

`release_all()` (clean shutdown, after the pollers stopped) frees every lease and removes the
daemon's row, so the other daemons take over at their next round instead of after ttl_s.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable

from loguru import logger

from hotelbot.settings import LeaseSettings
from hotelbot.storage.db import Database
from hotelbot.storage.leases import (
    Ownership,
    claim_leases,
    count_held_by_others,
    count_live_daemons,
    enabled_hotel_ids,
    ensure_lease_rows,
    fair_quota,
    free_leases_of,
    heartbeat,
    pid_alive,
    prune_daemons,
    reap_dead_local_daemons,
    register_daemon,
    registration_of,
    release_leases,
    renew_leases,
    unregister_daemon,
)

OnChange = Callable[[], Awaitable[None]]

# Rows of daemons silent this many ttl's are deleted (they crashed long ago).
_PRUNE_AFTER_TTLS = 20
_RETRY_AFTER_ERROR_S = 1.0


class LeaseManager:
    """Owns `self.ownership` (read by pollers and fenced writers). Use: `await start()`, run
    `run()` as a task, cancel it at shutdown, then `await release_all()`."""

    def __init__(
        self,
        db: Database,
        settings: LeaseSettings,
        name: str,
        *,
        on_change: OnChange,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self.name = name
        self._on_change = on_change
        self._rng = rng or random.Random()
        self._host = host or socket.gethostname()
        self._pid = os.getpid() if pid is None else pid
        self.ownership = Ownership(
            name, ttl_s=settings.ttl_s, margin_s=settings.fence_margin_s, clock=clock
        )
        self._log = logger.bind(daemon=name)
        self._reported_valid: set[int] = set()
        self._sqlite_blocked_by: dict[str, int] | None = None
        self.rounds = 0

    @property
    def single_owner(self) -> bool:
        """SQLite: one daemon serves every hotel; no balancing."""
        return self._db.is_sqlite

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Register this daemon and run a first round. Raises database errors (start-up).

        A daemon restarted under a fixed `daemon.name` takes its predecessor's leases back at
        once when that predecessor is provably gone: same host and its pid is not running
        (or is this very process: a container restarted with the same pid). A predecessor
        on another host cannot be checked: its leases expire after ttl_s."""
        async with self._db.write() as conn:
            previous = await registration_of(conn, self.name)
            other = await register_daemon(conn, self.name, host=self._host, pid=self._pid)
            freed = 0
            if previous is not None and self._provably_gone(*previous):
                freed = await free_leases_of(conn, self.name)
        if freed:
            self._log.info(
                "took back {} lease(s) of this daemon's previous run (pid {}, gone)",
                freed,
                previous[1] if previous else "?",
            )
        elif other is not None:
            self._log.warning(
                "daemon name {} was last used by {} pid {}; if that process still runs, give "
                "each daemon its own daemon.name",
                self.name,
                other[0],
                other[1],
            )
        await self.tick()

    def _provably_gone(self, host: str, pid: int) -> bool:
        return host == self._host and (pid == self._pid or not pid_alive(pid))

    async def run(self) -> None:
        """Round after round until cancelled. Never raises (except CancelledError)."""
        while True:
            try:
                await self._sleep_until_next_round(self._settings.renew_every_s)
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # PostgreSQL restarting, network trouble: pool_pre_ping reconnects on the
                # next round; until then the self-fence (step 1) keeps us safe.
                self._log.warning("lease round failed ({}); retrying", type(exc).__name__)
                await self._sleep_until_next_round(_RETRY_AFTER_ERROR_S)
                await self._self_fence()

    async def _sleep_until_next_round(self, interval_s: float) -> None:
        delay = interval_s * self._rng.uniform(0.8, 1.0)
        # Wake up at the earliest self-fence deadline too, to stop those pollers on time.
        deadline = self.ownership.next_fence_deadline()
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - self.ownership.now()) + 0.01)
        await asyncio.sleep(delay)
        await self._self_fence()

    async def release_all(self) -> int:
        """Free every lease held and unregister. Call after the pollers stopped. Idempotent;
        raises database errors (the leases then simply expire after ttl_s)."""
        held = self.ownership.held()
        self.ownership.drop(held)
        self._reported_valid.clear()
        async with self._db.write() as conn:
            released = await release_leases(conn, self.name, held)
            await unregister_daemon(conn, self.name)
        self._log.info("released {} lease(s)", released)
        return released

    # -- one round ------------------------------------------------------------------------------
    async def tick(self) -> None:
        """One claim/renew/balance round (see the module docstring). Raises database errors;
        whatever was learned before the error is already applied."""
        self.rounds += 1
        await self._self_fence()
        await self._heartbeat_and_renew()
        enabled, live = await self._census()
        quota = len(enabled) if self.single_owner else fair_quota(len(enabled), live)
        await self._release_surplus(enabled, quota)
        await self._claim_up_to(quota)
        if self.single_owner:
            await self._report_sqlite_block(enabled)

    async def _self_fence(self) -> None:
        if self._reported_valid & self.ownership.fenced_ids():
            await self._changed()

    async def _heartbeat_and_renew(self) -> None:
        ttl_s = self._settings.ttl_s
        held = self.ownership.held()
        started = self.ownership.now()
        async with self._db.write() as conn:
            if not await heartbeat(conn, self.name):
                await register_daemon(conn, self.name, host=self._host, pid=self._pid)
            await prune_daemons(conn, older_than_s=_PRUNE_AFTER_TTLS * ttl_s)
            reaped = await reap_dead_local_daemons(
                conn, me=self.name, host=self._host, is_alive=pid_alive
            )
            if reaped:
                self._log.info("took back the leases of crashed daemon(s) on this host: {}", reaped)
            await ensure_lease_rows(conn)
            renewed = await renew_leases(conn, self.name, held, ttl_s=ttl_s)
        self.ownership.record(renewed, started_mono=started)
        lost = set(held) - {lease.hotel_id for lease in renewed}
        if lost:
            self.ownership.drop(lost)
            self._log.warning("lost {} lease(s) to other daemons: {}", len(lost), sorted(lost))
        await self._changed()

    async def _census(self) -> tuple[set[int], int]:
        async with self._db.read() as conn:
            enabled = await enabled_hotel_ids(conn)
            live = await count_live_daemons(conn, ttl_s=self._settings.ttl_s)
        return enabled, live

    async def _release_surplus(self, enabled: set[int], quota: int) -> None:
        held = self.ownership.held()
        # A set: this runs every round over every lease held (1,000 hotels: a list made the
        # membership test below quadratic).
        keep = set(sorted(h for h in held if h in enabled)[:quota])
        surplus = {h: e for h, e in held.items() if h not in keep}
        if not surplus:
            return
        # Stop acting first (pollers finish what they are storing), then free the rows.
        self.ownership.drop(surplus)
        await self._changed()
        async with self._db.write() as conn:
            released = await release_leases(conn, self.name, surplus)
        self._log.info(
            "released {} lease(s) to balance (quota {}): {}", released, quota, sorted(surplus)
        )

    async def _claim_up_to(self, quota: int) -> None:
        want = quota - len(self.ownership.held())
        if want <= 0:
            return
        started = self.ownership.now()
        async with self._db.write() as conn:
            claimed = await claim_leases(conn, self.name, limit=want, ttl_s=self._settings.ttl_s)
        if claimed:
            self.ownership.record(claimed, started_mono=started)
            self._log.info(
                "claimed {} lease(s): {}", len(claimed), [lease.hotel_id for lease in claimed]
            )
            await self._changed()

    async def _report_sqlite_block(self, enabled: set[int]) -> None:
        if self.ownership.held() or not enabled:
            self._sqlite_blocked_by = None
            return
        async with self._db.read() as conn:
            others = await count_held_by_others(conn, self.name)
        if others and others != self._sqlite_blocked_by:
            self._log.warning(
                "SQLite: another daemon holds the hotels ({}); this daemon serves none until "
                "it stops or its leases expire. Several daemons need PostgreSQL.",
                ", ".join(f"{name}: {n}" for name, n in sorted(others.items())),
            )
        self._sqlite_blocked_by = others

    async def _changed(self) -> None:
        valid = self.ownership.valid_ids()
        fenced = (self._reported_valid - valid) & self.ownership.fenced_ids()
        if fenced:
            self._log.warning(
                "{} lease(s) not renewed in time: stopping their pollers now", len(fenced)
            )
        if valid != self._reported_valid:
            self._reported_valid = valid
            await self._on_change()
