"""Exponential backoff with full jitter (pure; RNG injectable for tests)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before the next attempt: uniform(0, min(max_s, min_s * 2**failures)).

    Full jitter keeps many hotels that failed together (a Green API outage) from retrying in
    lock step. `hint_s` (e.g. Retry-After) is a floor. `reset()` after any success.
    """

    min_s: float = 0.5
    max_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self, hint_s: float | None = None) -> float:
        ceiling = min(self.max_s, self.min_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        # Never below min_s/2: a storm of instant errors must not turn into a hot loop.
        delay = max(self.min_s / 2, self.rng.uniform(0, ceiling))
        if hint_s is not None:
            delay = max(delay, min(hint_s, self.max_s * 10))
        return delay

    def reset(self) -> None:
        self.failures = 0
