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
    # Monotonic time of the last loop iteration of any kind (watchdog progress signal).
    last_progress: float = field(default_factory=time.monotonic)
    # Monotonic time until which the poller sleeps on purpose (backoff after an error); the
    # watchdog does not expect progress before then.
    quiet_until: float = 0.0

    def mark_ok(self) -> None:
        now = utcnow()
        self.last_poll_at = now
        self.last_ok_at = now
        self.consecutive_failures = 0
        self.healthy = True
        self.unhealthy_reason = None
        self.last_progress = time.monotonic()

    def mark_failure(self, error: str, *, fatal_reason: str | None = None) -> None:
        self.last_poll_at = utcnow()
        self.last_error = error
        self.consecutive_failures += 1
        self.last_progress = time.monotonic()
        if fatal_reason is not None:
            self.healthy = False
            self.unhealthy_reason = fatal_reason
