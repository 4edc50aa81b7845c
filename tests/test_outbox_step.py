"""The use case of an outbox step's sends (app/outbox_step.py), on its own: what each kind
of attempt makes of the row, and the step's order rules (lease self-fence before every
send, a hold gives the rest back). The messenger and the gate are small implementations of
the use case's protocols; the whole path over real HTTP and databases is tests/test_sender.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from hotelbot.app.outbox_step import (
    Attempt,
    ClaimedMessage,
    SendAttempt,
    SendOutcome,
    SendResult,
    cancel_withdrawn,
    decide,
    send_claimed,
)
from hotelbot.domain.outbox import DEFAULT_POLICIES, Lane
from hotelbot.greenapi.retry import outbox_policy
from hotelbot.storage.outbox import OutboxItem

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
RETRIES = {lane: outbox_policy(lane, p) for lane, p in DEFAULT_POLICIES.items()}


def _item(item_id: int, *, attempts: int = 1, lane: Lane = Lane.REQUESTED) -> OutboxItem:
    return OutboxItem(
        id=item_id,
        hotel_id=1,
        kind="manual",
        chat_id="37120000001@c.us",
        text="hello",
        state="sending",
        attempts=attempts,
        available_at=NOW,
        sending_started_at=NOW,
        id_message=None,
        last_error=None,
        delivery_status=None,
        created_at=NOW,
        lane=lane,
    )


@pytest.mark.parametrize(
    ("attempt", "result"),
    [
        (SendAttempt(Attempt.ACCEPTED, id_message="M1"), SendResult.SENT),
        (SendAttempt(Attempt.NOT_APPLIED, error="500"), SendResult.RETRY),
        (SendAttempt(Attempt.MAYBE_APPLIED, error="504"), SendResult.UNKNOWN),
        (SendAttempt(Attempt.CANNOT_SEND, error="401"), SendResult.GIVE_BACK),
        (SendAttempt(Attempt.REJECTED, error="400"), SendResult.FAILED),
    ],
)
def test_each_attempt_decides_the_row(attempt: SendAttempt, result: SendResult) -> None:
    outcome = decide(_item(1), attempt, retry=RETRIES[Lane.REQUESTED], now=NOW)
    assert outcome.result is result
    assert outcome.held is (attempt.attempt is Attempt.CANNOT_SEND)
    assert outcome.rejected is (attempt.attempt is Attempt.REJECTED)


def test_a_retry_waits_at_least_the_retry_after_and_gives_up_when_attempts_are_used() -> None:
    limited = SendAttempt(Attempt.NOT_APPLIED, error="429", retry_after_s=30, rate_limited=True)
    retry = decide(_item(1), limited, retry=RETRIES[Lane.REQUESTED], now=NOW)
    assert retry.result is SendResult.RETRY and retry.available_at is not None
    assert retry.available_at >= NOW + timedelta(seconds=30)
    last = DEFAULT_POLICIES[Lane.REQUESTED].max_attempts
    given_up = decide(_item(1, attempts=last), limited, retry=RETRIES[Lane.REQUESTED], now=NOW)
    assert given_up.result is SendResult.FAILED and given_up.error == f"gave up after {last}: 429"


@dataclass
class _Messenger:
    answers: list[SendAttempt]
    sent: list[int] = field(default_factory=list)

    async def send(self, item: ClaimedMessage, *, timeout_s: float) -> SendAttempt:
        self.sent.append(item.id)
        return self.answers.pop(0)


@dataclass
class _Gate:
    held_for: int = 99  # sends before the lease is found lost
    tokens: int = 99
    paused: list[float | None] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)
    seen: list[SendOutcome] = field(default_factory=list)

    def still_held(self) -> bool:
        self.held_for -= 1
        return self.held_for >= 0

    def take(self, lane: Lane) -> bool:
        self.tokens -= 1
        return self.tokens >= 0

    def pause(self, retry_after_s: float | None) -> None:
        self.paused.append(retry_after_s)

    def hold(self, reason: str) -> None:
        self.holds.append(reason)

    def observe(self, outcome: SendOutcome) -> None:
        self.seen.append(outcome)


async def _step(messenger: _Messenger, gate: _Gate, n: int) -> list[SendOutcome]:
    items = [_item(i) for i in range(1, n + 1)]
    return await send_claimed(
        messenger, gate, items, policies=DEFAULT_POLICIES, retries=RETRIES, now=NOW
    )


async def test_a_hold_gives_the_rest_back_unsent() -> None:
    messenger = _Messenger(
        [
            SendAttempt(Attempt.ACCEPTED, id_message="M1"),
            SendAttempt(Attempt.CANNOT_SEND, error="401"),
        ]
    )
    gate = _Gate()
    outcomes = await _step(messenger, gate, 4)
    assert messenger.sent == [1, 2]
    assert [o.result for o in outcomes] == [SendResult.SENT, *[SendResult.GIVE_BACK] * 3]
    assert [o.error for o in outcomes[1:]] == ["401"] * 3 and gate.holds == ["401"]


async def test_a_lease_lost_mid_step_sends_nothing_more() -> None:
    messenger = _Messenger([SendAttempt(Attempt.ACCEPTED, id_message="M1")])
    outcomes = await _step(messenger, _Gate(held_for=1), 3)
    assert messenger.sent == [1]
    assert [o.error for o in outcomes[1:]] == ["lease lost before sending"] * 2
    assert len(outcomes) == 3


async def test_a_429_pauses_every_lane_and_an_empty_bucket_gives_back() -> None:
    limited = SendAttempt(Attempt.NOT_APPLIED, error="429", retry_after_s=7, rate_limited=True)
    messenger = _Messenger([limited])
    gate = _Gate(tokens=1)
    outcomes = await _step(messenger, gate, 2)
    assert gate.paused == [7] and messenger.sent == [1]
    assert [o.result for o in outcomes] == [SendResult.RETRY, SendResult.GIVE_BACK]
    assert outcomes[1].error == "rate limited: waiting"


@dataclass
class _Withdrawals:
    reasons: dict[int, str]
    opted: set[str]
    cancelled: dict[int, str] = field(default_factory=dict)

    async def withdrawn(self, outbox_ids: Sequence[int]) -> dict[int, str]:
        return {i: r for i, r in self.reasons.items() if i in outbox_ids}

    async def opted_out(self, hotel_id: int, chat_ids: Sequence[str]) -> set[str]:
        return self.opted & set(chat_ids)

    async def cancel(self, outbox_id: int, *, reason: str, now: datetime) -> bool:
        self.cancelled[outbox_id] = reason
        return True


async def test_only_automated_rows_are_withdrawn_before_sending() -> None:
    trigger, disabled, manual = _item(1), _item(2), _item(3)
    claimed = {
        1: [
            replace(trigger, kind="trigger"),
            replace(disabled, kind="trigger", chat_id="37120000002@c.us"),
            manual,
        ],
    }
    store = _Withdrawals({2: "trigger disabled", 3: "not a trigger fire"}, {manual.chat_id})
    assert await cancel_withdrawn(store, claimed, now=NOW) == {1: 2}
    # The opted-out guest's trigger message goes, the manual message to them is sent.
    assert store.cancelled == {1: "guest opted out", 2: "trigger disabled"}
    assert [i.id for i in claimed[1]] == [3]
