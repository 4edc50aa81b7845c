"""Trigger spec parsing, canonical formatting, dict round-trips and keyword matching."""

from __future__ import annotations

import json
from datetime import UTC, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotelbot.domain.triggers import (
    ALL_WEEKDAYS,
    DEFAULT_GRACE_S,
    Anchor,
    EventKind,
    EventTrigger,
    RecurringTrigger,
    RelativeTrigger,
    TriggerSpec,
    TriggerSpecError,
    format_trigger,
    keyword_matches,
    parse_duration_s,
    parse_trigger,
    trigger_from_dict,
    trigger_to_dict,
)

CI, CO = Anchor.CHECK_IN, Anchor.CHECK_OUT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1d after check-in at 10:00", RelativeTrigger(CI, offset_days=1, at_local=time(10))),
        ("on check-out day at 08:00", RelativeTrigger(CO, offset_days=0, at_local=time(8))),
        ("2h after check-in", RelativeTrigger(CI, offset_minutes=120)),
        ("3d before check-in at 18:00", RelativeTrigger(CI, offset_days=-3, at_local=time(18))),
        ("1d after check-out at 11:00", RelativeTrigger(CO, offset_days=1, at_local=time(11))),
        ("30m before check-out", RelativeTrigger(CO, offset_minutes=-30)),
        ("45 minutes after check-in", RelativeTrigger(CI, offset_minutes=45)),
        ("2 days before checkin at 9:05", RelativeTrigger(CI, offset_days=-2, at_local=time(9, 5))),
        ("1 Hour Before Check Out", RelativeTrigger(CO, offset_minutes=-60)),
        ("  1d   AFTER   check_in  ", RelativeTrigger(CI, offset_days=1)),
        ("24h after check-in", RelativeTrigger(CI, offset_minutes=1440)),
        ("at check-in", RelativeTrigger(CI)),
        ("0d before check-out at 07:30", RelativeTrigger(CO, at_local=time(7, 30))),
        ("daily at 09:00", RecurringTrigger(time(9))),
        ("every day at 21:15", RecurringTrigger(time(21, 15))),
        ("mon,wed,fri at 09:00", RecurringTrigger(time(9), (0, 2, 4))),
        ("Fri, Mon at 9:00", RecurringTrigger(time(9), (0, 4))),
        ("every mon-fri at 07:00", RecurringTrigger(time(7), (0, 1, 2, 3, 4))),
        ("fri-mon at 07:00", RecurringTrigger(time(7), (0, 4, 5, 6))),
        ("saturday,sunday at 10:00", RecurringTrigger(time(10), (5, 6))),
        ("on first message", EventTrigger(EventKind.FIRST_MESSAGE)),
        ("on stay created", EventTrigger(EventKind.STAY_CREATED)),
        ("on booking", EventTrigger(EventKind.STAY_CREATED)),
        (
            "on keyword WiFi, Room  Service, завтрак",
            EventTrigger(EventKind.KEYWORD, ("wifi", "room service", "завтрак")),
        ),
        ("on keywords: taxi,taxi", EventTrigger(EventKind.KEYWORD, ("taxi",))),
    ],
)
def test_parse_accepts_operator_strings(text: str, expected: TriggerSpec) -> None:
    assert parse_trigger(text) == expected
    assert parse_trigger(text).grace_s == DEFAULT_GRACE_S


@pytest.mark.parametrize(
    ("text", "grace_s"),
    [
        ("1d after check-in at 10:00 grace 2h", 7200),
        ("daily at 09:00 grace 30m", 1800),
        ("on first message grace 0", 0),
        ("2h after check-in grace 90s", 90),
        ("on keyword wifi grace 1 d", 86_400),
    ],
)
def test_grace_suffix_overrides_the_default(text: str, grace_s: int) -> None:
    assert parse_trigger(text, grace_s=5).grace_s == grace_s


def test_grace_keyword_argument_applies_without_suffix() -> None:
    assert parse_trigger("daily at 09:00", grace_s=3600).grace_s == 3600


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty trigger spec"),
        ("   ", "empty trigger spec"),
        ("soon", "expected 'Nd|Nh|Nm after|before check-in|check-out [at HH:MM]'"),
        ("1d after check-in at 25:00", "not a time of day"),
        ("1d after check-in at 10:60", "not a time of day"),
        ("1d after check-in at 10", "expected 'Nd|Nh|Nm after|before"),
        ("2h after check-in at 10:00", "whole-day offset"),
        ("5 fortnights after check-in", "unknown time unit 'fortnights'"),
        ("10s after check-in", "unknown time unit 's'"),
        ("1d after arrival", "expected"),
        ("1d around check-in", "expected 'Nd|Nh|Nm after|before check-in"),
        ("on check-in day", "expected 'Nd|Nh|Nm after|before check-in"),
        ("400d after check-out", "beyond one year"),
        ("funday at 09:00", "unknown weekday 'funday'"),
        ("mon,,fri at 09:00", "empty weekday"),
        ("daily at 9", "expected"),
        ("on keyword", "on keyword WORD"),
        ("on keyword wifi, ,bar", "non-empty words"),
        ("on keyword !!!", "non-empty words"),
        ("on birthday", "expected 'on first message'"),
        ("daily at 09:00 grace forever", "expected a duration"),
        ("daily at 09:00 grace 90d", "grace_s must be within"),
    ],
)
def test_parse_rejects_bad_input_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(TriggerSpecError) as excinfo:
        parse_trigger(text)
    message = str(excinfo.value)
    assert fragment in message
    if text.strip():
        assert repr(text) in message, "the operator's input is quoted back"


@pytest.mark.parametrize(
    "text",
    [
        "1d after check-in at 10:00",
        "on check-out day at 08:00",
        "2h after check-in",
        "90m before check-out",
        "at check-out",
        "daily at 09:00",
        "sat,sun at 10:30",
        "on first message",
        "on keyword wifi, room service",
        "on stay created grace 6h",
    ],
)
def test_format_is_canonical_and_parses_back(text: str) -> None:
    spec = parse_trigger(text)
    canonical = format_trigger(spec)
    assert parse_trigger(canonical, grace_s=1) == spec
    assert format_trigger(parse_trigger(canonical)) == canonical


def test_format_examples() -> None:
    assert format_trigger(parse_trigger("on check-in day at 9:00")) == (
        "on check-in day at 09:00 grace 15m"
    )
    assert (
        format_trigger(parse_trigger("120 minutes after check-in")) == "2h after check-in grace 15m"
    )
    assert format_trigger(parse_trigger("every mon-fri at 7:00 grace 0")) == (
        "mon,tue,wed,thu,fri at 07:00 grace 0"
    )


# --- dicts --------------------------------------------------------------------------------

hhmm = st.builds(time, st.integers(0, 23), st.integers(0, 59))
graces = st.integers(0, 30 * 86_400)


@st.composite
def relative_specs(draw: st.DrawFn) -> RelativeTrigger:
    anchor = draw(st.sampled_from(list(Anchor)))
    if draw(st.booleans()):
        days = draw(st.integers(-366, 366))
        return RelativeTrigger(
            anchor, offset_days=days, at_local=draw(st.none() | hhmm), grace_s=draw(graces)
        )
    return RelativeTrigger(
        anchor, offset_minutes=draw(st.integers(-366 * 1440, 366 * 1440)), grace_s=draw(graces)
    )


recurring_specs = st.builds(
    RecurringTrigger,
    hhmm,
    st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))),
    graces,
)
keyword = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшщыэюя", min_size=1),
    min_size=1,
    max_size=3,
).map(" ".join)
event_specs = st.one_of(
    st.builds(
        EventTrigger,
        st.sampled_from([EventKind.FIRST_MESSAGE, EventKind.STAY_CREATED]),
        grace_s=graces,
    ),
    st.builds(
        lambda kws, g: EventTrigger(EventKind.KEYWORD, tuple(dict.fromkeys(kws)), g),
        st.lists(keyword, min_size=1, max_size=4),
        graces,
    ),
)
any_spec = st.one_of(relative_specs(), recurring_specs, event_specs)


@given(any_spec)
def test_dict_round_trip_through_json(spec: TriggerSpec) -> None:
    stored = json.loads(json.dumps(trigger_to_dict(spec)))
    assert trigger_from_dict(stored) == spec


@given(any_spec)
def test_text_round_trip(spec: TriggerSpec) -> None:
    assert parse_trigger(format_trigger(spec)) == spec


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "unknown trigger kind None"),
        ({"kind": "cron"}, "unknown trigger kind 'cron'"),
        ({"kind": "relative", "anchor": "lunch"}, "anchor must be one of check_in|check_out"),
        ({"kind": "relative", "anchor": "check_in", "offset_days": "1"}, "must be an integer"),
        ({"kind": "relative", "anchor": "check_in", "offset_days": True}, "must be an integer"),
        (
            {"kind": "relative", "anchor": "check_in", "offset_days": 1, "offset_minutes": 5},
            "not both",
        ),
        ({"kind": "relative", "anchor": "check_in", "at": "7pm"}, "HH:MM"),
        ({"kind": "recurring", "at": "09:00", "weekdays": [7]}, "0 (Mon) .. 6 (Sun)"),
        ({"kind": "recurring", "at": "09:00", "weekdays": [3, 1]}, "sorted and unique"),
        ({"kind": "recurring", "at": "09:00", "weekdays": []}, "non-empty"),
        ({"kind": "recurring", "at": "09:00", "weekdays": "mon"}, "must be a list"),
        ({"kind": "recurring"}, "at must be a string"),
        ({"kind": "event", "event": "keyword", "keywords": []}, "at least one keyword"),
        ({"kind": "event", "event": "keyword", "keywords": ["WiFi"]}, "case-folded"),
        ({"kind": "event", "event": "first_message", "keywords": ["x"]}, "only keyword"),
        ({"kind": "event", "event": "first_message", "grace_s": -1}, "grace_s must be within"),
    ],
)
def test_from_dict_rejects_malformed_rows(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(TriggerSpecError) as excinfo:
        trigger_from_dict(data)
    assert fragment in str(excinfo.value)


def test_dict_shape_is_stable() -> None:
    # The storage layer persists these; changing keys is a migration.
    assert trigger_to_dict(parse_trigger("3d before check-in at 18:00")) == {
        "kind": "relative",
        "anchor": "check_in",
        "offset_days": -3,
        "offset_minutes": 0,
        "at": "18:00",
        "grace_s": 900,
    }
    assert trigger_to_dict(parse_trigger("mon,fri at 09:00 grace 1h")) == {
        "kind": "recurring",
        "at": "09:00",
        "weekdays": [0, 4],
        "grace_s": 3600,
    }
    assert trigger_to_dict(parse_trigger("on keyword Wi-Fi")) == {
        "kind": "event",
        "event": "keyword",
        "keywords": ["wi-fi"],
        "grace_s": 900,
    }


def test_constructor_validation() -> None:
    with pytest.raises(TriggerSpecError, match="naive"):
        RecurringTrigger(time(9, tzinfo=UTC))
    with pytest.raises(TriggerSpecError, match="whole minutes"):
        RecurringTrigger(time(9, 0, 30))
    assert RecurringTrigger(time(9)).weekdays == ALL_WEEKDAYS


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("90s", 90), ("15m", 900), ("2 h", 7200), ("1d", 86_400), ("3 Days", 259_200)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration_s(text) == seconds


# --- keyword matching ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keywords", "text", "matches"),
    [
        (("wifi",), "What is the WiFi password?", True),
        (("wifi",), "wifi!", True),
        (("wifi",), "wifipassword please", False),
        (("wi-fi",), "Wi Fi does not work", True),
        (("wi-fi",), "Wi-Fi?", True),
        (("room service",), "Is room service open?", True),
        (("room service",), "room, service", True),
        (("room service",), "service room", False),
        (("завтрак",), "Во сколько ЗАВТРАК?", True),
        (("завтрак",), "завтраки", False),
        (("ёлка",), "где елка", True),
        (("taxi", "cab"), "Can you call a cab", True),
        (("taxi",), "", False),
        (("straße",), "STRASSE", True),
    ],
)
def test_keyword_matching(keywords: tuple[str, ...], text: str, matches: bool) -> None:
    spec = parse_trigger("on keyword " + ", ".join(keywords))
    assert isinstance(spec, EventTrigger)
    assert keyword_matches(spec, text) is matches


def test_non_keyword_events_never_match() -> None:
    assert not keyword_matches(EventTrigger(EventKind.FIRST_MESSAGE), "wifi")
