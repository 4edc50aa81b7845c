"""When a trigger fires for a stay: pure date maths in the hotel's local time.

All results are aware UTC datetimes. Local wall times are turned into instants by
`resolve_local`, which fixes the two DST corner cases one way, everywhere:

* a wall time that does not exist (the spring-forward gap, e.g. 03:30 in Europe/Riga on the
  last Sunday of March, when clocks jump 03:00 -> 04:00) becomes the first instant that does
  exist after it, i.e. the moment of the jump (04:00 local);
* a wall time that exists twice (fall-back, e.g. 03:30 in Riga on the last Sunday of
  October) means its first occurrence (`fold=0`, still summer time).

So a "09:00" trigger fires at 09:00 local on both sides of a DST change. Offsets in days move
the calendar date and keep the wall time; offsets in hours/minutes are elapsed time.

Stays are described by `StayFacts`, which the storage layer fills. Event triggers other than
"stay created" have no clock time and never appear in `fire_times`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from hotelbot.domain.triggers import (
    Anchor,
    EventKind,
    EventTrigger,
    RecurringTrigger,
    RelativeTrigger,
    TriggerSpec,
)

DEFAULT_CHECK_IN_TIME: Final = time(15, 0)
DEFAULT_CHECK_OUT_TIME: Final = time(11, 0)


class StayStatus(StrEnum):
    BOOKED = "booked"
    IN_HOUSE = "in_house"
    CHECKED_OUT = "checked_out"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class StayFacts:
    """What the scheduling maths needs to know about one stay (filled by storage).

    `check_in`/`check_out` are local calendar dates at the hotel; the optional times are
    local wall times (naive) and default to the hotel's standard times when None.
    `created_at` must be timezone-aware. `room` may be unknown until check-in.
    Raises ValueError on inconsistent facts (check-out before check-in, naive datetimes).
    """

    hotel_tz: ZoneInfo
    check_in: date
    check_out: date
    status: StayStatus
    language: str
    guest_name: str
    room: str | None
    created_at: datetime
    check_in_time: time | None = None
    check_out_time: time | None = None

    def __post_init__(self) -> None:
        if self.check_out < self.check_in:
            raise ValueError(f"check-out {self.check_out} is before check-in {self.check_in}")
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        for name in ("check_in_time", "check_out_time"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is not None:
                raise ValueError(f"{name} is a local wall time and must be naive")

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall time of an instant."""
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


def resolve_local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall time `day at` in `tz` (DST rules in the module doc).

    Nonexistent times move forward to the end of the gap (the transition instant); ambiguous
    times take the first occurrence. Pure and deterministic.
    """
    wall = datetime.combine(day, at.replace(tzinfo=None))
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall(first, tz) == wall:
        return first
    # In a gap. fold=0 reads the wall time with the offset in force before the jump, which
    # lands *after* the transition; fold=1 uses the offset after it, landing *before*. The
    # transition lies between the two; find it to the second (transitions are on whole
    # seconds in tzdata).
    later = first
    earlier = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(earlier, later), max(earlier, later)
    offset_after = later.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if mid.astimezone(tz).utcoffset() == offset_after:
            high = mid
        else:
            low = mid
    return high


def local_time_exists(day: date, at: time, tz: ZoneInfo) -> bool:
    """False for wall times inside a spring-forward gap."""
    wall = datetime.combine(day, at.replace(tzinfo=None))
    return _wall(wall.replace(tzinfo=tz).astimezone(UTC), tz) == wall


def check_in_at(stay: StayFacts, *, default_check_in: time = DEFAULT_CHECK_IN_TIME) -> datetime:
    """The check-in instant (UTC): check-in date at the stay's time or the hotel default."""
    return resolve_local(stay.check_in, stay.check_in_time or default_check_in, stay.hotel_tz)


def check_out_at(stay: StayFacts, *, default_check_out: time = DEFAULT_CHECK_OUT_TIME) -> datetime:
    """The check-out instant (UTC): check-out date at the stay's time or the hotel default."""
    return resolve_local(stay.check_out, stay.check_out_time or default_check_out, stay.hotel_tz)


def relative_fire_time(
    spec: RelativeTrigger,
    stay: StayFacts,
    *,
    default_check_in: time = DEFAULT_CHECK_IN_TIME,
    default_check_out: time = DEFAULT_CHECK_OUT_TIME,
) -> datetime:
    """The single scheduled instant (UTC) of a relative trigger for this stay."""
    if spec.anchor is Anchor.CHECK_IN:
        anchor_day, anchor_time = stay.check_in, stay.check_in_time or default_check_in
    else:
        anchor_day, anchor_time = stay.check_out, stay.check_out_time or default_check_out
    day = anchor_day + timedelta(days=spec.offset_days)
    base = resolve_local(day, spec.at_local or anchor_time, stay.hotel_tz)
    return base + timedelta(minutes=spec.offset_minutes)


def _recurring_fires(
    spec: RecurringTrigger, stay: StayFacts, start: datetime, end: datetime
) -> Iterator[datetime]:
    """Fires in [start, end), ascending. Iterates local dates, so at most ~nights+2 steps."""
    tz = stay.hotel_tz
    first_day = _wall(start, tz).date() - timedelta(days=1)
    last_day = _wall(end, tz).date() + timedelta(days=1)
    day = first_day
    while day <= last_day:
        if day.weekday() in spec.weekdays:
            fire = resolve_local(day, spec.at_local, tz)
            if start <= fire < end:
                yield fire
        day += timedelta(days=1)


def _check_zone(stay: StayFacts, hotel_tz: ZoneInfo | None) -> None:
    if hotel_tz is not None and hotel_tz.key != stay.hotel_tz.key:
        raise ValueError(f"hotel_tz {hotel_tz.key} differs from the stay's {stay.hotel_tz.key}")


def fire_times(
    spec: TriggerSpec,
    stay: StayFacts,
    *,
    hotel_tz: ZoneInfo | None = None,
    default_check_in: time = DEFAULT_CHECK_IN_TIME,
    default_check_out: time = DEFAULT_CHECK_OUT_TIME,
    window_start: datetime,
    window_end: datetime,
) -> list[datetime]:
    """Scheduled fires of `spec` for `stay` in the half-open window [window_start, window_end).

    Returns aware UTC datetimes, strictly increasing. Rules per kind:

    * relative: its one instant (`relative_fire_time`), if inside the window;
    * recurring: each chosen weekday at the local time, only while the guest is in house,
      i.e. at instants in [check-in instant, check-out instant). With the 15:00/11:00
      defaults "daily at 09:00" skips the arrival day and fires on the departure morning;
      "daily at 20:00" fires on the arrival evening and not on the departure day;
    * event "stay created": `stay.created_at`, if inside the window;
    * other events (first message, keyword, status changes): never (they are not
      clock-driven).

    Stay status is not consulted here (a cancelled stay still has a schedule); the send
    policy decides whether a fire is sent. `hotel_tz`, when given, must be the stay's zone
    (ValueError otherwise); naive window bounds raise ValueError.
    """
    _require_aware(window_start, "window_start")
    _require_aware(window_end, "window_end")
    _check_zone(stay, hotel_tz)
    start, end = window_start.astimezone(UTC), window_end.astimezone(UTC)
    if end <= start:
        return []
    if isinstance(spec, RelativeTrigger):
        fire = relative_fire_time(
            spec, stay, default_check_in=default_check_in, default_check_out=default_check_out
        )
        return [fire] if start <= fire < end else []
    if isinstance(spec, RecurringTrigger):
        in_house_from = check_in_at(stay, default_check_in=default_check_in)
        in_house_until = check_out_at(stay, default_check_out=default_check_out)
        lo, hi = max(start, in_house_from), min(end, in_house_until)
        if hi <= lo:
            return []
        return list(_recurring_fires(spec, stay, lo, hi))
    return _event_fires(spec, stay, start, end)


def _event_fires(
    spec: EventTrigger, stay: StayFacts, start: datetime, end: datetime
) -> list[datetime]:
    if spec.event is EventKind.STAY_CREATED:
        created = stay.created_at.astimezone(UTC)
        return [created] if start <= created < end else []
    return []


def next_fire_after(
    spec: TriggerSpec,
    stay: StayFacts,
    after: datetime,
    *,
    hotel_tz: ZoneInfo | None = None,
    default_check_in: time = DEFAULT_CHECK_IN_TIME,
    default_check_out: time = DEFAULT_CHECK_OUT_TIME,
) -> datetime | None:
    """The first scheduled fire strictly after `after` (UTC), or None when there is none.

    This is the value for a `next_fire_at` column: after firing at T, store
    `next_fire_after(spec, stay, T)`.
    """
    _require_aware(after, "after")
    _check_zone(stay, hotel_tz)
    # No fire lies beyond check-out + 366 days (the largest offset) or after created_at, so
    # 400 days past the latest of them is a safe end; recurring maths is clamped to the stay.
    horizon_candidates = [
        check_out_at(stay, default_check_out=default_check_out),
        check_in_at(stay, default_check_in=default_check_in),
        stay.created_at.astimezone(UTC),
    ]
    horizon = max(horizon_candidates) + timedelta(days=400)
    start = after.astimezone(UTC) + timedelta(microseconds=1)
    if horizon <= start:
        return None
    fires = fire_times(
        spec,
        stay,
        default_check_in=default_check_in,
        default_check_out=default_check_out,
        window_start=start,
        window_end=horizon,
    )
    return fires[0] if fires else None


def first_pending_fire(
    spec: TriggerSpec,
    stay: StayFacts,
    now: datetime,
    *,
    hotel_tz: ZoneInfo | None = None,
    default_check_in: time = DEFAULT_CHECK_IN_TIME,
    default_check_out: time = DEFAULT_CHECK_OUT_TIME,
) -> datetime | None:
    """The earliest fire that is not yet beyond its grace at `now`, or None.

    Use it when the scheduler first learns of a stay (a late booking) or resumes after
    downtime: a fire that passed at most `spec.grace_s` ago is returned (the send policy then
    sends it at once), older ones are passed over, and future ones are returned as they are.
    Equivalent to `next_fire_after(spec, stay, now - grace_s - 1 µs)`.
    """
    _require_aware(now, "now")
    lookback = timedelta(seconds=spec.grace_s, microseconds=1)
    return next_fire_after(
        spec,
        stay,
        now.astimezone(UTC) - lookback,
        hotel_tz=hotel_tz,
        default_check_in=default_check_in,
        default_check_out=default_check_out,
    )


def _local_text(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def why_no_next_fire(
    spec: TriggerSpec,
    stay: StayFacts,
    after: datetime,
    *,
    default_check_in: time = DEFAULT_CHECK_IN_TIME,
    default_check_out: time = DEFAULT_CHECK_OUT_TIME,
) -> str:
    """Why `next_fire_after(spec, stay, after)` is None, in the operator's words and the
    hotel's local time: "its time for this stay, 2026-03-27 10:00 EET, has passed" rather
    than a generic "the dates are past". Pure; call it only when there is no next fire."""
    _require_aware(after, "after")
    tz = stay.hotel_tz
    if isinstance(spec, RelativeTrigger):
        at = relative_fire_time(
            spec, stay, default_check_in=default_check_in, default_check_out=default_check_out
        )
        return f"its one time for this stay, {_local_text(at, tz)}, has passed"
    if isinstance(spec, RecurringTrigger):
        in_house_from = check_in_at(stay, default_check_in=default_check_in)
        in_house_until = check_out_at(stay, default_check_out=default_check_out)
        fires = list(_recurring_fires(spec, stay, in_house_from, in_house_until))
        span = f"{_local_text(in_house_from, tz)} .. {_local_text(in_house_until, tz)}"
        if not fires:
            return f"none of its times falls while the guest is in house ({span})"
        if in_house_until <= after:
            return f"the stay ended at check-out, {_local_text(in_house_until, tz)}"
        return (
            f"the last one, {_local_text(fires[-1], tz)}, has passed; check-out at "
            f"{_local_text(in_house_until, tz)} comes before the next"
        )
    if spec.event is EventKind.STAY_CREATED:
        return f"it fires once, when the stay was created ({_local_text(stay.created_at, tz)})"
    if spec.event.is_stay_status:
        return "it fires once, when the stay's status changes, not at clock times"
    return "it fires on guest messages, not at clock times"
