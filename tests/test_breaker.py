"""CircuitBreaker state machine, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import random

import pytest

from hotelbot.domain.breaker import BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


def state_of(breaker: CircuitBreaker) -> BreakerState:
    # a function call, so mypy does not narrow the property across state changes
    return breaker.state


def make_breaker(
    clock: FakeClock, threshold: int = 3, cooldown_s: float = 10.0, cap_s: float = 35.0
) -> CircuitBreaker:
    return CircuitBreaker(threshold, cooldown_s, cap_s, clock=clock, rng=random.Random(7))


def test_stays_closed_below_threshold_and_success_resets_the_count() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.allow()
    assert breaker.consecutive_failures == 2


def test_opens_after_threshold_and_refuses_until_cooldown() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    assert state_of(breaker) is BreakerState.OPEN
    until = breaker.opened_until
    assert until is not None
    # jitter only shortens the cooldown, by at most 20%
    assert clock.now_s + 8.0 <= until <= clock.now_s + 10.0
    assert breaker.remaining_cooldown_s == until - clock.now_s
    clock.advance(7.9)
    assert not breaker.allow()
    assert breaker.times_opened == 1


def test_half_open_admits_exactly_one_probe_and_success_closes() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10.0)
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert breaker.opened_until is None
    assert breaker.allow()
    assert not breaker.allow()  # the probe is in flight
    breaker.record_success()
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.allow() and breaker.allow()


def test_failed_probe_doubles_cooldown_up_to_the_cap() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, cooldown_s=10.0, cap_s=35.0)
    for _ in range(3):
        breaker.record_failure()
    waits = []
    for _ in range(4):
        until = breaker.opened_until
        assert until is not None
        waits.append(until - clock.now_s)
        clock.now_s = until
        assert breaker.allow()
        breaker.record_failure()
    nominal = [10.0, 20.0, 35.0, 35.0]
    for wait, cap in zip(waits, nominal, strict=True):
        assert 0.8 * cap <= wait <= cap


def test_success_after_reopen_resets_cooldown_to_base() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record_failure()  # cooldown now 20 s
    clock.advance(20.0)
    assert breaker.allow()
    breaker.record_success()
    for _ in range(3):
        breaker.record_failure()
    until = breaker.opened_until
    assert until is not None
    assert until - clock.now_s <= 10.0


def test_stragglers_failing_while_open_do_not_extend_the_cooldown() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    until = breaker.opened_until
    for _ in range(10):
        breaker.record_failure()
    assert breaker.opened_until == until


def test_abandoned_probe_releases_the_slot() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10.0)
    assert breaker.allow()
    assert not breaker.allow()
    breaker.record_abandoned()
    assert breaker.allow()


def test_abandoned_call_while_closed_changes_nothing() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    breaker.record_failure()
    breaker.record_abandoned()
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.consecutive_failures == 1


@pytest.mark.parametrize(
    ("threshold", "cooldown_s", "cap_s"), [(0, 1.0, 2.0), (1, 0.0, 1.0), (1, 5.0, 4.0)]
)
def test_rejects_nonsense_parameters(threshold: int, cooldown_s: float, cap_s: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold, cooldown_s, cap_s)
