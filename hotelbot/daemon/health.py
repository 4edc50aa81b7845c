"""In-memory health of each hotel's poller, for STATUS lines, the watchdog and `hotelbot status`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from hotelbot.storage.types import utcnow


@dataclass
class HotelHealth:
    hotel_id: int
    slug: str
    polling: bool = False
    healthy: bool = True
    unhealthy_reason: str | None = None
    last_error: str | None = None
    last_poll_at: datetime | None = None
    last_ok_at: datetime | None = None
    received_total: int = 0
    consecutive_failures: int = 0
    # The receipt id of the queue head last received, and how many steps failed on it in a
    # row: a head that keeps failing makes the hotel unhealthy (it stalls the queue).
    head_receipt: int | None = None
    head_failures: int = 0
    stuck_reason: str | None = None
    # Queue items dead-lettered (and deleted) in this run.
    dead_lettered_total: int = 0
    last_dead_letter_at: datetime | None = None
    # Monotonic time of the last loop iteration of any kind (watchdog progress signal).
    last_progress: float = field(default_factory=time.monotonic)
    # Monotonic time until which the poller sleeps on purpose (backoff after an error); the
    # watchdog does not expect progress before then.
    quiet_until: float = 0.0

    def note_head(self, receipt_id: int | None) -> None:
        """The queue head just received: a new head resets the count of its failures."""
        if receipt_id != self.head_receipt:
            self.head_receipt = receipt_id
            self.head_failures = 0

    def note_dead_letter(self) -> None:
        self.dead_lettered_total += 1
        self.last_dead_letter_at = utcnow()

    def mark_ok(self) -> None:
        now = utcnow()
        self.last_poll_at = now
        self.last_ok_at = now
        self.consecutive_failures = 0
        self.head_failures = 0
        self.head_receipt = None
        self.healthy = True
        self.unhealthy_reason = None
        self.stuck_reason = None
        self.last_progress = time.monotonic()

    def mark_failure(
        self, error: str, *, fatal_reason: str | None = None, stuck_reason: str | None = None
    ) -> None:
        """A failed step. `fatal_reason`: the hotel cannot work until an operator acts;
        `stuck_reason`: its queue head keeps failing. Both make it unhealthy until mark_ok."""
        self.last_poll_at = utcnow()
        self.last_error = error
        self.consecutive_failures += 1
        if self.head_receipt is not None:
            self.head_failures += 1
        self.last_progress = time.monotonic()
        reason = fatal_reason or stuck_reason
        if reason is not None:
            self.healthy = False
            self.unhealthy_reason = reason
            self.stuck_reason = stuck_reason
