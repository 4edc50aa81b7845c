"""A token bucket on an injected clock (pure: the caller passes the time in seconds).

Used per hotel to pace sends: `rate_per_s` sustained, `burst` at most at once. It never
sleeps; callers ask how many tokens are available now and spend them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = field(default=-1.0)
    updated_s: float | None = None

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def _refill(self, now_s: float) -> None:
        if self.updated_s is not None and now_s > self.updated_s:
            self.tokens = min(self.burst, self.tokens + (now_s - self.updated_s) * self.rate_per_s)
        if self.updated_s is None or now_s > self.updated_s:
            self.updated_s = now_s

    def available(self, now_s: float) -> int:
        """Whole tokens available at `now_s`."""
        self._refill(now_s)
        return int(self.tokens)

    def take(self, now_s: float, n: int = 1) -> bool:
        """Spend n tokens if available; False (nothing spent) otherwise."""
        self._refill(now_s)
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False

    def drain_until(self, now_s: float, pause_s: float) -> None:
        """Empty the bucket so that exactly one token is available `pause_s` from now (a
        429's Retry-After)."""
        self._refill(now_s)
        self.tokens = min(self.tokens, 1.0 - pause_s * self.rate_per_s)
        self.updated_s = now_s
