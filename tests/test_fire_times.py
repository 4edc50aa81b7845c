"""Fire-time maths: examples in several zones, DST corner cases, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelbot.domain.fire_times import (
    StayFacts,
    StayStatus,
    check_in_at,
    check_out_at,
    fire_times,
    first_pending_fire,
    local_time_exists,
    next_fire_after,
    relative_fire_time,
    resolve_local,
)
from hotelbot.domain.triggers import (
    Anchor,
    EventKind,
    EventTrigger,
    RecurringTrigger,
    RelativeTrigger,
    TriggerSpec,
    parse_trigger,
)

RIGA = ZoneInfo("Europe/Riga")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")
ZONES = [RIGA, NEW_YORK, LORD_HOWE, KOLKATA]

EVER_START = datetime(1990, 1, 1, tzinfo=UTC)
EVER_END = datetime(2050, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def stay(
    check_in: date,
    check_out: date,
    *,
    tz: ZoneInfo = RIGA,
    check_in_time: time | None = None,
    check_out_time: time | None = None,
    created_at: datetime | None = None,
) -> StayFacts:
    return StayFacts(
        hotel_tz=tz,
        check_in=check_in,
        check_out=check_out,
        status=StayStatus.BOOKED,
        language="en",
        guest_name="Anna Berzina",
        room="101",
        created_at=created_at or utc(2026, 1, 1),
        check_in_time=check_in_time,
        check_out_time=check_out_time,
    )


def fires(spec: TriggerSpec | str, s: StayFacts, **kw: datetime) -> list[datetime]:
    parsed = parse_trigger(spec) if isinstance(spec, str) else spec
    return fire_times(
        parsed,
        s,
        window_start=kw.get("window_start", EVER_START),
        window_end=kw.get("window_end", EVER_END),
    )


def local(instant: datetime, tz: ZoneInfo = RIGA) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


# --- examples -----------------------------------------------------------------------------

MAY_STAY = stay(date(2026, 5, 10), date(2026, 5, 13))  # Riga is UTC+3 in May


@pytest.mark.parametrize(
    ("spec", "expected_local"),
    [
        ("1d after check-in at 10:00", datetime(2026, 5, 11, 10, 0)),
        ("2h after check-in", datetime(2026, 5, 10, 17, 0)),  # default check-in 15:00
        ("at check-in", datetime(2026, 5, 10, 15, 0)),
        ("on check-out day at 08:00", datetime(2026, 5, 13, 8, 0)),
        ("3d before check-in at 18:00", datetime(2026, 5, 7, 18, 0)),
        ("1d after check-out at 11:00", datetime(2026, 5, 14, 11, 0)),
        ("30m before check-out", datetime(2026, 5, 13, 10, 30)),  # default check-out 11:00
        ("1d before check-out", datetime(2026, 5, 12, 11, 0)),
        ("4h after check-out", datetime(2026, 5, 13, 15, 0)),
    ],
)
def test_relative_examples(spec: str, expected_local: datetime) -> None:
    result = fires(spec, MAY_STAY)
    assert [local(r) for r in result] == [expected_local]
    assert all(r.tzinfo is UTC for r in result)


def test_stay_times_override_the_hotel_defaults() -> None:
    s = stay(date(2026, 5, 10), date(2026, 5, 13), check_in_time=time(13, 30))
    assert [local(r) for r in fires("2h after check-in", s)] == [datetime(2026, 5, 10, 15, 30)]
    s = stay(date(2026, 5, 10), date(2026, 5, 13), check_out_time=time(12, 0))
    assert [local(r) for r in fires("30m before check-out", s)] == [datetime(2026, 5, 13, 11, 30)]


def test_defaults_are_parameters() -> None:
    spec = parse_trigger("2h after check-in")
    assert isinstance(spec, RelativeTrigger)
    result = relative_fire_time(spec, MAY_STAY, default_check_in=time(14, 0))
    assert local(result) == datetime(2026, 5, 10, 16, 0)
    out = check_out_at(MAY_STAY, default_check_out=time(10, 0))
    assert local(out) == datetime(2026, 5, 13, 10, 0)


def test_window_is_half_open() -> None:
    at = fires("1d after check-in at 10:00", MAY_STAY)[0]
    assert fires("1d after check-in at 10:00", MAY_STAY, window_start=at) == [at]
    assert fires("1d after check-in at 10:00", MAY_STAY, window_end=at) == []
    assert fires(
        "1d after check-in at 10:00",
        MAY_STAY,
        window_start=at,
        window_end=at + timedelta(microseconds=1),
    ) == [at]
    assert fires("1d after check-in at 10:00", MAY_STAY, window_start=at, window_end=at) == []


def test_recurring_fires_only_while_in_house() -> None:
    # In house from 10 May 15:00 to 13 May 11:00 (defaults).
    assert [local(r) for r in fires("daily at 09:00", MAY_STAY)] == [
        datetime(2026, 5, 11, 9),
        datetime(2026, 5, 12, 9),
        datetime(2026, 5, 13, 9),
    ]
    assert [local(r) for r in fires("daily at 20:00", MAY_STAY)] == [
        datetime(2026, 5, 10, 20),
        datetime(2026, 5, 11, 20),
        datetime(2026, 5, 12, 20),
    ]
    # Exactly at check-in counts; exactly at check-out does not.
    assert local(fires("daily at 15:00", MAY_STAY)[0]) == datetime(2026, 5, 10, 15)
    assert [local(r).day for r in fires("daily at 11:00", MAY_STAY)] == [11, 12]


def test_recurring_weekdays() -> None:
    week = stay(date(2026, 5, 10), date(2026, 5, 20))  # Sun 10 May .. Wed 20 May
    result = [local(r) for r in fires("mon,wed,fri at 09:00", week)]
    assert [r.date() for r in result] == [
        date(2026, 5, 11),
        date(2026, 5, 13),
        date(2026, 5, 15),
        date(2026, 5, 18),
        date(2026, 5, 20),
    ]
    assert all(r.weekday() in (0, 2, 4) for r in result)


def test_recurring_respects_window() -> None:
    week = stay(date(2026, 5, 10), date(2026, 5, 20))
    result = fires(
        "daily at 09:00",
        week,
        window_start=utc(2026, 5, 12, 6, 0),  # 09:00 Riga: included
        window_end=utc(2026, 5, 14, 6, 0),  # excluded
    )
    assert [local(r).day for r in result] == [12, 13]


def test_zero_night_stay_and_long_window() -> None:
    day_use = stay(date(2026, 5, 10), date(2026, 5, 10), check_in_time=time(10))
    # In house 10:00..11:00 (default check-out) only.
    assert fires("daily at 09:00", day_use) == []
    assert [local(r) for r in fires("daily at 10:30", day_use)] == [datetime(2026, 5, 10, 10, 30)]


def test_event_fires() -> None:
    created = utc(2026, 5, 9, 22, 15)
    s = stay(date(2026, 5, 10), date(2026, 5, 13), created_at=created)
    assert fires(EventTrigger(EventKind.STAY_CREATED), s) == [created]
    assert fires(EventTrigger(EventKind.STAY_CREATED), s, window_start=created) == [created]
    assert fires(EventTrigger(EventKind.STAY_CREATED), s, window_end=created) == []
    assert fires(EventTrigger(EventKind.FIRST_MESSAGE), s) == []
    assert fires(EventTrigger(EventKind.KEYWORD, ("wifi",)), s) == []


def test_rejects_naive_and_mismatched_zone() -> None:
    spec = parse_trigger("daily at 09:00")
    with pytest.raises(ValueError, match="timezone-aware"):
        fire_times(spec, MAY_STAY, window_start=datetime(2026, 5, 1), window_end=EVER_END)
    with pytest.raises(ValueError, match="differs"):
        fire_times(spec, MAY_STAY, hotel_tz=NEW_YORK, window_start=EVER_START, window_end=EVER_END)
    assert fire_times(
        spec,
        MAY_STAY,
        hotel_tz=ZoneInfo("Europe/Riga"),
        window_start=EVER_START,
        window_end=EVER_END,
    ) == fires(spec, MAY_STAY)


def test_stay_facts_validation() -> None:
    with pytest.raises(ValueError, match="before check-in"):
        stay(date(2026, 5, 10), date(2026, 5, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        stay(date(2026, 5, 10), date(2026, 5, 11), created_at=datetime(2026, 5, 1))
    with pytest.raises(ValueError, match="naive"):
        stay(date(2026, 5, 10), date(2026, 5, 11), check_in_time=time(14, tzinfo=UTC))
    assert MAY_STAY.nights == 3


# --- DST ----------------------------------------------------------------------------------


def test_local_time_is_kept_across_spring_forward() -> None:
    # Riga: clocks jump 03:00 -> 04:00 on Sunday 29 March 2026 (UTC+2 -> UTC+3).
    s = stay(date(2026, 3, 27), date(2026, 3, 31))
    result = fires("daily at 09:00", s)
    assert [local(r) for r in result] == [datetime(2026, 3, d, 9) for d in (28, 29, 30, 31)]
    assert [r.hour for r in result] == [7, 6, 6, 6]  # the UTC hour moves, the wall time doesn't


def test_local_time_is_kept_across_fall_back() -> None:
    s = stay(date(2026, 10, 23), date(2026, 10, 27))
    result = fires("daily at 09:00", s)
    assert [local(r) for r in result] == [datetime(2026, 10, d, 9) for d in (24, 25, 26, 27)]
    assert [r.hour for r in result] == [6, 7, 7, 7]


def test_day_offsets_are_calendar_days_hour_offsets_are_elapsed() -> None:
    s = stay(date(2026, 3, 28), date(2026, 3, 31))  # check-in 15:00 the day before the jump
    assert local(fires("1d after check-in", s)[0]) == datetime(2026, 3, 29, 15, 0)  # 23 h later
    assert local(fires("24h after check-in", s)[0]) == datetime(2026, 3, 29, 16, 0)


@pytest.mark.parametrize(
    ("tz", "day", "wall", "expected_utc", "expected_local"),
    [
        # Nonexistent: moved to the end of the gap.
        (RIGA, date(2026, 3, 29), time(3, 30), utc(2026, 3, 29, 1, 0), datetime(2026, 3, 29, 4)),
        (RIGA, date(2026, 3, 29), time(3, 0), utc(2026, 3, 29, 1, 0), datetime(2026, 3, 29, 4)),
        (
            NEW_YORK,
            date(2026, 3, 8),
            time(2, 30),
            utc(2026, 3, 8, 7, 0),
            datetime(2026, 3, 8, 3, 0),
        ),
        (
            LORD_HOWE,
            date(2026, 10, 4),
            time(2, 10),
            utc(2026, 10, 3, 15, 30),
            datetime(2026, 10, 4, 2, 30),
        ),
        # Just outside the gap: unchanged.
        (
            RIGA,
            date(2026, 3, 29),
            time(2, 59),
            utc(2026, 3, 29, 0, 59),
            datetime(2026, 3, 29, 2, 59),
        ),
        (RIGA, date(2026, 3, 29), time(4, 0), utc(2026, 3, 29, 1, 0), datetime(2026, 3, 29, 4, 0)),
        # Ambiguous: first occurrence (summer time, fold=0).
        (
            RIGA,
            date(2026, 10, 25),
            time(3, 30),
            utc(2026, 10, 25, 0, 30),
            datetime(2026, 10, 25, 3, 30),
        ),
        (
            NEW_YORK,
            date(2026, 11, 1),
            time(1, 30),
            utc(2026, 11, 1, 5, 30),
            datetime(2026, 11, 1, 1, 30),
        ),
        (
            LORD_HOWE,
            date(2026, 4, 5),
            time(1, 45),
            utc(2026, 4, 4, 14, 45),
            datetime(2026, 4, 5, 1, 45),
        ),
        # No DST at all.
        (
            KOLKATA,
            date(2026, 3, 29),
            time(3, 30),
            utc(2026, 3, 28, 22, 0),
            datetime(2026, 3, 29, 3, 30),
        ),
    ],
)
def test_resolve_local_corner_cases(
    tz: ZoneInfo, day: date, wall: time, expected_utc: datetime, expected_local: datetime
) -> None:
    result = resolve_local(day, wall, tz)
    assert result == expected_utc
    assert local(result, tz) == expected_local


def test_relative_trigger_in_the_gap() -> None:
    s = stay(date(2026, 3, 28), date(2026, 3, 31))
    result = fires("1d after check-in at 03:30", s)
    assert result == [utc(2026, 3, 29, 1, 0)]  # 04:00 local, the first valid instant


def test_local_time_exists() -> None:
    assert not local_time_exists(date(2026, 3, 29), time(3, 30), RIGA)
    assert local_time_exists(date(2026, 3, 29), time(2, 30), RIGA)
    assert local_time_exists(date(2026, 10, 25), time(3, 30), RIGA)  # ambiguous, but exists


# --- next_fire_after ----------------------------------------------------------------------


def test_next_fire_after_walks_the_recurring_schedule() -> None:
    spec = parse_trigger("daily at 09:00")
    chain: list[datetime] = []
    cursor = EVER_START
    while (nxt := next_fire_after(spec, MAY_STAY, cursor)) is not None:
        assert nxt > cursor
        chain.append(nxt)
        cursor = nxt
    assert chain == fires(spec, MAY_STAY)
    assert len(chain) == 3


def test_next_fire_after_relative_and_events() -> None:
    spec = parse_trigger("1d after check-in at 10:00")
    at = fires(spec, MAY_STAY)[0]
    assert next_fire_after(spec, MAY_STAY, at - timedelta(seconds=1)) == at
    assert next_fire_after(spec, MAY_STAY, at) is None  # strictly after
    assert next_fire_after(EventTrigger(EventKind.FIRST_MESSAGE), MAY_STAY, EVER_START) is None
    created = EventTrigger(EventKind.STAY_CREATED)
    assert next_fire_after(created, MAY_STAY, EVER_START) == MAY_STAY.created_at
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_after(spec, MAY_STAY, datetime(2026, 1, 1))


def test_first_pending_fire_catches_up_within_grace_only() -> None:
    spec = parse_trigger("daily at 09:00 grace 1h")
    nine = fires(spec, MAY_STAY)[0]  # 11 May 09:00 local
    # Learned about the stay 59 minutes after a fire: that fire is still pending.
    assert first_pending_fire(spec, MAY_STAY, nine + 59 * timedelta(minutes=1)) == nine
    assert first_pending_fire(spec, MAY_STAY, nine + timedelta(hours=1)) == nine  # boundary
    # Later than the grace: skip to the next day's fire.
    later = first_pending_fire(spec, MAY_STAY, nine + timedelta(hours=1, seconds=1))
    assert later == nine + timedelta(days=1)
    # Before any fire: the first one.
    assert first_pending_fire(spec, MAY_STAY, EVER_START) == nine
    # After the stay: nothing.
    assert first_pending_fire(spec, MAY_STAY, utc(2026, 6, 1)) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        first_pending_fire(spec, MAY_STAY, datetime(2026, 5, 11, 9))


def test_next_fire_after_far_offset() -> None:
    spec = parse_trigger("366d after check-out at 10:00")
    result = next_fire_after(spec, MAY_STAY, EVER_START)
    assert result is not None
    assert local(result) == datetime(2027, 5, 14, 10, 0)


# --- properties ---------------------------------------------------------------------------


def _transition_days(tz: ZoneInfo) -> list[date]:
    days = []
    prev = None
    t = datetime(2024, 1, 1, tzinfo=UTC)
    while t.year < 2028:
        offset = t.astimezone(tz).utcoffset()
        if prev is not None and offset != prev:
            days.append(t.astimezone(tz).date())
        prev = offset
        t += timedelta(hours=1)
    return days


TRANSITION_DAYS = {tz.key: _transition_days(tz) for tz in ZONES}
ANY_DAY = st.dates(date(2000, 1, 1), date(2037, 12, 31))


@st.composite
def zone_and_day(draw: st.DrawFn) -> tuple[ZoneInfo, date]:
    """A zone and a day, half the time one of that zone's DST transition days."""
    tz = draw(st.sampled_from(ZONES))
    special = TRANSITION_DAYS[tz.key]
    use_special: bool = draw(st.booleans())
    if special and use_special:
        return tz, draw(st.sampled_from(special))
    return tz, draw(ANY_DAY)


# Hours 0-4 hold every DST gap and overlap of these zones; draw them often.
walls = st.builds(
    time,
    st.integers(0, 23) | st.integers(0, 4),
    st.sampled_from([0, 1, 15, 29, 30, 45, 59]),
)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def test_transition_days_cover_every_zone_with_dst() -> None:
    # Guards the strategy below: without these days the DST properties test little.
    assert TRANSITION_DAYS["Asia/Kolkata"] == []
    for key in ("Europe/Riga", "America/New_York", "Australia/Lord_Howe"):
        assert len(TRANSITION_DAYS[key]) == 8  # two a year, 2024-2027


@settings(max_examples=400)
@given(zone_and_day(), walls)
def test_resolve_local_preserves_wall_time_or_lands_just_after_the_gap(
    zone_day: tuple[ZoneInfo, date], wall_time: time
) -> None:
    tz, day = zone_day
    wall = datetime.combine(day, wall_time)
    result = resolve_local(day, wall_time, tz)
    assert result.tzinfo is UTC
    if local_time_exists(day, wall_time, tz):
        assert _wall(result, tz) == wall
        # First occurrence: no earlier instant within the largest DST shift has this wall time.
        for back in (timedelta(minutes=30), timedelta(hours=1)):
            assert _wall(result - back, tz) != wall
    else:
        # First valid instant after the gap: just before it the wall clock was short of `wall`.
        assert _wall(result, tz) > wall
        assert _wall(result - timedelta(seconds=1), tz) < wall
        assert (
            result.astimezone(tz).utcoffset()
            != (result - timedelta(seconds=1)).astimezone(tz).utcoffset()
        )


@settings(max_examples=200)
@given(zone_and_day(), st.integers(0, 20), walls, st.integers(-10, 10))
def test_relative_day_offsets_keep_the_wall_time(
    zone_day: tuple[ZoneInfo, date], nights: int, at: time, offset_days: int
) -> None:
    tz, target_day = zone_day
    check_in = target_day - timedelta(days=offset_days)
    s = stay(check_in, check_in + timedelta(days=nights), tz=tz)
    spec = RelativeTrigger(Anchor.CHECK_IN, offset_days=offset_days, at_local=at)
    (result,) = fires(spec, s)
    if local_time_exists(target_day, at, tz):
        assert _wall(result, tz) == datetime.combine(target_day, at)
    else:
        assert _wall(result, tz).date() == target_day
        assert _wall(result, tz).time() > at


@settings(max_examples=200)
@given(
    zone_and_day(),
    st.integers(0, 30),
    walls,
    st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))),
)
def test_recurring_is_strictly_increasing_and_in_house(
    zone_day: tuple[ZoneInfo, date], nights: int, at: time, weekdays: tuple[int, ...]
) -> None:
    tz, middle = zone_day
    check_in = middle - timedelta(days=nights // 2)  # the stay spans the drawn day
    s = stay(check_in, check_in + timedelta(days=nights), tz=tz)
    spec = RecurringTrigger(at, weekdays)
    result = fires(spec, s)
    assert all(a < b for a, b in pairwise(result))
    start, end = check_in_at(s), check_out_at(s)
    for r in result:
        assert start <= r < end
        assert _wall(r, tz).weekday() in weekdays
        if local_time_exists(_wall(r, tz).date(), at, tz):
            assert _wall(r, tz).time() == at
    # Independent count for the daily case: wall times strictly between the default check-out
    # (11:00) and check-in (15:00) exist every day and fire on nights-1 days; times from 15:00
    # fire on `nights` days.
    if weekdays == (0, 1, 2, 3, 4, 5, 6) and time(11) < at < time(15):
        assert len(result) == max(nights - 1, 0)
    if weekdays == (0, 1, 2, 3, 4, 5, 6) and at >= time(15):
        assert len(result) == nights


@settings(max_examples=100)
@given(zone_and_day(), st.integers(0, 14), walls)
def test_next_fire_after_agrees_with_fire_times(
    zone_day: tuple[ZoneInfo, date], nights: int, at: time
) -> None:
    tz, middle = zone_day
    check_in = middle - timedelta(days=nights // 2)
    s = stay(check_in, check_in + timedelta(days=nights), tz=tz)
    spec = RecurringTrigger(at)
    chain: list[datetime] = []
    cursor = EVER_START
    while (nxt := next_fire_after(spec, s, cursor)) is not None:
        chain.append(nxt)
        cursor = nxt
    assert chain == fires(spec, s)
