"""Trigger specs: *when* an automated guest message is due, as plain frozen values.

Three kinds, one union `TriggerSpec`:

* `RelativeTrigger`: an offset from the stay's check-in or check-out, optionally pinned to a
  local time of day ("1d after check-in at 10:00", "2h after check-in").
* `RecurringTrigger`: a local time of day on some weekdays, for guests in house
  ("daily at 09:00", "mon,wed,fri at 09:00").
* `EventTrigger`: something that happens (first guest message, a keyword, the stay being
  created, the stay's status changing to in house, checked out or cancelled).

Every spec carries `grace_s`, the catch-up rule: a fire whose scheduled instant passed less
than `grace_s` ago is still sent; an older one is skipped as "missed" (see send_policy).

Specs come from operator-friendly strings (`parse_trigger`) and go to and from JSON-able
dicts for the database (`trigger_to_dict` / `trigger_from_dict`, or the per-class
`to_dict` / `from_dict`). `format_trigger` gives the canonical string, which parses back to
an equal spec. Everything here is pure; errors are `TriggerSpecError` with a message an
operator can act on.

Grammar of spec strings (case-insensitive, spaces flexible)::

    spec      := (relative | recurring | event) [ "grace" duration ]
    relative  := amount ("before" | "after") anchor [ "at" HH:MM ]
               | "on" anchor "day" "at" HH:MM          -- same as "0d after <anchor> at HH:MM"
               | "at" anchor                           -- exactly at the anchor time
    anchor    := "check-in" | "check-out"             (also "checkin", "check in", ...)
    amount    := INT unit
    unit      := d|day|days | h|hr|hrs|hour|hours | m|min|mins|minute|minutes
    recurring := ["every"] ("daily" | "day" | days) "at" HH:MM
    days      := day ("," day)*    day := mon..sun | monday..sunday | range "mon-fri"
    event     := "on first message"
               | "on keyword" | "on keywords" KEYWORD ("," KEYWORD)*
               | "on stay created" | "on booking"
               | "on check-in" | "on check-out" | "on cancellation"   -- status changes
    duration  := "0" | INT (unit | s|sec|secs|second|seconds)

"at HH:MM" is only allowed with a whole-day amount: "2h after check-in at 10:00" is rejected
as contradictory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from typing import Final, TypeVar

DEFAULT_GRACE_S: Final = 900
"""Catch-up window used when a spec does not say otherwise (15 minutes, as in ops.md §2)."""

MAX_OFFSET_DAYS: Final = 366
"""Offsets beyond a year are almost certainly typos ("100d" meant "10d")."""

_MAX_GRACE_S: Final = 30 * 86_400

_RELATIVE_HINT: Final = "expected 'Nd|Nh|Nm after|before check-in|check-out [at HH:MM]'"


class TriggerSpecError(ValueError):
    """A trigger string or stored dict is not a valid trigger spec."""


class Anchor(StrEnum):
    """The stay boundary a relative trigger counts from."""

    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"

    @property
    def label(self) -> str:
        """The operator-facing spelling ("check-in")."""
        return self.value.replace("_", "-")


class EventKind(StrEnum):
    FIRST_MESSAGE = "first_message"
    KEYWORD = "keyword"
    STAY_CREATED = "stay_created"
    # A stored stay's status changed to in_house / checked_out / cancelled (`stay edit
    # --status`, `stay cancel`, a CSV re-import): once per stay and trigger.
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    CANCELLATION = "cancellation"

    @property
    def is_stay_status(self) -> bool:
        """Fired by a change of the stay's status (see `STATUS_EVENTS`)."""
        return self in (EventKind.CHECK_IN, EventKind.CHECK_OUT, EventKind.CANCELLATION)


STATUS_EVENTS: Final = {
    "in_house": EventKind.CHECK_IN,
    "checked_out": EventKind.CHECK_OUT,
    "cancelled": EventKind.CANCELLATION,
}
"""The stay status (domain.fire_times.StayStatus value) each status event fires on."""


def _check_grace(grace_s: object) -> None:
    if not isinstance(grace_s, int) or isinstance(grace_s, bool):
        raise TriggerSpecError(f"grace_s must be an integer number of seconds, got {grace_s!r}")
    if not 0 <= grace_s <= _MAX_GRACE_S:
        raise TriggerSpecError(f"grace_s must be within 0..{_MAX_GRACE_S} s, got {grace_s}")


def _check_local_time(value: object, what: str) -> None:
    if not isinstance(value, time):
        raise TriggerSpecError(f"{what} must be a datetime.time, got {value!r}")
    if value.tzinfo is not None:
        raise TriggerSpecError(f"{what} is a local wall time and must be naive, got {value!r}")
    if value.second or value.microsecond:
        raise TriggerSpecError(f"{what} must be whole minutes (HH:MM), got {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class RelativeTrigger:
    """Fires once per stay, at an offset from check-in or check-out.

    `offset_days` moves the *calendar date* in the hotel's local time (the wall-clock time is
    kept across DST changes); `offset_minutes` is elapsed time added after that. At most one
    of the two is non-zero and both share one sign (negative = before). With `at_local` the
    fire is at that local time on `anchor date + offset_days`, and `offset_minutes` must be 0.
    Without it, the fire counts from the stay's check-in/out time (or the hotel default).
    """

    anchor: Anchor
    offset_days: int = 0
    offset_minutes: int = 0
    at_local: time | None = None
    grace_s: int = DEFAULT_GRACE_S

    def __post_init__(self) -> None:
        if not isinstance(self.anchor, Anchor):
            raise TriggerSpecError(f"anchor must be an Anchor, got {self.anchor!r}")
        for name in ("offset_days", "offset_minutes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TriggerSpecError(f"{name} must be an integer, got {value!r}")
        if self.offset_days and self.offset_minutes:
            raise TriggerSpecError("use either a day offset or an hour/minute offset, not both")
        if abs(self.offset_days) > MAX_OFFSET_DAYS:
            raise TriggerSpecError(f"offset of {self.offset_days} days is beyond one year")
        if abs(self.offset_minutes) > MAX_OFFSET_DAYS * 1440:
            raise TriggerSpecError(f"offset of {self.offset_minutes} minutes is beyond one year")
        if self.at_local is not None:
            _check_local_time(self.at_local, "at_local")
            if self.offset_minutes:
                raise TriggerSpecError(
                    "'at HH:MM' needs a whole-day offset (e.g. '1d after check-in at 10:00'); "
                    "an hour or minute offset already fixes the time"
                )
        _check_grace(self.grace_s)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "relative",
            "anchor": self.anchor.value,
            "offset_days": self.offset_days,
            "offset_minutes": self.offset_minutes,
            "at": None if self.at_local is None else self.at_local.strftime("%H:%M"),
            "grace_s": self.grace_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RelativeTrigger:
        _expect_kind(data, "relative")
        at = data.get("at")
        return cls(
            anchor=_enum_field(Anchor, data, "anchor"),
            offset_days=_int_field(data, "offset_days", 0),
            offset_minutes=_int_field(data, "offset_minutes", 0),
            at_local=None if at is None else _parse_hhmm(_str(at, "at")),
            grace_s=_int_field(data, "grace_s", DEFAULT_GRACE_S),
        )


ALL_WEEKDAYS: Final = (0, 1, 2, 3, 4, 5, 6)
"""Monday = 0 ... Sunday = 6, as `date.weekday()`."""


@dataclass(frozen=True, slots=True)
class RecurringTrigger:
    """Fires at `at_local` (hotel local time) on each of `weekdays` while the guest is in house.

    "In house" means the instant lies in [check-in instant, check-out instant), both built
    from the stay's times or the hotel defaults (see fire_times). `weekdays` is a sorted,
    duplicate-free, non-empty tuple of `date.weekday()` numbers.
    """

    at_local: time
    weekdays: tuple[int, ...] = ALL_WEEKDAYS
    grace_s: int = DEFAULT_GRACE_S

    def __post_init__(self) -> None:
        _check_local_time(self.at_local, "at_local")
        days = self.weekdays
        if not isinstance(days, tuple) or not days:
            raise TriggerSpecError(f"weekdays must be a non-empty tuple, got {days!r}")
        if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days):
            raise TriggerSpecError(f"weekdays must be numbers 0 (Mon) .. 6 (Sun), got {days!r}")
        if list(days) != sorted(set(days)):
            raise TriggerSpecError(f"weekdays must be sorted and unique, got {days!r}")
        _check_grace(self.grace_s)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "recurring",
            "at": self.at_local.strftime("%H:%M"),
            "weekdays": list(self.weekdays),
            "grace_s": self.grace_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RecurringTrigger:
        _expect_kind(data, "recurring")
        raw_days = data.get("weekdays", list(ALL_WEEKDAYS))
        if not isinstance(raw_days, list | tuple):
            raise TriggerSpecError(f"weekdays must be a list, got {raw_days!r}")
        return cls(
            at_local=_parse_hhmm(_str(data.get("at"), "at")),
            weekdays=tuple(raw_days),
            grace_s=_int_field(data, "grace_s", DEFAULT_GRACE_S),
        )


@dataclass(frozen=True, slots=True)
class EventTrigger:
    """Fires when something happens rather than at a clock time.

    `keywords` (only for `EventKind.KEYWORD`, non-empty there, empty otherwise) are stored
    case-folded with inner whitespace collapsed; a keyword may be several words ("room
    service"). Use `keyword_matches` to test a guest message.
    """

    event: EventKind
    keywords: tuple[str, ...] = ()
    grace_s: int = DEFAULT_GRACE_S

    def __post_init__(self) -> None:
        if not isinstance(self.event, EventKind):
            raise TriggerSpecError(f"event must be an EventKind, got {self.event!r}")
        if not isinstance(self.keywords, tuple):
            raise TriggerSpecError(f"keywords must be a tuple, got {self.keywords!r}")
        if self.event is EventKind.KEYWORD:
            if not self.keywords:
                raise TriggerSpecError("a keyword trigger needs at least one keyword")
            for kw in self.keywords:
                if not isinstance(kw, str) or kw != _normalise_keyword(kw) or not _words(kw):
                    raise TriggerSpecError(
                        f"keyword {kw!r} must be non-empty, lower-case (case-folded) words "
                        "separated by single spaces"
                    )
        elif self.keywords:
            raise TriggerSpecError(f"only keyword triggers take keywords, not {self.event.value}")
        _check_grace(self.grace_s)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "event",
            "event": self.event.value,
            "keywords": list(self.keywords),
            "grace_s": self.grace_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EventTrigger:
        _expect_kind(data, "event")
        raw = data.get("keywords", [])
        if not isinstance(raw, list | tuple):
            raise TriggerSpecError(f"keywords must be a list, got {raw!r}")
        return cls(
            event=_enum_field(EventKind, data, "event"),
            keywords=tuple(raw),
            grace_s=_int_field(data, "grace_s", DEFAULT_GRACE_S),
        )


TriggerSpec = RelativeTrigger | RecurringTrigger | EventTrigger


def trigger_to_dict(spec: TriggerSpec) -> dict[str, object]:
    """A JSON-able dict (str/int/list/None values only) with a "kind" discriminator."""
    return spec.to_dict()


def trigger_from_dict(data: Mapping[str, object]) -> TriggerSpec:
    """Inverse of `trigger_to_dict`. Raises `TriggerSpecError` for anything malformed."""
    if not isinstance(data, Mapping):
        raise TriggerSpecError(f"a trigger spec dict was expected, got {data!r}")
    kind = data.get("kind")
    if kind == "relative":
        return RelativeTrigger.from_dict(data)
    if kind == "recurring":
        return RecurringTrigger.from_dict(data)
    if kind == "event":
        return EventTrigger.from_dict(data)
    raise TriggerSpecError(f"unknown trigger kind {kind!r}; expected relative|recurring|event")


# --- keyword matching ------------------------------------------------------------------------

_WORD_RE: Final = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    # \w is Unicode-aware on str patterns, so Cyrillic, Latvian, Greek... words all count.
    return _WORD_RE.findall(text.casefold().replace("ё", "е"))


def _normalise_keyword(text: str) -> str:
    return " ".join(text.casefold().split())


def keyword_matches(spec: EventTrigger, text: str) -> bool:
    """True when any keyword of `spec` occurs in `text` as whole word(s), case-insensitively.

    "wifi" matches "WiFi password?" and "wifi!" but not "wifipassword"; "room service"
    matches "Is room service open?" (consecutive words). Punctuation inside a keyword is
    ignored, so "wi-fi" matches "wi fi" and "Wi-Fi". Non-keyword triggers never match.
    """
    if spec.event is not EventKind.KEYWORD:
        return False
    words = _words(text)
    for keyword in spec.keywords:
        needle = _words(keyword)
        n = len(needle)
        if any(words[i : i + n] == needle for i in range(len(words) - n + 1)):
            return True
    return False


# --- parsing ---------------------------------------------------------------------------------

_UNIT_SECONDS: Final = {
    "d": 86_400,
    "day": 86_400,
    "days": 86_400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
_ANCHOR_RE: Final = r"(?P<anchor>check[\s_-]?(?:in|out))"
_AMOUNT_RE: Final = r"(?P<n>\d+)\s*(?P<unit>[a-z]+)"
_HHMM_RE: Final = r"(?P<hh>\d{1,2}):(?P<mm>\d{2})"

_RELATIVE_FULL: Final = re.compile(
    rf"{_AMOUNT_RE}\s+(?P<dir>before|after)\s+{_ANCHOR_RE}(?:\s+at\s+{_HHMM_RE})?"
)
_RELATIVE_ON_DAY: Final = re.compile(rf"on\s+{_ANCHOR_RE}\s+day\s+at\s+{_HHMM_RE}")
_RELATIVE_AT: Final = re.compile(rf"at\s+{_ANCHOR_RE}")
_RECURRING: Final = re.compile(rf"(?:every\s+)?(?P<days>[a-z,\s-]+?)\s+at\s+{_HHMM_RE}")
_GRACE_SUFFIX: Final = re.compile(r"^(?P<body>.*?)\s+grace\s+(?P<grace>\S+(?:\s+[a-z]+)?)$")

_DAY_NAMES: Final = {
    name: i
    for i, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
WEEKDAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday abbreviations, Monday first (date.weekday() indexes them)."""


def _parse_hhmm(text: str) -> time:
    m = re.fullmatch(_HHMM_RE, text.strip())
    if m is None:
        raise TriggerSpecError(f"expected a local time HH:MM (24-hour), got {text!r}")
    hh, mm = int(m["hh"]), int(m["mm"])
    if hh > 23 or mm > 59:
        raise TriggerSpecError(f"{text!r} is not a time of day (00:00..23:59)")
    return time(hh, mm)


def _match_time(m: re.Match[str]) -> time | None:
    if m.group("hh") is None:
        return None
    return _parse_hhmm(f"{m['hh']}:{m['mm']}")


def _unit_seconds(unit: str, *, allow_seconds: bool, original: str) -> int:
    seconds = _UNIT_SECONDS.get(unit)
    if seconds is None or (seconds == 1 and not allow_seconds):
        units = "d, h, m, s" if allow_seconds else "d, h, m"
        raise TriggerSpecError(f"unknown time unit {unit!r} in {original!r}; use {units}")
    return seconds


def parse_duration_s(text: str) -> int:
    """Parse "15m", "2 h", "1d", "90s", "0" into seconds. Raises `TriggerSpecError`."""
    cleaned = text.strip().lower()
    if cleaned == "0":
        return 0
    m = re.fullmatch(_AMOUNT_RE, cleaned)
    if m is None:
        raise TriggerSpecError(f"expected a duration like '15m', '2h', '1d' or '90s', got {text!r}")
    return int(m["n"]) * _unit_seconds(m["unit"], allow_seconds=True, original=text)


def _parse_weekdays(text: str) -> tuple[int, ...]:
    cleaned = text.strip()
    if cleaned in ("daily", "day", "every day", "everyday"):
        return ALL_WEEKDAYS
    chosen: set[int] = set()
    for part in (p.strip() for p in cleaned.split(",")):
        if not part:
            raise TriggerSpecError(f"empty weekday in {text!r}")
        first, sep, last = part.partition("-")
        if first.strip() not in _DAY_NAMES or (sep and last.strip() not in _DAY_NAMES):
            raise TriggerSpecError(
                f"unknown weekday {part!r}; use daily or mon,tue,wed,thu,fri,sat,sun (or mon-fri)"
            )
        start = _DAY_NAMES[first.strip()]
        if not sep:
            chosen.add(start)
            continue
        end = _DAY_NAMES[last.strip()]
        day = start
        chosen.add(day)
        while day != end:  # ranges may wrap: "fri-mon" is fri, sat, sun, mon
            day = (day + 1) % 7
            chosen.add(day)
    return tuple(sorted(chosen))


def _parse_anchor(text: str) -> Anchor:
    return Anchor.CHECK_IN if text.endswith("in") else Anchor.CHECK_OUT


def _parse_event(body: str, original: str, grace_s: int) -> EventTrigger:
    if re.fullmatch(r"on\s+first\s+message", body):
        return EventTrigger(EventKind.FIRST_MESSAGE, grace_s=grace_s)
    if re.fullmatch(r"on\s+(?:stay\s+created|booking|new\s+stay)", body):
        return EventTrigger(EventKind.STAY_CREATED, grace_s=grace_s)
    if m := re.fullmatch(rf"on\s+{_ANCHOR_RE}", body):
        kind = EventKind.CHECK_IN if m["anchor"].endswith("in") else EventKind.CHECK_OUT
        return EventTrigger(kind, grace_s=grace_s)
    if re.fullmatch(r"on\s+(?:cancellation|cancelled|canceled|cancel)", body):
        return EventTrigger(EventKind.CANCELLATION, grace_s=grace_s)
    m = re.fullmatch(r"on\s+keywords?\s*:?\s*(?P<kw>.*)", body, flags=re.DOTALL)
    if m is not None:
        keywords = [_normalise_keyword(k) for k in m["kw"].split(",")]
        if not m["kw"].strip() or any(not k or not _words(k) for k in keywords):
            raise TriggerSpecError(
                f"expected 'on keyword WORD[, WORD...]' with non-empty words, got {original!r}"
            )
        return EventTrigger(
            EventKind.KEYWORD, keywords=tuple(dict.fromkeys(keywords)), grace_s=grace_s
        )
    raise TriggerSpecError(
        "expected 'on first message', 'on keyword WORD[, WORD...]', 'on stay created', "
        f"'on check-in', 'on check-out' or 'on cancellation', got {original!r}"
    )


def parse_trigger(text: str, *, grace_s: int = DEFAULT_GRACE_S) -> TriggerSpec:
    """Parse an operator's trigger string (grammar in the module docstring).

    `grace_s` applies unless the string ends with its own "grace <duration>". Raises
    `TriggerSpecError` naming the expected form and quoting the input.
    """
    if not isinstance(text, str) or not text.strip():
        raise TriggerSpecError(f"empty trigger spec; {_RELATIVE_HINT}, got {text!r}")
    try:
        return _parse_trigger(text, grace_s)
    except TriggerSpecError as exc:
        if repr(text) in str(exc):
            raise
        raise TriggerSpecError(f"{exc}; got {text!r}") from None


def _parse_trigger(text: str, grace_s: int) -> TriggerSpec:
    original = text
    # Keywords keep their own case-folding later; everything else is matched lower-case.
    body = " ".join(text.split()).lower()
    g = _GRACE_SUFFIX.fullmatch(body)
    if g is not None:
        body = g["body"]
        grace_s = parse_duration_s(g["grace"])
    _check_grace(grace_s)

    if body.startswith("on ") and (
        not re.match(r"on\s+check", body) or re.fullmatch(rf"on\s+{_ANCHOR_RE}", body)
    ):
        return _parse_event(body, original, grace_s)

    if m := _RELATIVE_FULL.fullmatch(body):
        amount_s = int(m["n"]) * _unit_seconds(m["unit"], allow_seconds=False, original=original)
        sign = -1 if m["dir"] == "before" else 1
        at_local = _match_time(m)
        if amount_s % 86_400 == 0 and m["unit"].startswith("d"):
            days, minutes = sign * amount_s // 86_400, 0
        else:
            days, minutes = 0, sign * amount_s // 60
        return RelativeTrigger(
            anchor=_parse_anchor(m["anchor"]),
            offset_days=days,
            offset_minutes=minutes,
            at_local=at_local,
            grace_s=grace_s,
        )
    if m := _RELATIVE_ON_DAY.fullmatch(body):
        return RelativeTrigger(
            anchor=_parse_anchor(m["anchor"]), at_local=_match_time(m), grace_s=grace_s
        )
    if m := _RELATIVE_AT.fullmatch(body):
        return RelativeTrigger(anchor=_parse_anchor(m["anchor"]), grace_s=grace_s)
    if "check" not in body and (m := _RECURRING.fullmatch(body)):
        at_local = _match_time(m)
        assert at_local is not None  # the recurring pattern requires HH:MM
        return RecurringTrigger(at_local, _parse_weekdays(m["days"]), grace_s=grace_s)
    if "check" in body:
        raise TriggerSpecError(f"{_RELATIVE_HINT}, got {original!r}")
    raise TriggerSpecError(
        f"{_RELATIVE_HINT}, 'daily at HH:MM', 'mon,wed,fri at HH:MM', or 'on first message' / "
        f"'on keyword ...' / 'on stay created', got {original!r}"
    )


# --- formatting ------------------------------------------------------------------------------


def _format_duration(seconds: int, *, allow_seconds: bool) -> str:
    for suffix, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{suffix}"
    if seconds == 0:
        return "0"
    assert allow_seconds
    return f"{seconds}s"


def format_trigger(spec: TriggerSpec) -> str:
    """The canonical spec string; `parse_trigger(format_trigger(s), grace_s=0)` == s.

    A "grace ..." suffix is always written, so the string is self-contained.
    """
    grace = f" grace {_format_duration(spec.grace_s, allow_seconds=True)}"
    if isinstance(spec, RelativeTrigger):
        anchor = spec.anchor.label
        at = "" if spec.at_local is None else f" at {spec.at_local.strftime('%H:%M')}"
        if spec.offset_days == 0 and spec.offset_minutes == 0:
            return (f"on {anchor} day{at}" if at else f"at {anchor}") + grace
        if spec.offset_days:
            amount, negative = f"{abs(spec.offset_days)}d", spec.offset_days < 0
        else:
            minutes = abs(spec.offset_minutes)
            amount = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
            negative = spec.offset_minutes < 0
        direction = "before" if negative else "after"
        return f"{amount} {direction} {anchor}{at}{grace}"
    if isinstance(spec, RecurringTrigger):
        days = (
            "daily"
            if spec.weekdays == ALL_WEEKDAYS
            else ",".join(WEEKDAY_NAMES[d] for d in spec.weekdays)
        )
        return f"{days} at {spec.at_local.strftime('%H:%M')}{grace}"
    if spec.event is EventKind.FIRST_MESSAGE:
        return f"on first message{grace}"
    if spec.event is EventKind.STAY_CREATED:
        return f"on stay created{grace}"
    if spec.event is EventKind.CHECK_IN:
        return f"on check-in{grace}"
    if spec.event is EventKind.CHECK_OUT:
        return f"on check-out{grace}"
    if spec.event is EventKind.CANCELLATION:
        return f"on cancellation{grace}"
    return f"on keyword {', '.join(spec.keywords)}{grace}"


# --- dict field helpers ----------------------------------------------------------------------

_E = TypeVar("_E", bound=StrEnum)


def _expect_kind(data: Mapping[str, object], kind: str) -> None:
    if data.get("kind") != kind:
        raise TriggerSpecError(f"expected kind {kind!r}, got {data.get('kind')!r}")


def _str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TriggerSpecError(f"{name} must be a string, got {value!r}")
    return value


def _int_field(data: Mapping[str, object], name: str, default: int) -> int:
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TriggerSpecError(f"{name} must be an integer, got {value!r}")
    return value


def _enum_field(enum: type[_E], data: Mapping[str, object], name: str) -> _E:
    value = data.get(name)
    try:
        return enum(_str(value, name))
    except ValueError:
        allowed = "|".join(e.value for e in enum)
        raise TriggerSpecError(f"{name} must be one of {allowed}, got {value!r}") from None
