"""Use case: run an outbox step's sends, and record what each came to.

An outbox step of one hotel (daemon/sender.py schedules it) is: claim the due rows (TX3,
committed before any call), send them one by one (no transaction), record every outcome in
one write transaction (TX4). This module holds the rule of the last two, once:

* `send_claimed`: the rows just claimed, in claim order (alert lane first, urgent first):
  before each send, the lease is checked again in memory (a frozen process must not send for
  a hotel another daemon took over) and a token of the row's lane taken; then the messenger
  sends and `decide` turns what it reports into the row's outcome. A hotel that cannot send
  (instance not authorized, quota) is held and the rest of its rows go back untouched.
* `decide`: what a send attempt means for its row (docs/architecture.md, TX4):
  accepted -> `sent`; surely not applied -> `pending` again after the lane's backoff
  (`failed` once its attempts are used up; a 429 also pauses every lane of the hotel);
  maybe applied -> `unknown`, settled by the echo or the journal and never resent blind;
  the instance cannot send -> back to `pending` without spending the attempt, hotel held;
  our request is wrong -> `failed`.
* `record_outcomes`: the outcomes written through `OutcomeLog`, each a compare-and-set on
  the row's state (an echo that marked the row `sent` meanwhile is never overwritten).
* `cancel_withdrawn`: in the claim's transaction, automated rows whose reason to be sent is
  gone (opt-out, cancelled stay, disabled trigger) are cancelled instead of sent.
* `settle_unknown_sends`: the ambiguous rows against the instance's outgoing journal, in a
  unit of work of the hotel: evidence -> `sent`; none in the lane's time -> sent again, or
  `failed` when every attempt was ambiguous (domain.outbox.settle_unknown).

What an attempt *was* (which HTTP answer means "surely not applied") is the messenger's
business (`greenapi/messenger.py`); pacing, holds and the lease view are the runtime's, seen
here through `StepGate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

from hotelbot.domain.outbox import (
    AUTOMATED_KINDS,
    Lane,
    LanePolicy,
    UnknownOutcome,
    settle_unknown,
)

if TYPE_CHECKING:
    from hotelbot.app.unit_of_work import UnitsOfWork


class ClaimedMessage(Protocol):
    """The fields of a claimed outbox row the send and its decision read."""

    @property
    def id(self) -> int: ...
    @property
    def hotel_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def lane(self) -> Lane: ...
    @property
    def chat_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def attempts(self) -> int:
        """Attempts so far, the one being made included (the claim counted it)."""
        ...

    @property
    def available_at(self) -> datetime: ...
    @property
    def file_url(self) -> str | None: ...
    @property
    def file_name(self) -> str | None: ...
    @property
    def quoted_message_id(self) -> str | None: ...


Claimed = TypeVar("Claimed", bound=ClaimedMessage)


class Attempt(StrEnum):
    """What became of one send request, as far as the messenger can tell."""

    ACCEPTED = "accepted"  # the message has an idMessage
    NOT_APPLIED = "not_applied"  # surely no effect: never left, 429, a 5xx other than 502/504
    MAYBE_APPLIED = "maybe_applied"  # may have reached the phone: timeout after sending, 502/504
    CANNOT_SEND = "cannot_send"  # the instance cannot send now (not authorized, quota)
    REJECTED = "rejected"  # our request is wrong: repeating it cannot help


@dataclass(frozen=True, slots=True)
class SendAttempt:
    """A messenger's report. `error`: one line for the row's last_error and the logs (no
    guest text); `retry_after_s`: the answer's Retry-After; `rate_limited`: a 429, the
    instance's own limit."""

    attempt: Attempt
    id_message: str | None = None
    error: str = ""
    retry_after_s: float | None = None
    rate_limited: bool = False


class Messenger(Protocol):
    """Sends one claimed row through the hotel's instance."""

    async def send(self, item: ClaimedMessage, *, timeout_s: float) -> SendAttempt:
        """Send `item` (a file by URL with `text` as its caption, else a text message,
        quoting `quoted_message_id` when set). Never raises: every failure is a report."""
        ...


class RetrySchedule(Protocol):
    """A lane's retry schedule (greenapi/retry.py `outbox_policy`)."""

    def exhausted(self, attempts: int) -> bool:
        """True when `attempts` attempts used the schedule up."""
        ...

    def delay_s(self, attempt: int, hint_s: float | None = None) -> float:
        """The wait after failed attempt number `attempt`; `hint_s` is a floor."""
        ...


class StepGate(Protocol):
    """What the runtime knows of the hotel during a step, in memory (no database)."""

    def still_held(self) -> bool:
        """This daemon still holds the hotel's lease at the epoch the claim was made under."""
        ...

    def take(self, lane: Lane) -> bool:
        """Take a token of the lane's bucket; False when it is empty (after a 429)."""
        ...

    def pause(self, retry_after_s: float | None) -> None:
        """The instance is rate limited: every lane of the hotel pauses (`retry_after_s`,
        else each lane's retry base)."""
        ...

    def hold(self, reason: str) -> None:
        """The hotel cannot send: hold its outbox for a while."""
        ...

    def observe(self, outcome: SendOutcome) -> None:
        """One row's outcome was decided (the runtime logs it)."""
        ...


class SendResult(StrEnum):
    """What a claimed row becomes (`SendReport` counts, metrics' `result` label)."""

    SENT = "sent"
    RETRY = "retry"
    UNKNOWN = "unknown"
    FAILED = "failed"
    GIVE_BACK = "held"  # not attempted: back to pending untouched (reported as "held")


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one claimed row's send came to; recorded with the step's others. `rejected`:
    failed because Green API refused the request itself (the runtime logs it as an error);
    `held`: the hotel was held by this attempt."""

    item: ClaimedMessage
    result: SendResult
    error: str | None = None
    id_message: str | None = None
    available_at: datetime | None = None
    rejected: bool = False
    held: bool = False


def decide(
    item: ClaimedMessage, sent: SendAttempt, *, retry: RetrySchedule, now: datetime
) -> SendOutcome:
    """The outcome of `item` after the attempt `sent` (module docstring). Pure."""
    match sent.attempt:
        case Attempt.ACCEPTED:
            return SendOutcome(item, SendResult.SENT, id_message=sent.id_message)
        case Attempt.NOT_APPLIED:
            if retry.exhausted(item.attempts):
                error = f"gave up after {item.attempts}: {sent.error}"
                return SendOutcome(item, SendResult.FAILED, error)
            delay_s = retry.delay_s(item.attempts, sent.retry_after_s)
            due = now + timedelta(seconds=delay_s)
            return SendOutcome(item, SendResult.RETRY, sent.error, available_at=due)
        case Attempt.CANNOT_SEND:
            return SendOutcome(item, SendResult.GIVE_BACK, sent.error, held=True)
        case Attempt.REJECTED:
            return SendOutcome(item, SendResult.FAILED, sent.error, rejected=True)
        case _:  # maybe applied: reconcile before any resend, never send blind
            return SendOutcome(item, SendResult.UNKNOWN, sent.error)


async def send_claimed(
    messenger: Messenger,
    gate: StepGate,
    claimed: Sequence[ClaimedMessage],
    *,
    policies: Mapping[Lane, LanePolicy],
    retries: Mapping[Lane, RetrySchedule],
    now: datetime,
) -> list[SendOutcome]:
    """Send the rows of one step's claim in their order and decide each one's outcome
    (module docstring); one outcome per row, none left out. Opens no transaction: the
    caller records the outcomes (`record_outcomes`) in one, also when this is cut short by
    nothing but its own rules (a lost lease or a hold gives the rest back)."""
    outcomes: list[SendOutcome] = []
    for index, item in enumerate(claimed):
        if not gate.still_held():
            # The lease ran out since the claim (this process was frozen or cut off):
            # another daemon may serve the hotel now. The unsent rows go back untouched;
            # no lease lock is held across the call.
            rest = claimed[index:]
            outcomes += [_give_back(o, "lease lost before sending") for o in rest]
            break
        # Claims never exceed the tokens, so this only fails after a 429 drained them.
        if not gate.take(item.lane):
            outcomes.append(_give_back(item, "rate limited: waiting"))
            continue
        sent = await messenger.send(item, timeout_s=policies[item.lane].send_timeout_s)
        if sent.rate_limited:
            gate.pause(sent.retry_after_s)
        outcome = decide(item, sent, retry=retries[item.lane], now=now)
        if outcome.held:
            gate.hold(sent.error)
        gate.observe(outcome)
        outcomes.append(outcome)
        if outcome.held:  # the hotel cannot send: nothing more this step
            outcomes += [_give_back(o, sent.error or "hotel held") for o in claimed[index + 1 :]]
            break
    return outcomes


def _give_back(item: ClaimedMessage, reason: str) -> SendOutcome:
    return SendOutcome(item, SendResult.GIVE_BACK, reason)


class OutcomeLog(Protocol):
    """The outbox rows' state changes after a send, in the caller's write transaction; each
    a compare-and-set on the row's state that changes nothing when the row moved on."""

    async def mark_sent(self, outbox_id: int, *, id_message: str, now: datetime) -> bool: ...

    async def mark_retry(
        self,
        outbox_id: int,
        *,
        available_at: datetime,
        error: str,
        now: datetime,
        count_attempt: bool = True,
    ) -> bool:
        """Back to pending, due at `available_at`; `count_attempt=False` gives the claim's
        attempt back."""
        ...

    async def mark_unknown(self, outbox_id: int, *, error: str, now: datetime) -> bool: ...

    async def mark_failed(self, outbox_id: int, *, error: str, now: datetime) -> bool: ...


async def record_outcomes(
    log: OutcomeLog, outcomes: Sequence[SendOutcome], *, now: datetime
) -> None:
    """Write a step's outcomes through `log`, in the caller's one transaction (the sender
    group-commits several hotels' steps). Idempotent: a row already moved on is left as it
    is."""
    for o in outcomes:
        item, error = o.item, o.error or ""
        if o.result is SendResult.SENT:
            assert o.id_message is not None
            await log.mark_sent(item.id, id_message=o.id_message, now=now)
        elif o.result is SendResult.RETRY:
            assert o.available_at is not None
            await log.mark_retry(item.id, available_at=o.available_at, error=error, now=now)
        elif o.result is SendResult.UNKNOWN:
            await log.mark_unknown(item.id, error=error, now=now)
        elif o.result is SendResult.FAILED:
            await log.mark_failed(item.id, error=error, now=now)
        else:  # not attempted: back to pending untouched (no attempt spent)
            await log.mark_retry(
                item.id, available_at=item.available_at, error=error, now=now, count_attempt=False
            )


# -- withdrawn before sending --------------------------------------------------------------


class Withdrawals(Protocol):
    """What may have changed since an automated message was decided, read in the claim's
    transaction; and its cancellation."""

    async def withdrawn(self, outbox_ids: Sequence[int]) -> Mapping[int, str]:
        """Rows of trigger fires that should no longer be sent (stay cancelled, trigger
        disabled), with why."""
        ...

    async def opted_out(self, hotel_id: int, chat_ids: Sequence[str]) -> set[str]:
        """Those of the hotel's chats whose guest opted out."""
        ...

    async def cancel(self, outbox_id: int, *, reason: str, now: datetime) -> bool:
        """Not sent and never will be (compare-and-set from pending/sending)."""
        ...


async def cancel_withdrawn(
    store: Withdrawals, claimed: dict[int, list[Claimed]], *, now: datetime
) -> dict[int, int]:
    """Automated messages may have waited hours (quiet hours, daily cap): in the claim's
    transaction, re-check what could have changed since they were decided, cancel those
    whose reason is gone (the guest opted out, the stay was cancelled, the trigger
    disabled) and drop them from `claimed` (hotel id -> claimed rows). Other kinds are
    never touched. Returns the number cancelled per hotel."""
    automated = [i for items in claimed.values() for i in items if i.kind in AUTOMATED_KINDS]
    if not automated:
        return {}
    withdrawn = await store.withdrawn([i.id for i in automated])
    cancelled: dict[int, int] = {}
    for hotel_id in sorted({i.hotel_id for i in automated}):
        items = claimed[hotel_id]
        chats = sorted({i.chat_id for i in items if i.kind in AUTOMATED_KINDS})
        opted_out = await store.opted_out(hotel_id, chats)
        ready: list[Claimed] = []
        for item in items:
            reason = withdrawn.get(item.id) if item.kind in AUTOMATED_KINDS else None
            if item.kind in AUTOMATED_KINDS and item.chat_id in opted_out:
                reason = "guest opted out"
            if reason is not None:
                await store.cancel(item.id, reason=reason, now=now)
                cancelled[hotel_id] = cancelled.get(hotel_id, 0) + 1
            else:
                ready.append(item)
        claimed[hotel_id] = ready
    return cancelled


# -- ambiguous sends ----------------------------------------------------------------------


class UnknownMessage(ClaimedMessage, Protocol):
    """An `unknown` row: a claimed message whose send may or may not have gone out."""

    @property
    def sending_started_at(self) -> datetime | None: ...


class JournalRecord(Protocol):
    """One entry of the instance's outgoing journal (lastOutgoingMessages): `text` the
    message or the file's caption, `file_name` set for a file, `timestamp` Unix seconds."""

    @property
    def id_message(self) -> str: ...
    @property
    def chat_id(self) -> str: ...
    @property
    def text(self) -> str | None: ...
    @property
    def file_name(self) -> str | None: ...
    @property
    def timestamp(self) -> float | None: ...


class UnknownSends(Protocol):
    """Settling `unknown` rows, in the unit's transaction; every change a compare-and-set
    from `unknown` (mark_sent also from `sent`: our own idMessage wins over an echo's)."""

    async def known_id_messages(self, hotel_id: int, ids: Sequence[str]) -> set[str]:
        """Which of these idMessages already belong to an outbox row of the hotel."""
        ...

    async def mark_sent(self, outbox_id: int, *, id_message: str, now: datetime) -> bool: ...

    async def resend(self, outbox_id: int, *, error: str, now: datetime) -> bool:
        """Back to pending, due now (no trace in time)."""
        ...

    async def give_up(self, outbox_id: int, *, error: str, now: datetime) -> bool:
        """`failed` (every attempt was ambiguous and left no trace)."""
        ...


def started(item: UnknownMessage) -> datetime:
    """When the row's (last) send began: the clock of its reconciliation."""
    return item.sending_started_at or item.available_at


def matches(entry: JournalRecord, item: ClaimedMessage, *, not_before_s: float) -> bool:
    """A journal entry is this outbox row's message: same chat, same text or the same file
    and caption, not older than the send."""
    if entry.chat_id != item.chat_id or entry.text != item.text:
        return False
    if entry.file_name != item.file_name:
        return False
    return entry.timestamp is not None and entry.timestamp >= not_before_s


async def settle_unknown_sends(
    units: UnitsOfWork,
    hotel_id: int,
    ripe: Sequence[UnknownMessage],
    journal: Sequence[JournalRecord],
    *,
    policies: Mapping[Lane, LanePolicy],
    clock_slack_s: float,
    now: datetime,
) -> dict[str, int]:
    """Settle the hotel's `unknown` rows that are due for the journal (`ripe`) against the
    `journal` just read, in one unit of work of the hotel (raises `LeaseLost` when not
    held: the new owner settles them). A row with an entry of the same chat and text (or
    file and caption), no earlier than its send started minus `clock_slack_s`, whose
    idMessage no other row owns, is `sent` ("reconciled"); one without, once its lane's
    `resend_after_s` old, goes back to pending ("requeued"), or is `failed` when its
    attempts are used up ("failed"); younger ones wait. Returns those counts. Idempotent."""
    counts: dict[str, int] = {}

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    async with units.begin({hotel_id}) as uow:
        store = uow.unknown_sends
        taken = await store.known_id_messages(hotel_id, [e.id_message for e in journal])
        for item in ripe:
            not_before_s = started(item).timestamp() - clock_slack_s
            match = next(
                (
                    e
                    for e in journal
                    if e.id_message not in taken and matches(e, item, not_before_s=not_before_s)
                ),
                None,
            )
            if match is not None:
                if await store.mark_sent(item.id, id_message=match.id_message, now=now):
                    taken.add(match.id_message)
                    count("reconciled")
                continue
            age_s = (now - started(item)).total_seconds()
            decision = settle_unknown(
                policies[item.lane], age_s=age_s, attempts=item.attempts, evidence=False
            )
            if decision is UnknownOutcome.GIVE_UP:
                # Every attempt ended ambiguous and left no trace: stop and show it.
                error = f"no trace at Green API after {item.attempts} ambiguous attempts"
                if await store.give_up(item.id, error=error, now=now):
                    count("failed")
            elif decision is UnknownOutcome.RESEND:
                error = "no trace of the message at Green API: sending again"
                if await store.resend(item.id, error=error, now=now):
                    count("requeued")
    return counts
