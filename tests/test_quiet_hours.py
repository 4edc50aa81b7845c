"""Quiet hours: wrapping windows, DST-safe deferral, parsing, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelbot.domain.quiet_hours import QuietHours

RIGA = ZoneInfo("Europe/Riga")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")

DEFAULT = QuietHours()  # 22:00-09:00


def riga(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """An instant given as Riga wall time (fold=0)."""
    return datetime(year, month, day, hour, minute, tzinfo=RIGA).astimezone(UTC)


def wall(instant: datetime, tz: ZoneInfo = RIGA) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("quiet", "local_hhmm", "inside"),
    [
        (DEFAULT, (21, 59), False),
        (DEFAULT, (22, 0), True),
        (DEFAULT, (23, 59), True),
        (DEFAULT, (0, 0), True),
        (DEFAULT, (8, 59), True),
        (DEFAULT, (9, 0), False),
        (DEFAULT, (12, 0), False),
        (QuietHours(time(13), time(15)), (12, 59), False),
        (QuietHours(time(13), time(15)), (13, 0), True),
        (QuietHours(time(13), time(15)), (14, 59), True),
        (QuietHours(time(13), time(15)), (15, 0), False),
        (QuietHours(time(0), time(6)), (0, 0), True),
        (QuietHours(time(0), time(6)), (23, 59), False),
        (QuietHours.none(), (3, 0), False),
        (QuietHours(time(7), time(7)), (7, 0), False),
    ],
)
def test_contains(quiet: QuietHours, local_hhmm: tuple[int, int], inside: bool) -> None:
    at = riga(2026, 5, 10, *local_hhmm)
    assert quiet.contains(at, RIGA) is inside
    if not inside:
        assert quiet.defer(at, RIGA) is at


@pytest.mark.parametrize(
    ("local_start", "expected_end"),
    [
        ((2026, 5, 10, 22, 0), datetime(2026, 5, 11, 9, 0)),  # evening: next morning
        ((2026, 5, 10, 23, 30), datetime(2026, 5, 11, 9, 0)),
        ((2026, 5, 11, 0, 10), datetime(2026, 5, 11, 9, 0)),  # after midnight: same morning
        ((2026, 5, 11, 8, 59), datetime(2026, 5, 11, 9, 0)),
        ((2026, 12, 31, 23, 0), datetime(2027, 1, 1, 9, 0)),  # year boundary
    ],
)
def test_defer_to_the_end_of_a_wrapping_window(
    local_start: tuple[int, int, int, int, int], expected_end: datetime
) -> None:
    result = DEFAULT.defer(riga(*local_start), RIGA)
    assert result.tzinfo is UTC
    assert wall(result) == expected_end


def test_defer_in_a_daytime_window() -> None:
    siesta = QuietHours(time(13), time(15))
    assert wall(siesta.defer(riga(2026, 5, 10, 14, 0), RIGA)) == datetime(2026, 5, 10, 15, 0)


def test_defer_keeps_local_end_across_dst() -> None:
    # The night of the spring-forward (Riga, 29 March 2026): 09:00 local is 06:00 UTC, not 07:00.
    result = DEFAULT.defer(riga(2026, 3, 28, 23, 0), RIGA)
    assert result == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    # The night of the fall-back (25 October 2026): 09:00 local is 07:00 UTC.
    result = DEFAULT.defer(riga(2026, 10, 24, 23, 0), RIGA)
    assert result == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_window_ending_inside_the_spring_forward_gap() -> None:
    quiet = QuietHours(time(22), time(3, 30))  # 03:30 does not exist in Riga on 29 March
    result = quiet.defer(riga(2026, 3, 29, 1, 0), RIGA)
    assert wall(result) == datetime(2026, 3, 29, 4, 0)  # first valid instant after the gap
    assert not quiet.contains(result, RIGA)


def test_window_ending_inside_the_repeated_hour() -> None:
    # 25 October 2026 in Riga: 03:00-03:59 happens twice (first at UTC+3, then at UTC+2).
    quiet = QuietHours(time(22), time(3, 30))
    first_0310 = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)
    second_0310 = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    assert wall(first_0310) == wall(second_0310) == datetime(2026, 10, 25, 3, 10)
    assert quiet.defer(first_0310, RIGA) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # The first 03:30 is already past for the second 03:10, so the end is the second 03:30.
    assert quiet.defer(second_0310, RIGA) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_uses_the_given_zone() -> None:
    at = datetime(2026, 5, 10, 20, 0, tzinfo=UTC)  # 23:00 Riga, 16:00 New York, 01:30 Kolkata
    assert DEFAULT.contains(at, RIGA)
    assert not DEFAULT.contains(at, NEW_YORK)
    assert DEFAULT.contains(at, KOLKATA)
    assert wall(DEFAULT.defer(at, KOLKATA), KOLKATA) == datetime(2026, 5, 11, 9, 0)


def test_accepts_any_aware_input_and_rejects_naive() -> None:
    at_riga_tz = datetime(2026, 5, 10, 23, 0, tzinfo=RIGA)
    assert wall(DEFAULT.defer(at_riga_tz, RIGA)) == datetime(2026, 5, 11, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT.contains(datetime(2026, 5, 10, 23, 0), RIGA)
    with pytest.raises(ValueError, match="naive"):
        QuietHours(time(22, tzinfo=UTC), time(9))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-09:00", QuietHours(time(22), time(9))),
        (" 21:30 - 8:00 ", QuietHours(time(21, 30), time(8))),
        ("off", QuietHours.none()),
        ("none", QuietHours.none()),
    ],
)
def test_parse(text: str, expected: QuietHours) -> None:
    assert QuietHours.parse(text) == expected


@pytest.mark.parametrize("text", ["22-09", "22:00", "25:00-09:00", "22:00-09:75", "night"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"HH:MM|times of day"):
        QuietHours.parse(text)


def test_str_round_trips() -> None:
    for q in (DEFAULT, QuietHours(time(13), time(15, 30)), QuietHours.none()):
        assert QuietHours.parse(str(q)) == q
    assert str(DEFAULT) == "22:00-09:00"
    assert QuietHours.none().is_empty


# --- properties ---------------------------------------------------------------------------

zones = st.sampled_from([RIGA, NEW_YORK, LORD_HOWE, KOLKATA])
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
hhmm = st.builds(time, st.integers(0, 4) | st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.builds(QuietHours, hhmm, hhmm)


@settings(max_examples=400)
@given(windows, instants, zones)
def test_defer_properties(quiet: QuietHours, at: datetime, tz: ZoneInfo) -> None:
    result = quiet.defer(at, tz)
    assert result >= at
    assert not quiet.contains(result, tz), "the deferred time is allowed"
    assert quiet.defer(result, tz) == result, "idempotent"
    if quiet.contains(at, tz):
        assert result > at
        # Never deferred longer than a day plus a DST shift.
        assert result - at <= timedelta(hours=25)
        # Every minute between `at` and the result is quiet: nothing allowed was skipped.
        step = at
        while step + timedelta(minutes=15) < result:
            step += timedelta(minutes=15)
            assert quiet.contains(step, tz)
    else:
        assert result == at
