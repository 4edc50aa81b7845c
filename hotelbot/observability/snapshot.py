"""The periodic snapshot: figures that live in the database or in slow-changing daemon state
(outbox depth and oldest due age per lane and hotel, instance states, lease ownership, the
LLM breaker), read every `interval_s` into gauges. One grouped query per table per round,
whatever the number of hotels, so the hot paths never pay for these figures."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from loguru import logger
from prometheus_client import Gauge

from hotelbot.domain.breaker import BreakerState
from hotelbot.domain.outbox import Lane
from hotelbot.observability import metrics
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import enabled_instance_states
from hotelbot.storage.leases import LeaseView
from hotelbot.storage.outbox import open_by_lane


@dataclass(frozen=True, slots=True)
class SnapshotSources:
    """Where the snapshot reads from. `polled()`: ids of the hotels this daemon polls now;
    `lease`: its lease view (None on a single-owner database); `breaker_state()`: the LLM
    breaker's state, or None without an LLM."""

    db: Database
    polled: Callable[[], Collection[int]]
    lease: LeaseView | None = None
    breaker_state: Callable[[], BreakerState | None] = lambda: None


class MetricsSnapshot:
    """`run()` refreshes the gauges until cancelled; `refresh()` is one round (idempotent,
    may run at any time; database errors are logged at DEBUG and the gauges keep their
    last values)."""

    def __init__(self, sources: SnapshotSources, *, interval_s: float = 15.0) -> None:
        self._sources = sources
        self._interval_s = interval_s
        self._known: dict[int, str] = {}  # hotel id -> slug, as of the last round
        self._states: dict[str, str] = {}  # slug -> the state label last exposed

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # the database may be briefly away: next round
                logger.debug("metrics snapshot failed: {}", type(exc).__name__)
            await asyncio.sleep(self._interval_s)

    async def refresh(self, now: datetime | None = None) -> None:
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        async with self._sources.db.read() as conn:
            hotels = await enabled_instance_states(conn)
            waiting = await open_by_lane(conn, now)
        slugs = {hotel_id: hotel.slug for hotel_id, hotel in hotels.items()}
        self._forget(set(self._known) - set(slugs))
        self._known = slugs
        for hotel in hotels.values():
            # One series per hotel, for its current state (not one per possible state: at
            # a thousand hotels that would be most of the scrape).
            current = metrics.instance_state_label(hotel.instance_state)
            previous = self._states.get(hotel.slug)
            if previous is not None and previous != current:
                _remove(metrics.INSTANCE_STATE, hotel.slug, previous)
            metrics.INSTANCE_STATE.labels(hotel.slug, current).set(1.0)
            self._states[hotel.slug] = current
        for hotel_id, slug in slugs.items():
            for lane in Lane:
                backlog = waiting.get((hotel_id, lane.value))
                depth = 0 if backlog is None else backlog.count
                oldest_due = None if backlog is None else backlog.oldest_due
                age_s = 0.0 if oldest_due is None else (now - _aware(oldest_due)).total_seconds()
                metrics.OUTBOX_DEPTH.labels(slug, lane.value).set(depth)
                metrics.OUTBOX_OLDEST_DUE_AGE.labels(slug, lane.value).set(max(0.0, age_s))
        self._ownership(slugs)
        self._breaker()
        metrics.SNAPSHOT_DURATION.set(time.perf_counter() - started)

    def _ownership(self, slugs: dict[int, str]) -> None:
        polled = set(self._sources.polled())
        lease = self._sources.lease
        for hotel_id, slug in slugs.items():
            held = hotel_id in polled
            metrics.LEASE_HELD.labels(slug).set(1.0 if held else 0.0)
            epoch = lease.epoch_of(hotel_id) if (lease is not None and held) else None
            if epoch is not None:
                metrics.LEASE_EPOCH.labels(slug).set(epoch)
            else:
                _remove(metrics.LEASE_EPOCH, slug)
            if not held:  # another daemon polls it (or nobody): its age is not ours to show
                _remove(metrics.POLL_LAST_SUCCESS, slug)

    def _breaker(self) -> None:
        state = self._sources.breaker_state()
        if state is None:
            return
        for name in BreakerState:
            metrics.LLM_BREAKER_STATE.labels(name.value).set(1.0 if name is state else 0.0)

    def _forget(self, gone: set[int]) -> None:
        """Hotels deleted or disabled since the last round: drop their series."""
        for hotel_id in gone:
            slug = self._known[hotel_id]
            state = self._states.pop(slug, None)
            if state is not None:
                _remove(metrics.INSTANCE_STATE, slug, state)
            for lane in Lane:
                _remove(metrics.OUTBOX_DEPTH, slug, lane.value)
                _remove(metrics.OUTBOX_OLDEST_DUE_AGE, slug, lane.value)
            for gauge in (metrics.LEASE_HELD, metrics.LEASE_EPOCH, metrics.POLL_LAST_SUCCESS):
                _remove(gauge, slug)


def _remove(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never set: nothing to drop
        gauge.remove(*labels)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
