"""The send policy: a table of cases, precedence, validation and properties."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelbot.domain.fire_times import StayStatus
from hotelbot.domain.quiet_hours import QuietHours
from hotelbot.domain.send_policy import (
    Decision,
    Defer,
    DeferReason,
    FireOutcome,
    Send,
    Skip,
    SkipReason,
    decide,
    next_local_midnight,
    outcome_group,
)

RIGA = ZoneInfo("Europe/Riga")
MIN = timedelta(minutes=1)


def riga(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=RIGA).astimezone(UTC)


NOON = riga(5, 11, 12)  # Monday 11 May 2026, 12:00 in Riga (09:00 UTC)
CHECK_OUT = riga(5, 13, 11)


@dataclass(frozen=True)
class Case:
    now: datetime = NOON
    scheduled: datetime = NOON - 5 * MIN
    status: StayStatus = StayStatus.IN_HOUSE
    welcome: bool = False
    check_out_at: datetime = CHECK_OUT
    opted_out: bool = False
    paused_until: datetime | None = None
    sent_today: int = 0
    cap: int | None = 3
    quiet: QuietHours = field(default_factory=QuietHours)
    grace_s: int = 900

    def decide(self) -> Decision:
        return decide(
            self.now,
            self.scheduled,
            stay_status=self.status,
            is_welcome_like=self.welcome,
            check_out_at=self.check_out_at,
            opted_out=self.opted_out,
            staff_paused_until=self.paused_until,
            sent_today_count=self.sent_today,
            daily_cap=self.cap,
            quiet_hours=self.quiet,
            tz=RIGA,
            grace_s=self.grace_s,
        )


BASE = Case()
NIGHT = riga(5, 11, 23)
NEXT_MORNING = riga(5, 12, 9)

CASES: list[tuple[str, Case, Decision]] = [
    ("on time: send now", BASE, Send(NOON)),
    ("exactly on schedule", replace(BASE, scheduled=NOON), Send(NOON)),
    ("booked guest, not welcome", replace(BASE, status=StayStatus.BOOKED), Send(NOON)),
    # 1. cancelled
    ("cancelled", replace(BASE, status=StayStatus.CANCELLED), Skip(SkipReason.CANCELLED)),
    (
        "cancelled beats opted out and quiet hours",
        replace(BASE, status=StayStatus.CANCELLED, opted_out=True, now=NIGHT, scheduled=NIGHT),
        Skip(SkipReason.CANCELLED),
    ),
    # 2. opted out
    ("opted out", replace(BASE, opted_out=True), Skip(SkipReason.OPTED_OUT)),
    (
        "opted out beats quiet hours (skip, not defer)",
        replace(BASE, opted_out=True, now=NIGHT, scheduled=NIGHT),
        Skip(SkipReason.OPTED_OUT),
    ),
    # 3. welcome after checkout
    (
        "welcome after check-out time",
        replace(BASE, welcome=True, now=CHECK_OUT + MIN, scheduled=CHECK_OUT),
        Skip(SkipReason.AFTER_CHECKOUT),
    ),
    (
        "welcome exactly at check-out",
        replace(BASE, welcome=True, now=CHECK_OUT, scheduled=CHECK_OUT),
        Skip(SkipReason.AFTER_CHECKOUT),
    ),
    (
        "welcome after an early check-out (status)",
        replace(BASE, welcome=True, status=StayStatus.CHECKED_OUT),
        Skip(SkipReason.AFTER_CHECKOUT),
    ),
    ("welcome during the stay", replace(BASE, welcome=True), Send(NOON)),
    (
        "review request after check-out is fine",
        replace(
            BASE,
            status=StayStatus.CHECKED_OUT,
            now=CHECK_OUT + timedelta(hours=4),
            scheduled=CHECK_OUT + timedelta(hours=4),
        ),
        Send(CHECK_OUT + timedelta(hours=4)),
    ),
    # 4. not yet due
    (
        "called early: defer to the scheduled time",
        replace(BASE, scheduled=NOON + 10 * MIN),
        Defer(NOON + 10 * MIN, DeferReason.NOT_DUE),
    ),
    # 5. grace
    ("late within grace", replace(BASE, scheduled=NOON - 15 * MIN), Send(NOON)),
    (
        "late beyond grace: missed",
        replace(BASE, scheduled=NOON - 15 * MIN - timedelta(seconds=1)),
        Skip(SkipReason.MISSED),
    ),
    ("zero grace, on the dot", replace(BASE, scheduled=NOON, grace_s=0), Send(NOON)),
    (
        "zero grace, a second late",
        replace(BASE, scheduled=NOON - timedelta(seconds=1), grace_s=0),
        Skip(SkipReason.MISSED),
    ),
    (
        "late booking caught up within a long grace",
        replace(BASE, scheduled=NOON - timedelta(hours=20), grace_s=86_400),
        Send(NOON),
    ),
    (
        "missed beats quiet hours",
        replace(BASE, now=NIGHT, scheduled=NIGHT - timedelta(hours=1)),
        Skip(SkipReason.MISSED),
    ),
    # 6. staff pause
    (
        "short staff pause: defer to its end",
        replace(BASE, paused_until=NOON + 5 * MIN),
        Defer(NOON + 5 * MIN, DeferReason.STAFF_PAUSE),
    ),
    (
        "pause ending exactly at the grace limit",
        replace(BASE, paused_until=NOON + 10 * MIN),
        Defer(NOON + 10 * MIN, DeferReason.STAFF_PAUSE),
    ),
    (
        "long staff pause: skip, the message would be stale",
        replace(BASE, paused_until=NOON + timedelta(hours=2)),
        Skip(SkipReason.STAFF_PAUSED),
    ),
    ("pause already over", replace(BASE, paused_until=NOON - MIN), Send(NOON)),
    ("pause ends right now", replace(BASE, paused_until=NOON), Send(NOON)),
    (
        "pause ending inside quiet hours: defer to the quiet end",
        replace(
            BASE,
            now=riga(5, 11, 21, 50),
            scheduled=riga(5, 11, 21, 50),
            paused_until=riga(5, 11, 22, 5),
        ),
        Defer(NEXT_MORNING, DeferReason.STAFF_PAUSE),
    ),
    # 7. daily cap
    (
        "daily cap reached: next local day, after quiet hours",
        replace(BASE, sent_today=3),
        Defer(NEXT_MORNING, DeferReason.DAILY_CAP),
    ),
    (
        "daily cap without quiet hours: next local midnight",
        replace(BASE, sent_today=3, quiet=QuietHours.none()),
        Defer(riga(5, 12, 0), DeferReason.DAILY_CAP),
    ),
    ("below the cap", replace(BASE, sent_today=2), Send(NOON)),
    ("no cap", replace(BASE, sent_today=50, cap=None), Send(NOON)),
    # 8. quiet hours
    (
        "late evening: defer to the morning",
        replace(BASE, now=NIGHT, scheduled=NIGHT),
        Defer(NEXT_MORNING, DeferReason.QUIET_HOURS),
    ),
    (
        "small hours: defer to the same morning",
        replace(BASE, now=riga(5, 12, 3), scheduled=riga(5, 12, 3)),
        Defer(NEXT_MORNING, DeferReason.QUIET_HOURS),
    ),
    (
        "quiet hours off",
        replace(BASE, now=NIGHT, scheduled=NIGHT, quiet=QuietHours.none()),
        Send(NIGHT),
    ),
    (
        "first allowed minute",
        replace(BASE, now=NEXT_MORNING, scheduled=NEXT_MORNING),
        Send(NEXT_MORNING),
    ),
    (
        "cap beats quiet hours (both defer; the cap's is later)",
        replace(BASE, now=NIGHT, scheduled=NIGHT, sent_today=3),
        Defer(riga(5, 12, 9), DeferReason.DAILY_CAP),
    ),
]


@pytest.mark.parametrize(("case", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision_table(case: Case, expected: Decision) -> None:
    assert case.decide() == expected


def test_decisions_are_utc() -> None:
    result = replace(BASE, now=NIGHT.astimezone(RIGA), scheduled=NIGHT.astimezone(RIGA)).decide()
    assert isinstance(result, Defer)
    assert result.until.tzinfo is UTC
    sent = replace(BASE, now=NOON.astimezone(RIGA)).decide()
    assert isinstance(sent, Send)
    assert sent.at.tzinfo is UTC


def test_quiet_deferral_is_not_eaten_by_grace() -> None:
    # The documented caller contract: on Defer, decide again at `until` with scheduled=until.
    first = replace(BASE, now=NIGHT, scheduled=NIGHT).decide()
    assert isinstance(first, Defer)
    second = replace(BASE, now=first.until, scheduled=first.until).decide()
    assert second == Send(NEXT_MORNING)


def test_deferred_welcome_is_dropped_if_the_guest_has_left() -> None:
    # Quiet hours defer a welcome to 09:00 on check-out day; at check-out time it is stale.
    late = riga(5, 13, 8)
    first = replace(BASE, welcome=True, now=late, scheduled=late).decide()
    assert first == Defer(riga(5, 13, 9), DeferReason.QUIET_HOURS)
    after = replace(
        BASE, welcome=True, now=CHECK_OUT, scheduled=CHECK_OUT, status=StayStatus.CHECKED_OUT
    ).decide()
    assert after == Skip(SkipReason.AFTER_CHECKOUT)


def test_next_local_midnight_across_dst() -> None:
    before_spring = riga(3, 28, 20)
    assert next_local_midnight(before_spring, RIGA) == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert next_local_midnight(riga(3, 29, 20), RIGA) == datetime(2026, 3, 29, 21, 0, tzinfo=UTC)
    # Zones that spring forward at midnight: the day starts at 01:00 (first valid instant).
    havana = ZoneInfo("America/Havana")
    start = next_local_midnight(datetime(2026, 3, 7, 12, tzinfo=havana), havana)
    assert start.astimezone(havana).replace(tzinfo=None) == datetime(2026, 3, 8, 1, 0)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"now": datetime(2026, 5, 11, 12)}, "now_utc must be a timezone-aware"),
        ({"scheduled": datetime(2026, 5, 11, 12)}, "scheduled_for_utc must be"),
        ({"check_out_at": datetime(2026, 5, 13, 11)}, "check_out_at must be"),
        ({"paused_until": datetime(2026, 5, 13, 11)}, "staff_paused_until must be"),
        ({"sent_today": -1}, "sent_today_count must be >= 0"),
        ({"cap": 0}, "daily_cap must be >= 1 or None"),
        ({"grace_s": -5}, "grace_s must be >= 0"),
    ],
)
def test_rejects_bad_inputs(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        replace(BASE, **overrides).decide()  # type: ignore[arg-type]
    assert fragment in str(excinfo.value)


# --- properties ---------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
hhmm = st.builds(time, st.integers(0, 23), st.sampled_from([0, 30]))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    now = draw(instants)
    return Case(
        now=now,
        scheduled=now + timedelta(seconds=draw(st.integers(-7200, 600))),
        status=draw(st.sampled_from(list(StayStatus))),
        welcome=draw(st.booleans()),
        check_out_at=now + timedelta(hours=draw(st.integers(-48, 48))),
        opted_out=draw(st.booleans()),
        paused_until=draw(
            st.none() | st.integers(-3600, 7200).map(lambda s: now + timedelta(seconds=s))
        ),
        sent_today=draw(st.integers(0, 5)),
        cap=draw(st.none() | st.integers(1, 5)),
        quiet=draw(st.builds(QuietHours, hhmm, hhmm)),
        grace_s=draw(st.integers(0, 7200)),
    )


@settings(max_examples=400)
@given(cases())
def test_every_decision_makes_progress(case: Case) -> None:
    result = case.decide()
    if isinstance(result, Send):
        assert result.at == case.now
        assert not case.quiet.contains(case.now, RIGA)
        assert case.status is not StayStatus.CANCELLED and not case.opted_out
    elif isinstance(result, Defer):
        assert result.until > case.now, "a deferral always moves forward"
        if result.reason is not DeferReason.NOT_DUE:
            assert not case.quiet.contains(result.until, RIGA), "never deferred into quiet"


@settings(max_examples=300)
@given(instants, st.builds(QuietHours, hhmm, hhmm), st.integers(0, 3600))
def test_quiet_hours_never_drop_a_message(now: datetime, quiet: QuietHours, grace_s: int) -> None:
    case = Case(now=now, scheduled=now, quiet=quiet, grace_s=grace_s, cap=None)
    result = case.decide()
    if isinstance(result, Defer):
        assert result.reason is DeferReason.QUIET_HOURS
        again = replace(case, now=result.until, scheduled=result.until).decide()
        assert again == Send(result.until)
    else:
        assert result == Send(now)


def test_every_skip_and_deferral_has_a_fire_outcome() -> None:
    at = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    for skip in SkipReason:
        outcome = FireOutcome.of(Skip(skip))
        assert not outcome.queued and outcome_group(outcome) == "skipped"
    for defer in DeferReason:
        if defer is DeferReason.NOT_DUE:
            with pytest.raises(ValueError):
                FireOutcome.of(Defer(at, defer))
            continue
        outcome = FireOutcome.of(Defer(at, defer))
        assert outcome.queued and outcome.reason == defer.value
        assert outcome_group(outcome) == "deferred"
    assert FireOutcome.ENQUEUED.queued and FireOutcome.ENQUEUED.reason is None
    assert outcome_group("sent") == "sent"  # written by older versions
