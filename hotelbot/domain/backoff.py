"""A loop's consecutive failures and the wait before its next attempt (pure).

The wait itself is a policy (greenapi/retry.py: exponential with full jitter, a server hint
as a floor), injected as `delay_for`, so a loop that classifies its own errors (the poller)
and the one-shot calls share the same named wait objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DelayFor = Callable[[int, float | None], float]
"""(attempt number, 1 = first failure; server hint such as Retry-After, or None) -> seconds."""


@dataclass
class Backoff:
    """Counts consecutive failures; `next_delay()` after each one, `reset()` after any
    success (the next failure waits the shortest time again)."""

    delay_for: DelayFor
    failures: int = 0

    def next_delay(self, hint_s: float | None = None) -> float:
        self.failures += 1
        return self.delay_for(self.failures, hint_s)

    def reset(self) -> None:
        self.failures = 0
