"""The named tenacity retry policies (greenapi/retry.py): which errors are repeated, how often,
and how long the waits are; against the fake Green API over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hotelbot.domain.backoff import Backoff
from hotelbot.domain.outbox import ALERT_POLICY, Lane
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.greenapi.client import REQUIRED_SETTINGS, GreenApiClient, InstanceCredentials
from hotelbot.greenapi.errors import ServerError, Unauthorized
from hotelbot.greenapi.retry import (
    INSTANCE_READ,
    JOURNAL_READ,
    SETTINGS_WRITE,
    RetryPolicy,
    outbox_policy,
    poll_policy,
)
from hotelbot.greenapi.transport import HttpxTransport

TOKEN = "tok-retry-7d1e"
INSTANCE = "1101000042"


class Rig:
    def __init__(self, fake: FakeGreenApi, instance: FakeInstance) -> None:
        self.fake = fake
        self.instance = instance
        self.transport = HttpxTransport(connect_timeout_s=2.0)

    def client(self, token: str = TOKEN) -> GreenApiClient:
        credentials = InstanceCredentials(self.fake.url, INSTANCE, token)
        return GreenApiClient(credentials, self.transport, request_timeout_s=3.0)

    def count(self, method: str) -> int:
        return self.instance.request_counts.get(method, 0)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with FakeGreenApi() as fake:
        rig = Rig(fake, fake.add_instance(INSTANCE, TOKEN))
        try:
            yield rig
        finally:
            await rig.transport.aclose()


async def test_instance_read_recovers_after_server_errors(rig: Rig) -> None:
    rig.instance.faults.fail_next(2, 500, methods=["getStateInstance"])
    assert await INSTANCE_READ.call(rig.client().get_state_instance) == "authorized"
    assert rig.count("getStateInstance") == 3


async def test_instance_read_gives_up_after_its_attempts(rig: Rig) -> None:
    rig.instance.faults.fail_next(10, 503, methods=["getSettings"])
    with pytest.raises(ServerError):
        await INSTANCE_READ.call(rig.client().get_settings)
    assert rig.count("getSettings") == INSTANCE_READ.max_attempts == 3


async def test_a_wrong_token_is_not_retried(rig: Rig) -> None:
    with pytest.raises(Unauthorized):
        await INSTANCE_READ.call(rig.client("wrong-token").get_state_instance)
    assert rig.count("getStateInstance") == 1


async def test_settings_write_is_not_repeated_when_it_may_have_been_applied(rig: Rig) -> None:
    rig.instance.faults.fail_next(1, 502, methods=["setSettings"])  # 502: maybe applied
    with pytest.raises(ServerError):
        await SETTINGS_WRITE.call(rig.client().set_settings, REQUIRED_SETTINGS)
    assert rig.count("setSettings") == 1
    rig.instance.faults.fail_next(1, 503, methods=["setSettings"])  # 503: surely not applied
    assert await SETTINGS_WRITE.call(rig.client().set_settings, REQUIRED_SETTINGS) is True
    assert rig.count("setSettings") == 3


async def test_journal_read_is_retried_once_after_a_rate_limit(rig: Rig) -> None:
    rig.instance.faults.rate_limit_next(1, methods=["lastOutgoingMessages"])
    assert await JOURNAL_READ.call(rig.client().last_outgoing_messages, minutes=5) == []
    assert rig.count("lastOutgoingMessages") == 2


def test_waits_are_full_jitter_between_half_the_base_and_the_doubling_ceiling() -> None:
    policy = RetryPolicy("t", base_s=1.0, max_s=8.0, max_attempts=None)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0), (500, 8.0)]:
        draws = [policy.delay_s(attempt) for _ in range(200)]
        assert all(0.5 <= d <= ceiling for d in draws), (attempt, min(draws), max(draws))
    # Jitter: hotels that failed together do not retry in lock step.
    assert len({round(policy.delay_s(4), 6) for _ in range(50)}) > 40


def test_a_server_hint_is_a_floor_and_is_capped() -> None:
    policy = RetryPolicy("t", base_s=1.0, max_s=8.0, max_attempts=None)
    assert all(policy.delay_s(1, 30.0) == 30.0 for _ in range(20))
    assert policy.delay_s(1, 86_400.0) == 600.0  # a broken Retry-After cannot park a hotel


def test_poll_loop_backoff_takes_its_waits_from_the_poll_policy() -> None:
    backoff = Backoff(poll_policy(0.2, 2.0).delay_s)
    delays = [backoff.next_delay() for _ in range(8)]
    assert backoff.failures == 8
    assert all(0.1 <= d <= 2.0 for d in delays)
    assert backoff.next_delay(5.0) == 5.0  # "instance not ready" hint
    backoff.reset()
    assert backoff.failures == 0 and backoff.next_delay() <= 0.2


def test_outbox_lane_schedule_follows_the_lane_policy() -> None:
    retry = outbox_policy(Lane.ALERT, ALERT_POLICY)
    assert retry.name == "outbox-alert"
    assert not retry.exhausted(ALERT_POLICY.max_attempts - 1)
    assert retry.exhausted(ALERT_POLICY.max_attempts)
    assert all(retry.delay_s(n) <= ALERT_POLICY.retry_max_s for n in range(1, 60))
    # A send that may have been applied (ambiguous 502) is not the schedule's to repeat.
    assert not retry.retry_on(ServerError("sendMessage", "HTTP 502", status=502))
    assert retry.retry_on(ServerError("sendMessage", "HTTP 500", status=500))


def test_policies_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy("t", base_s=1.0, max_s=2.0, max_attempts=0)
    with pytest.raises(ValueError, match="waits"):
        RetryPolicy("t", base_s=0.0, max_s=2.0, max_attempts=3)
