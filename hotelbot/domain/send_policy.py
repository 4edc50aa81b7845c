"""The single decision for one automated guest message: send now, defer, or skip.

`decide` is pure. The caller (the fire loop / outbox producer) acts on the result:

* `Send(at)`: enqueue now (`at` == now).
* `Defer(until, reason)`: do nothing now; call `decide` again at `until` **with
  `scheduled_for_utc=until`**. Deferral therefore never eats into the grace period: a
  message held by quiet hours from 23:00 to 09:00 is sent at 09:00, not skipped as late.
  `until` is always later than `now_utc`.
* `Skip(reason)`: record the outcome (e.g. in the fire log) and never send this fire.

Rules, first match wins:

1. cancelled stay -> skip `cancelled` (except a message about the cancellation itself,
   `about_cancellation`);
2. guest opted out -> skip `opted_out`;
3. a welcome-like message once the guest has checked out (status `checked_out`, or now at or
   after the check-out instant) -> skip `after_checkout`;
4. not yet due (now < scheduled_for) -> defer to `scheduled_for` (`not_due`);
5. more than `grace_s` late -> skip `missed` (a 09:00 "good morning" is not sent at 17:00);
6. staff pause active (paused_until > now): if the pause ends within the grace period of the
   scheduled time, defer to the pause end (pushed past quiet hours) `staff_pause`; if it
   lasts longer, skip `staff_paused`: staff are talking to the guest and the automated
   message would arrive stale;
7. daily cap reached (sent_today_count >= daily_cap, counted per local day in `tz`) ->
   defer to the next local midnight, pushed past quiet hours (so 09:00 next day with the
   default window) `daily_cap`;
8. now inside quiet hours -> defer to the window's end `quiet_hours` (never dropped);
9. otherwise send now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from hotelbot.domain.fire_times import StayStatus, resolve_local
from hotelbot.domain.quiet_hours import QuietHours


class SkipReason(StrEnum):
    CANCELLED = "cancelled"
    OPTED_OUT = "opted_out"
    AFTER_CHECKOUT = "after_checkout"
    MISSED = "missed"
    STAFF_PAUSED = "staff_paused"


class DeferReason(StrEnum):
    NOT_DUE = "not_due"
    STAFF_PAUSE = "staff_pause"
    DAILY_CAP = "daily_cap"
    QUIET_HOURS = "quiet_hours"


class FireOutcome(StrEnum):
    """What a trigger fire's decision recorded (column `trigger_fires.outcome`, stored as
    "<result>" or "<result>:<reason>"). Only `ENQUEUED` and the `DEFERRED_*` outcomes queue
    a message; the others are kept in the fire log so nobody wonders why nothing was sent."""

    ENQUEUED = "enqueued"
    DEFERRED_STAFF_PAUSE = "deferred:staff_pause"
    DEFERRED_DAILY_CAP = "deferred:daily_cap"
    DEFERRED_QUIET_HOURS = "deferred:quiet_hours"
    MISSED = "missed"
    SKIPPED_CANCELLED = "skipped:cancelled"
    SKIPPED_OPTED_OUT = "skipped:opted_out"
    SKIPPED_AFTER_CHECKOUT = "skipped:after_checkout"
    SKIPPED_STAFF_PAUSED = "skipped:staff_paused"
    SKIPPED_CONDITION = "skipped:condition"  # the trigger's conditions do not hold for the stay
    SKIPPED_MISSING_VALUE = "skipped:missing_value"  # the template needs a value the stay lacks
    SKIPPED_BAD_TEMPLATE = "skipped:bad_template"
    SKIPPED_NOT_CAUGHT_UP = "skipped:not_caught_up"  # a trigger added without catching up

    @classmethod
    def of(cls, decision: Skip | Defer) -> FireOutcome:
        """The outcome of a skip, or of a deferral other than `not_due` (not recorded)."""
        if isinstance(decision, Skip):
            if decision.reason is SkipReason.MISSED:
                return cls.MISSED
            return cls(f"skipped:{decision.reason}")
        if decision.reason is DeferReason.NOT_DUE:
            raise ValueError("a fire that is not due yet has no outcome")
        return cls(f"deferred:{decision.reason}")

    @property
    def queued(self) -> bool:
        """A message was put in the outbox (now, or held until later)."""
        return self is FireOutcome.ENQUEUED or self.deferred

    @property
    def deferred(self) -> bool:
        return self.value.startswith("deferred:")

    @property
    def reason(self) -> str | None:
        """The part after the colon ("quiet_hours", "condition"), None for enqueued/missed."""
        return self.value.partition(":")[2] or None


def outcome_group(stored: str) -> str:
    """A stored outcome as the reports group it: "sent", "deferred" or "skipped" (missed and
    every skip). Tolerant of values older versions wrote ("sent")."""
    if stored in (FireOutcome.ENQUEUED, "sent"):
        return "sent"
    if stored.startswith("deferred"):
        return "deferred"
    return "skipped"


@dataclass(frozen=True, slots=True)
class Send:
    at: datetime


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime
    reason: DeferReason


@dataclass(frozen=True, slots=True)
class Skip:
    reason: SkipReason


Decision = Send | Defer | Skip


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def next_local_midnight(at: datetime, tz: ZoneInfo) -> datetime:
    """Start of the next local calendar day after `at` (UTC). DST-safe: where midnight does
    not exist (zones that spring forward at 00:00) it is the first instant of that day."""
    next_day = at.astimezone(tz).date() + timedelta(days=1)
    return resolve_local(next_day, time(0), tz)


def decide(
    now_utc: datetime,
    scheduled_for_utc: datetime,
    *,
    stay_status: StayStatus,
    is_welcome_like: bool,
    check_out_at: datetime,
    opted_out: bool,
    staff_paused_until: datetime | None,
    sent_today_count: int,
    daily_cap: int | None,
    quiet_hours: QuietHours,
    tz: ZoneInfo,
    grace_s: int,
    about_cancellation: bool = False,
) -> Decision:
    """Decide what to do with one automated message (rules in the module docstring).

    `daily_cap` None means no cap. `sent_today_count` is the number of automated messages
    already sent to this guest on the local day of `now_utc` in `tz`. All datetimes must be
    aware (ValueError otherwise); negative counts, caps below 1 or negative grace raise
    ValueError. Deterministic: same inputs, same decision.
    """
    for value, name in (
        (now_utc, "now_utc"),
        (scheduled_for_utc, "scheduled_for_utc"),
        (check_out_at, "check_out_at"),
    ):
        _require_aware(value, name)
    if staff_paused_until is not None:
        _require_aware(staff_paused_until, "staff_paused_until")
    if sent_today_count < 0:
        raise ValueError(f"sent_today_count must be >= 0, got {sent_today_count}")
    if daily_cap is not None and daily_cap < 1:
        raise ValueError(f"daily_cap must be >= 1 or None, got {daily_cap}")
    if grace_s < 0:
        raise ValueError(f"grace_s must be >= 0, got {grace_s}")

    now = now_utc.astimezone(UTC)
    scheduled = scheduled_for_utc.astimezone(UTC)
    grace = timedelta(seconds=grace_s)

    if stay_status is StayStatus.CANCELLED and not about_cancellation:
        return Skip(SkipReason.CANCELLED)
    if opted_out:
        return Skip(SkipReason.OPTED_OUT)
    if is_welcome_like and (stay_status is StayStatus.CHECKED_OUT or now >= check_out_at):
        return Skip(SkipReason.AFTER_CHECKOUT)
    if now < scheduled:
        return Defer(scheduled, DeferReason.NOT_DUE)
    if now - scheduled > grace:
        return Skip(SkipReason.MISSED)
    if staff_paused_until is not None and staff_paused_until > now:
        pause_end = staff_paused_until.astimezone(UTC)
        if pause_end - scheduled > grace:
            return Skip(SkipReason.STAFF_PAUSED)
        return Defer(quiet_hours.defer(pause_end, tz).astimezone(UTC), DeferReason.STAFF_PAUSE)
    if daily_cap is not None and sent_today_count >= daily_cap:
        day_start = next_local_midnight(now, tz)
        return Defer(quiet_hours.defer(day_start, tz).astimezone(UTC), DeferReason.DAILY_CAP)
    if quiet_hours.contains(now, tz):
        return Defer(quiet_hours.defer(now, tz).astimezone(UTC), DeferReason.QUIET_HOURS)
    return Send(now)
