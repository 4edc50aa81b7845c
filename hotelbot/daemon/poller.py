"""One hotel's poll loop: receive -> commit durably -> delete, strictly in queue order.

Contract (at-least-once upstream, exactly-once in the database):
* A notification is deleted at Green API only after its row is committed.
* Receiving does not dequeue, so cancelling a receive (shutdown) loses nothing.
* A commit that fails leaves the item at the queue head; the next receive returns it again.
* A delete that fails is retried by receiving the same head again: the store is a no-op
  (unique key) and the delete is repeated. `{"result": false}` means already gone: done.
* An item that cannot be parsed is kept in dead_letters and deleted, so it never blocks.
  A response that is not even JSON is first received again (up to `malformed_retries`
  times): it is more likely damaged in transit than a bad notification.
* An item the database refuses is retried after a backoff and, after the writer's bounded
  number of attempts, dead-lettered and deleted (storage/ingest.py): nothing stalls a hotel.
  A queue head that keeps failing, or that survives deletion, marks the hotel unhealthy
  (`hotelbot status`, the STATUS line) until it moves.
Leases (several daemons): `may_poll()` is asked before every receive; False (lease lost or
self-fenced) ends the loop. A store rejected with LeaseLost also ends it, without deleting
upstream: the hotel's new owner receives the same item and stores it once.
Errors never escape `run()`: they are classified, logged without secrets or guest data (class
and a safe message, error_text.describe; the full text only at DEBUG) and backed off with full
jitter; 401/403 mark the hotel unhealthy and retry slowly without touching other hotels.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from loguru import logger
from prometheus_client import Counter

from hotelbot.crashpoints import crash_point
from hotelbot.daemon.health import HotelHealth
from hotelbot.domain.backoff import Backoff
from hotelbot.domain.inbound import Delivery, MalformedDelivery
from hotelbot.error_text import describe
from hotelbot.greenapi.client import GreenApiClient
from hotelbot.greenapi.errors import (
    BadResponse,
    ErrorClass,
    GreenApiError,
    InstanceNotReady,
    RateLimited,
)
from hotelbot.greenapi.retry import poll_policy
from hotelbot.observability import metrics
from hotelbot.redact import redact
from hotelbot.storage.ingest import IngestWriter, ItemNotStored, Stored, WriterClosed
from hotelbot.storage.leases import LeaseLost

# A queue head that failed this many times in a row makes the hotel unhealthy (shown by
# `hotelbot status` and the STATUS line) until it is stored or dead-lettered and deleted.
STUCK_HEAD_FAILURES = 3

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _TypeMetrics:
    received: Counter
    stored: Counter
    dead_lettered: Counter


class Step(StrEnum):
    EMPTY = "empty"
    STORED = "stored"
    DEAD_LETTERED = "dead_lettered"
    ALREADY_GONE = "already_gone"  # delete said "not found": fine, but not proof of health


class HotelPoller:
    """Polls one Green API instance. `run_once()` is one step; `run()` loops until `stop()`."""

    def __init__(
        self,
        hotel_id: int,
        slug: str,
        client: GreenApiClient,
        writer: IngestWriter,
        *,
        health: HotelHealth,
        backoff: Backoff | None = None,
        unhealthy_retry_s: float = 300.0,
        min_empty_poll_interval_s: float = 1.0,
        malformed_retries: int = 3,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        may_poll: Callable[[], bool] | None = None,
    ) -> None:
        self.hotel_id = hotel_id
        self.slug = slug
        self.client = client
        self._writer = writer
        self.health = health
        self._backoff = backoff or Backoff(poll_policy(0.5, 60.0).delay_s)
        self._unhealthy_retry_s = unhealthy_retry_s
        self._min_empty_interval_s = min_empty_poll_interval_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._log = logger.bind(hotel=slug)
        self._stopping = False
        self._in_receive = False
        self._cancel: Callable[[], None] | None = None
        self._malformed_retries = malformed_retries
        self._undeletable_receipt: int | None = None
        self._malformed_seen: dict[int, int] = {}
        self._may_poll = may_poll
        self.lease_lost = False
        # Metric children of this hotel, looked up once (the hot path only increments).
        self._last_ok_metric = metrics.POLL_LAST_SUCCESS.labels(slug)
        self._type_metrics: dict[str, _TypeMetrics] = {}

    def _metrics_for(self, entry: Delivery | MalformedDelivery) -> _TypeMetrics:
        kind = entry.type_webhook if isinstance(entry, Delivery) else "malformed"
        found = self._type_metrics.get(kind)
        if found is None:
            label = metrics.bounded(kind, metrics.NOTIFICATION_TYPES)
            found = _TypeMetrics(
                metrics.NOTIFICATIONS_RECEIVED.labels(self.slug, label),
                metrics.NOTIFICATIONS_STORED.labels(self.slug, label),
                metrics.NOTIFICATIONS_DEAD_LETTERED.labels(self.slug, label),
            )
            self._type_metrics[kind] = found
        return found

    def _mark_ok(self) -> None:
        self.health.mark_ok()
        self._last_ok_metric.set(time.time())

    async def run_once(self) -> Step:
        """Receive one item (long poll) and handle it. Raises GreenApiError or storage errors."""
        started = time.monotonic()
        self._in_receive = True
        try:
            entry = await self.client.receive_notification()
        finally:
            self._in_receive = False
        if entry is None:
            self._mark_ok()
            # A server answering "empty" instantly (misconfigured proxy, ignored
            # receiveTimeout) must not turn this loop into a hot loop.
            elapsed = time.monotonic() - started
            if elapsed < self._min_empty_interval_s:
                await self._sleep(self._min_empty_interval_s - elapsed)
            return Step.EMPTY
        available_at = time.perf_counter()
        counters = self._metrics_for(entry)
        counters.received.inc()
        self.health.note_head(entry.receipt_id)
        if isinstance(entry, MalformedDelivery):
            if entry.receipt_id is None:
                raise BadResponse("receiveNotification", f"unusable queue item: {entry.error}")
            if entry.retryable:
                seen = self._malformed_seen.get(entry.receipt_id, 0) + 1
                self._malformed_seen = {entry.receipt_id: seen}
                if seen < self._malformed_retries:
                    raise BadResponse("receiveNotification", f"damaged response ({entry.error})")
        if entry.receipt_id == self._undeletable_receipt:
            # We deleted this receipt and Green API said "not found", yet it is still the
            # head: repeating at full speed would be a hot loop. Back off instead.
            self._undeletable_receipt = None
            raise BadResponse(
                "deleteNotification", f"queue head {entry.receipt_id} survives deletion"
            )
        outcome = await self._writer.store(self.hotel_id, entry)
        committed_at = time.perf_counter()
        metrics.INGEST_COMMIT_LATENCY.observe(committed_at - available_at)
        crash_point("after_commit_before_delete")
        receipt_id = entry.receipt_id
        assert receipt_id is not None
        if not await self.client.delete_notification(receipt_id):
            self._undeletable_receipt = receipt_id  # already gone: fine, unless it comes back
            return Step.ALREADY_GONE
        metrics.INGEST_DELETE_LATENCY.observe(time.perf_counter() - committed_at)
        self._mark_ok()
        self.health.received_total += 1
        if outcome is Stored.DEAD_LETTERED:
            counters.dead_lettered.inc()
            self.health.note_dead_letter()
            reason = entry.error if isinstance(entry, MalformedDelivery) else "not storable"
            self._log.warning(
                "dead-lettered and deleted queue item receipt={} ({})", receipt_id, reason
            )
            return Step.DEAD_LETTERED
        counters.stored.inc()
        return Step.STORED

    def bind_cancel(self, cancel: Callable[[], None]) -> None:
        """How `stop()` interrupts a receive or a pause: the owner's cancel of the task that
        runs `run()` (daemon/tasks.py)."""
        self._cancel = cancel

    def stop(self) -> None:
        """Ask the loop to end. An in-flight receive is cancelled at once (safe: only delete
        dequeues); an item being stored/deleted is finished first."""
        self._stopping = True
        if self._in_receive and self._cancel is not None:
            self._cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run(self) -> None:
        self.health.polling = True
        # Until a first success: "not polled since the start of polling".
        self._last_ok_metric.set(time.time())
        try:
            while not self._stopping:
                if self._may_poll is not None and not self._may_poll():
                    self._log.info("lease no longer valid: poller stops")
                    self.lease_lost = True
                    return
                try:
                    if await self.run_once() is Step.ALREADY_GONE:
                        continue  # keep the backoff: a head that survives deletion must slow us
                    if self._backoff.failures:
                        self._log.info("recovered after {} failed attempts", self._backoff.failures)
                    self._backoff.reset()
                except asyncio.CancelledError:
                    if self._stopping:
                        return
                    raise
                except WriterClosed:
                    return
                except LeaseLost as exc:
                    # Another daemon serves this hotel now; the item stays upstream for it.
                    self._log.warning(
                        "store rejected, lease lost ({}): poller stops, nothing deleted",
                        "database fence" if exc.by_database else "self-fence",
                    )
                    self.lease_lost = True
                    return
                except Exception as exc:
                    delay = self._on_error(exc)
                    await self._pause(delay)
        finally:
            self.health.polling = False

    def _on_error(self, exc: Exception) -> float:
        if isinstance(exc, GreenApiError):
            if exc.error_class is ErrorClass.HOTEL_FATAL:
                delay = self._unhealthy_retry_s * self._rng.uniform(0.8, 1.2)
                reason = f"{type(exc).__name__}: {exc}"
                self.health.mark_failure(reason, fatal_reason=reason)
                self._log.error("hotel unhealthy: {}; retrying in {:.0f} s", reason, delay)
                return delay
            if isinstance(exc, RateLimited):
                delay = self._backoff.next_delay(exc.retry_after_s)
            elif isinstance(exc, InstanceNotReady):
                delay = self._backoff.next_delay(5.0)
            else:
                delay = self._backoff.next_delay()
            self._mark_failure(describe(exc))
            self._log.warning(
                "{}; attempt {}, next in {:.1f} s", describe(exc), self._backoff.failures, delay
            )
            return delay
        # Storage trouble (locked, disk full, PostgreSQL down), an item the database refuses
        # (ItemNotStored: dead-lettered after a few attempts) or a bug: nothing was deleted,
        # the item stays at the queue head; back off and try again. The exception's own text
        # may quote the item: only its description is logged above DEBUG.
        delay = self._backoff.next_delay()
        self._mark_failure(describe(exc))
        level = "WARNING" if isinstance(exc, ItemNotStored) else "ERROR"
        self._log.log(level, "poll step failed: {}; next attempt in {:.1f} s", describe(exc), delay)
        self._log.opt(exception=exc).debug("poll step failure detail: {}", redact(str(exc)))
        return delay

    def _mark_failure(self, error: str) -> None:
        """Record a failed step; a head that failed STUCK_HEAD_FAILURES times in a row makes
        the hotel unhealthy until it moves (mark_ok clears it)."""
        stuck = None
        if self.health.head_failures + 1 >= STUCK_HEAD_FAILURES and self.health.head_receipt:
            stuck = (
                f"queue head {self.health.head_receipt} failed "
                f"{self.health.head_failures + 1} times ({error})"
            )
        self.health.mark_failure(error, stuck_reason=stuck)

    async def _pause(self, delay_s: float) -> None:
        """Sleep, but wake up promptly when asked to stop."""
        self._in_receive = True  # a pause is as safe to cancel as a receive
        self.health.quiet_until = time.monotonic() + delay_s  # a deliberate pause is not a stall
        try:
            await self._sleep(delay_s)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        finally:
            self._in_receive = False
