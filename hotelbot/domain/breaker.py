"""A circuit breaker for one upstream: stop calling it while it is down, probe it now and then.

Pure and synchronous: no I/O, no sleeping, no logging. Time comes from an injected monotonic
clock, randomness from an injected `random.Random`, so tests drive it with a fake clock.

States:

* CLOSED: every call is allowed; `failure_threshold` consecutive failures open the circuit.
* OPEN: calls are refused until `opened_until` (the cooldown, shortened by up to 20% of jitter
  so many processes do not probe in lockstep).
* HALF_OPEN: the cooldown has passed; the next `allow()` admits exactly one probe call and
  refuses the rest until the probe reports. Success closes the circuit and resets the
  cooldown; failure re-opens it with the cooldown doubled, up to `max_cooldown_s`.

Not thread-safe; meant for one asyncio event loop (no awaits inside, so no interleaving).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import StrEnum

_JITTER_FRACTION = 0.2  # an opened circuit waits between 80% and 100% of its cooldown


class CircuitOpenError(Exception):
    """Raised by adapters that refuse a call because their circuit is open (nothing was sent).

    Adapters usually mix it into their own error type, so callers can tell "skipped" from
    "tried and failed" without importing the adapter.
    """


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure circuit breaker with a doubling, jittered, capped cooldown.

    Callers ask `allow()` before each call and report the outcome with exactly one of
    `record_success()`, `record_failure()` or `record_abandoned()` (the call was cancelled
    before it had an outcome). Reports may arrive late and out of order: a failure that
    arrives while the circuit is already open is ignored, so a burst of stragglers from
    before the opening does not inflate the cooldown.
    """

    def __init__(
        self,
        failure_threshold: int,
        cooldown_s: float,
        max_cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if cooldown_s <= 0 or max_cooldown_s < cooldown_s:
            raise ValueError("need 0 < cooldown_s <= max_cooldown_s")
        self._failure_threshold = failure_threshold
        self._base_cooldown_s = cooldown_s
        self._max_cooldown_s = max_cooldown_s
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._cooldown_s = cooldown_s  # the next opening's cooldown (doubles on failed probes)
        self._opened_until: float | None = None
        self._probe_in_flight = False
        self._times_opened = 0

    @property
    def state(self) -> BreakerState:
        """Current state; OPEN turns into HALF_OPEN by itself once the cooldown has passed."""
        self._refresh()
        return self._state

    @property
    def opened_until(self) -> float | None:
        """Clock reading at which an open circuit admits a probe; None unless OPEN."""
        self._refresh()
        return self._opened_until if self._state is BreakerState.OPEN else None

    @property
    def remaining_cooldown_s(self) -> float:
        """Seconds until an open circuit admits a probe; 0.0 unless OPEN."""
        until = self.opened_until
        return max(0.0, until - self._clock()) if until is not None else 0.0

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    @property
    def times_opened(self) -> int:
        """How many times the circuit went from CLOSED or HALF_OPEN to OPEN (for STATUS)."""
        return self._times_opened

    def allow(self) -> bool:
        """May a call go out now? In HALF_OPEN, True exactly once until the probe reports."""
        self._refresh()
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        """The upstream answered properly: close the circuit and forget past failures."""
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._cooldown_s = self._base_cooldown_s
        self._opened_until = None
        self._probe_in_flight = False

    def record_failure(self) -> None:
        """The upstream failed (outage-class error). May open or re-open the circuit."""
        self._refresh()
        if self._state is BreakerState.OPEN:
            return  # a straggler from before the opening; the circuit already knows
        self._consecutive_failures += 1
        if self._state is BreakerState.HALF_OPEN:
            # the probe failed: wait longer this time
            self._cooldown_s = min(self._cooldown_s * 2, self._max_cooldown_s)
            self._open()
        elif self._consecutive_failures >= self._failure_threshold:
            self._open()

    def record_abandoned(self) -> None:
        """The call was cancelled before it had an outcome; a held probe slot is released."""
        if self._state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False

    def _open(self) -> None:
        jitter = 1.0 - _JITTER_FRACTION * self._rng.random()
        self._state = BreakerState.OPEN
        self._opened_until = self._clock() + self._cooldown_s * jitter
        self._probe_in_flight = False
        self._times_opened += 1

    def _refresh(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._opened_until is not None
            and self._clock() >= self._opened_until
        ):
            self._state = BreakerState.HALF_OPEN
            self._probe_in_flight = False
