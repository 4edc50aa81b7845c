"""What the outbox holds and the rules the sender follows for it (pure: no I/O).

Every message hotelbot sends travels in one of three lanes, served in this order:

* `Lane.ALERT`: staff alerts, their follow-ups, escalations and reminders. The reason a hotel
  installs us; nothing else may delay them.
* `Lane.REQUESTED`: messages a person asked for: `hotelbot send`, STOP/START confirmations,
  answers to a guest's keyword or first message, answers from the hotel's facts.
* `Lane.AUTOMATED`: scheduled messages (welcomes, reminders). The hotel's pace governs them.

Each lane has its own pace (a token bucket per hotel and lane), so a burst of welcomes
cannot starve the alert lane and a flood of confirmations cannot starve the welcomes.

Ambiguous sends (the request may or may not have reached Green API: a read timeout, a
dropped connection, a 502/504) are settled per lane (`LanePolicy`): staff would rather read an
alert twice than read it minutes late, so the alert lane looks for evidence early and sends
again after `resend_after_s` (about 15 s) when there is none; a guest must never get the same
message twice, so the guest lanes wait `resend_after_s` = 180 s for the journal, which lags
up to two minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Lane(StrEnum):
    """The priority class of an outbox message (column `outbox.lane`)."""

    ALERT = "alert"
    REQUESTED = "requested"
    AUTOMATED = "automated"

    @property
    def staff_facing(self) -> bool:
        """True for messages to staff (alerts): a duplicate is better than a delay."""
        return self is Lane.ALERT


LANE_ORDER: tuple[Lane, ...] = (Lane.ALERT, Lane.REQUESTED, Lane.AUTOMATED)
"""The order in which a sender step serves the lanes."""


class OutboxKind(StrEnum):
    """What an outbox message is (column `outbox.kind`)."""

    ALERT = "alert"  # a staff alert or a cooldown follow-up
    ESCALATION = "escalation"  # an unacknowledged alert, to the escalation chat
    REMINDER = "reminder"  # an unacknowledged alert, again in the staff chat
    MANUAL = "manual"  # `hotelbot send`
    REPORT = "report"  # the manager's scheduled digest (`report_schedule`)
    OPTOUT = "optout"  # confirmation of STOP
    OPTIN = "optin"  # confirmation of START
    TRIGGER = "trigger"  # a trigger's message (scheduled, or an answer to a guest message)
    ANSWER = "answer"  # a guest's question answered from the hotel's facts (domain/facts.py)


_DEFAULT_LANE = {
    OutboxKind.ALERT: Lane.ALERT,
    OutboxKind.ESCALATION: Lane.ALERT,
    OutboxKind.REMINDER: Lane.ALERT,
    OutboxKind.MANUAL: Lane.REQUESTED,
    OutboxKind.REPORT: Lane.REQUESTED,
    OutboxKind.OPTOUT: Lane.REQUESTED,
    OutboxKind.OPTIN: Lane.REQUESTED,
    OutboxKind.TRIGGER: Lane.AUTOMATED,
    OutboxKind.ANSWER: Lane.REQUESTED,
}


def default_lane(kind: str) -> Lane:
    """The lane of a message of `kind` when its producer does not choose one. Unknown kinds
    are automated (the slowest lane: a new producer must opt in to priority)."""
    try:
        return _DEFAULT_LANE[OutboxKind(kind)]
    except ValueError:
        return Lane.AUTOMATED


AUTOMATED_KINDS: frozenset[OutboxKind] = frozenset({OutboxKind.TRIGGER})
"""Kinds re-checked before sending (opt-out, cancelled stay, disabled trigger) and counted
by the daily cap."""


class IllegalTransition(ValueError):
    """A state change the outbox life cycle does not allow (a bug in the caller)."""


class OutboxState(StrEnum):
    """Life cycle of an outbox row (column `outbox.state`):

    pending --claim--> sending --accepted--> sent
                          |--surely not applied--> pending (later) | failed (attempts used)
                          '--ambiguous--> unknown --evidence--> sent
                                                  '--no evidence in time--> pending (again)
    pending/sending --withdrawn--> cancelled
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    UNKNOWN = "unknown"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES

    def may_become(self, target: OutboxState) -> bool:
        """True when the life cycle allows moving from this state to `target`."""
        return target in TRANSITIONS[self]


FINAL_STATES: frozenset[OutboxState] = frozenset(
    {OutboxState.SENT, OutboxState.FAILED, OutboxState.CANCELLED}
)
"""No more sending or settling (a `sent` row may still learn it failed: TRANSITIONS)."""

OPEN_STATES: frozenset[OutboxState] = frozenset(
    {OutboxState.PENDING, OutboxState.SENDING, OutboxState.UNKNOWN}
)
"""Rows still to be sent or settled: the backlog."""

TRANSITIONS: dict[OutboxState, frozenset[OutboxState]] = {
    # claimed; withdrawn before sending; confirmed by an echo that carries its idMessage
    OutboxState.PENDING: frozenset({OutboxState.SENDING, OutboxState.CANCELLED, OutboxState.SENT}),
    # every outcome of a send, and a give-back (pending) when the hotel is held
    OutboxState.SENDING: frozenset(
        {
            OutboxState.SENT,
            OutboxState.PENDING,
            OutboxState.UNKNOWN,
            OutboxState.FAILED,
            OutboxState.CANCELLED,
        }
    ),
    # evidence found (echo, journal); no trace in time (sent again); attempts used up
    OutboxState.UNKNOWN: frozenset({OutboxState.SENT, OutboxState.PENDING, OutboxState.FAILED}),
    # our own idMessage overrides an echo that matched first (same state, new id); Green API
    # reports the message failed afterwards (status failed / noAccount)
    OutboxState.SENT: frozenset({OutboxState.SENT, OutboxState.FAILED}),
    OutboxState.FAILED: frozenset(),
    OutboxState.CANCELLED: frozenset(),
}


class DeliveryStatus(StrEnum):
    """What Green API reports of a message it accepted (outgoingMessageStatus; column
    `outbox.delivery_status`). Other values may arrive and are stored as they come."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    NO_ACCOUNT = "noAccount"
    NOT_IN_GROUP = "notInGroup"
    YELLOW_CARD = "yellowCard"


UNDELIVERABLE: frozenset[str] = frozenset({DeliveryStatus.FAILED, DeliveryStatus.NO_ACCOUNT})
"""Final delivery statuses: the message will never arrive, the outbox row becomes `failed`."""


_DELIVERY_RANK: dict[str, int] = {
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}


def delivery_status_changes(current: str | None, reported: str) -> bool:
    """Whether a reported status replaces the stored one. Monotonic: sent < delivered < read
    never goes backwards; failed/noAccount are final; a repeated status changes nothing."""
    if current == reported or current in UNDELIVERABLE:
        return False
    if reported in _DELIVERY_RANK and current in _DELIVERY_RANK:
        return _DELIVERY_RANK[reported] > _DELIVERY_RANK[current]
    return True


"""The allowed moves of the life cycle above; storage/outbox.py refuses any other."""


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """How one lane is paced and how its failures are retried and settled.

    `rate_per_s`/`burst`: the token bucket per hotel. `retry_base_s`/`retry_max_s`: the
    exponential backoff after a send that surely had no effect. `send_timeout_s`: the HTTP
    timeout of one sendMessage. `stale_sending_s`: a row left `sending` this long (a crash,
    a killed process) is treated as ambiguous; it must exceed `send_timeout_s`, so a send
    still in flight in a live process is never mistaken for a lost one.
    `reconcile_after_s`: an ambiguous row is first looked up in the outgoing journal this
    long after its send started. `resend_after_s`: with no evidence (echo, journal) by then
    it is sent again. `max_attempts`: ambiguous or failed attempts before it is `failed`.
    """

    rate_per_s: float
    burst: int
    retry_base_s: float
    retry_max_s: float
    send_timeout_s: float
    stale_sending_s: float
    reconcile_after_s: float
    resend_after_s: float
    max_attempts: int

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        if self.stale_sending_s <= self.send_timeout_s:
            raise ValueError("stale_sending_s must exceed send_timeout_s")
        if not 0 <= self.reconcile_after_s <= self.resend_after_s:
            raise ValueError("need 0 <= reconcile_after_s <= resend_after_s")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")


ALERT_POLICY = LanePolicy(
    rate_per_s=2.0,
    burst=10,
    retry_base_s=1.0,
    retry_max_s=15.0,
    send_timeout_s=5.0,
    stale_sending_s=10.0,
    reconcile_after_s=3.0,
    resend_after_s=15.0,
    max_attempts=40,  # about 10 minutes of retries at the capped backoff
)
REQUESTED_POLICY = LanePolicy(
    rate_per_s=1.0,
    burst=3,
    retry_base_s=5.0,
    retry_max_s=600.0,
    send_timeout_s=15.0,
    stale_sending_s=90.0,
    reconcile_after_s=15.0,
    resend_after_s=180.0,
    max_attempts=8,
)
AUTOMATED_POLICY = REQUESTED_POLICY

DEFAULT_POLICIES: dict[Lane, LanePolicy] = {
    Lane.ALERT: ALERT_POLICY,
    Lane.REQUESTED: REQUESTED_POLICY,
    Lane.AUTOMATED: AUTOMATED_POLICY,
}


class UnknownOutcome(StrEnum):
    """What to do with an ambiguous (`unknown`) row that has no evidence yet."""

    WAIT = "wait"  # look again later
    RESEND = "resend"  # no trace in time: back to pending, sent again
    GIVE_UP = "give_up"  # every attempt was ambiguous and left no trace: `failed`


def settle_unknown(
    policy: LanePolicy, *, age_s: float, attempts: int, evidence: bool
) -> UnknownOutcome | None:
    """The decision for an `unknown` row `age_s` after its send started. None when
    `evidence` (an echo or a journal entry) shows it was sent: mark it sent."""
    if evidence:
        return None
    if age_s < policy.resend_after_s:
        return UnknownOutcome.WAIT
    if attempts >= policy.max_attempts:
        return UnknownOutcome.GIVE_UP
    return UnknownOutcome.RESEND


def journal_due(policy: LanePolicy, age_s: float) -> bool:
    """True once an `unknown` row of this lane should be looked up in the journal."""
    return age_s >= policy.reconcile_after_s
