"""Named retry policies for Green API calls, built on tenacity.

One `RetryPolicy` says, for one kind of call, which errors are worth another attempt
(`retry_if` on the error classes of errors.py), how long to wait (exponential with full
jitter: a uniform draw below a doubling ceiling, so hotels that failed together do not retry
in lock step; never below half the base, so a storm of instant errors is not a hot loop; a
server's Retry-After is a floor) and when to stop (attempts and, for one-shot calls, a total
time budget).

Two ways to use a policy:
* `await policy.call(fn, ...)` runs a one-shot call under tenacity (hotel check, doctor,
  the outgoing journal): the last error is re-raised unchanged when the policy gives up;
* `policy.delay_s(attempt)` draws the wait of a retry that is *scheduled* rather than slept
  (an outbox row's `available_at`, the poll loop's pause): those loops keep their own error
  classification, the waits come from the same objects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    stop_never,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from hotelbot.domain.outbox import Lane, LanePolicy
from hotelbot.greenapi.errors import (
    BadResponse,
    NetworkError,
    RateLimited,
    ServerError,
)

P = ParamSpec("P")
T = TypeVar("T")

# A Retry-After longer than this is treated as this (a broken proxy must not park a hotel
# for a day); it is still a floor for the jittered wait.
MAX_HINT_S = 600.0


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt of an idempotent call (a read): no answer, 5xx, 429, or an
    answer we could not read. 401/403/466 and other 4xx are not: only an operator fixes them."""
    return isinstance(exc, NetworkError | ServerError | RateLimited | BadResponse)


def surely_not_applied(exc: BaseException) -> bool:
    """Worth another attempt of a call that is NOT idempotent: the request surely had no
    effect (it never left, a 429, or a 5xx other than the ambiguous 502/504)."""
    if isinstance(exc, NetworkError):
        return not exc.request_sent
    if isinstance(exc, ServerError):
        return not exc.maybe_applied
    return isinstance(exc, RateLimited)


def _hint_s(exc: BaseException | None) -> float | None:
    return exc.retry_after_s if isinstance(exc, RateLimited) else None


class FullJitter(wait_base):
    """tenacity wait: uniform(base_s / 2, min(max_s, base_s * 2**(attempt - 1))), raised to
    a RateLimited error's Retry-After (capped at MAX_HINT_S)."""

    def __init__(self, base_s: float, max_s: float) -> None:
        self.base_s = base_s
        self.max_s = max(max_s, base_s)
        self._jitter = wait_random_exponential(multiplier=base_s, max=self.max_s, min=base_s / 2)

    def draw(self, attempt: int, hint_s: float | None = None) -> float:
        """The wait after failed attempt number `attempt` (1 = the first failure)."""
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = max(1, min(attempt, 64))  # 2**64 s is "the cap" already
        delay = float(self._jitter(state))
        if hint_s is not None and hint_s > 0:
            delay = max(delay, min(hint_s, MAX_HINT_S))
        return delay

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        return self.draw(retry_state.attempt_number, _hint_s(exc))


@dataclass(frozen=True)
class RetryPolicy:
    """A named retry policy. `max_attempts` counts the first try (1 = never retry); None =
    no attempt limit (loops that stop on their own). `deadline_s` bounds a one-shot call's
    attempts and waits together (the attempt running at the deadline is not cut short)."""

    name: str
    base_s: float
    max_s: float
    max_attempts: int | None
    retry_on: Callable[[BaseException], bool] = is_transient
    deadline_s: float | None = None
    wait: FullJitter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.max_s <= 0:
            raise ValueError(f"{self.name}: waits must be > 0")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"{self.name}: max_attempts must be >= 1")
        object.__setattr__(self, "wait", FullJitter(self.base_s, self.max_s))

    def delay_s(self, attempt: int, hint_s: float | None = None) -> float:
        """The wait after failed attempt number `attempt` (1 = first failure). Pure apart
        from the random draw; never raises."""
        return self.wait.draw(attempt, hint_s)

    def exhausted(self, attempts: int) -> bool:
        """True when `attempts` attempts already used up the policy."""
        return self.max_attempts is not None and attempts >= self.max_attempts

    def _stop(self) -> stop_base:
        stop: stop_base = stop_never
        if self.max_attempts is not None:
            stop = stop_after_attempt(self.max_attempts)
        if self.deadline_s is not None:
            stop = stop | stop_after_delay(self.deadline_s)
        return stop

    def retrying(self, *, sleep: Callable[[float], Awaitable[None]] | None = None) -> AsyncRetrying:
        """A tenacity controller for this policy; the final error is re-raised as is."""
        kwargs = {} if sleep is None else {"sleep": sleep}
        return AsyncRetrying(
            stop=self._stop(),
            wait=self.wait,
            retry=retry_if_exception(self.retry_on),
            reraise=True,
            **kwargs,  # type: ignore[arg-type]
        )

    async def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`await fn(*args, **kwargs)` under this policy. Raises what the last attempt
        raised. Only for calls safe to repeat under `retry_on`."""
        return await self.retrying()(fn, *args, **kwargs)


# -- the named policies -------------------------------------------------------------------------

INSTANCE_READ = RetryPolicy("instance-read", base_s=0.5, max_s=4.0, max_attempts=3, deadline_s=20)
"""getStateInstance / getSettings for `hotel check` and `doctor`: an operator is waiting, so
a few quick attempts, then the error is shown."""

SETTINGS_WRITE = RetryPolicy(
    "settings-write",
    base_s=1.0,
    max_s=4.0,
    max_attempts=3,
    retry_on=surely_not_applied,
    deadline_s=20,
)
"""setSettings restarts the instance: repeated only when the request surely had no effect."""

JOURNAL_READ = RetryPolicy("journal-read", base_s=1.0, max_s=2.0, max_attempts=2, deadline_s=4)
"""lastOutgoingMessages from the sender: Green API allows one call per second, and the
sender's step waits for it, so one more attempt at most; the next step tries again anyway."""


def outbox_policy(lane: Lane, policy: LanePolicy) -> RetryPolicy:
    """The retry schedule of one outbox lane: a send that surely had no effect is due again
    after `delay_s(attempts)`; after `max_attempts` the row is `failed`. The sender keeps
    its own classification of outcomes (sent / retry / unknown / held / failed)."""
    return RetryPolicy(
        f"outbox-{lane.value}",
        base_s=policy.retry_base_s,
        max_s=policy.retry_max_s,
        max_attempts=policy.max_attempts,
        retry_on=surely_not_applied,
    )


def poll_policy(min_s: float, max_s: float) -> RetryPolicy:
    """The poll loop's waits ([greenapi] backoff_min_s/backoff_max_s). No attempt limit:
    the loop never gives up on a hotel; it classifies errors itself (daemon/poller.py)."""
    return RetryPolicy("poll", base_s=min_s, max_s=max_s, max_attempts=None)
