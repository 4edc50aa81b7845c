"""Operator input for stays: phone numbers to chat ids, and CSV rows to validated stays.

Pure: `parse_stay_row` turns one CSV row (a dict of strings) into a `StayInput` or a list of
problems; the CLI validates every row before writing anything.

CSV columns (header row required, order free, names case-insensitive, extra columns are an
error so typos are caught):

    phone          required  "+371 2000 0000", "0037120000000", "37120000000" or a chat id
                             "37120000000@c.us"
    name           required  guest name
    check_in       required  YYYY-MM-DD (hotel local date)
    check_out      required  YYYY-MM-DD, not before check_in
    room           optional
    language       optional  two-letter code (en, ru, lv, ...); default: the hotel's
    check_in_time  optional  HH:MM local; default: the hotel's
    check_out_time optional  HH:MM local; default: the hotel's
    status         optional  booked | in_house | checked_out | cancelled (default booked)
    external_ref   optional  the booking id in your PMS; unique per hotel
    source         optional  where the booking came from (booking.com, direct, ...), for
                             trigger conditions ("source = booking.com")
    room_tags      optional  the room's tags, space-separated (suite sea-view), for trigger
                             conditions ("room tag = suite")
    hotel          optional  hotel slug; required when the command is not given --hotel

An empty cell states nothing: updating a stored stay keeps that field (`StayInput.stated`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Final

from hotelbot.domain.fire_times import StayStatus

REQUIRED_COLUMNS: Final = ("phone", "name", "check_in", "check_out")
OPTIONAL_COLUMNS: Final = (
    "room",
    "language",
    "check_in_time",
    "check_out_time",
    "status",
    "external_ref",
    "source",
    "room_tags",
    "hotel",
)
ALL_COLUMNS: Final = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# CSV column -> StayInput field, where the names differ.
_FIELD_OF_COLUMN: Final = {"phone": "chat_id", "name": "guest_name"}

_CHAT_ID = re.compile(r"^(\d{7,15})@c\.us$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_LANG = re.compile(r"^[a-z]{2}(-[a-z0-9]{2,8})?$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class StayInputError(ValueError):
    """One or more problems with a stay's input; `problems` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


def phone_to_chat_id(phone: str) -> str:
    """ "+371 2000 0000" -> "37120000000@c.us". Accepts spaces, dashes, dots, brackets, a
    leading "+" or "00", or a ready "<digits>@c.us". Raises ValueError (7..15 digits, E.164)."""
    value = phone.strip()
    if _CHAT_ID.match(value):
        return value
    if not value or not _PHONE_CHARS.match(value):
        raise ValueError(
            f"phone {phone!r}: use digits with an optional leading + (e.g. +371 2000 0000)"
        )
    digits = re.sub(r"\D", "", value)
    if not value.startswith("+") and digits.startswith("00"):
        digits = digits[2:]  # international dialling prefix
    if not 7 <= len(digits) <= 15:
        raise ValueError(
            f"phone {phone!r}: {len(digits)} digits; an international number has 7..15 "
            "(include the country code)"
        )
    return f"{digits}@c.us"


def parse_local_time(value: str, what: str) -> time:
    m = _HHMM.match(value.strip())
    if m is None:
        raise ValueError(f"{what} {value!r}: expected HH:MM (24 h)")
    return time(int(m.group(1)), int(m.group(2)))


def parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} {value!r}: expected a date YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class StayInput:
    """A validated stay, ready to store. Times are naive local wall times or None.

    `stated` names the fields the operator actually gave (a CSV cell with a value, a CLI
    option); None means all of them (a stay built in code). Updating a stored stay changes
    only stated fields unless the caller asks to replace it."""

    chat_id: str
    guest_name: str
    check_in: date
    check_out: date
    room: str | None = None
    language: str | None = None
    check_in_time: time | None = None
    check_out_time: time | None = None
    status: StayStatus = StayStatus.BOOKED
    external_ref: str | None = None
    hotel: str | None = None
    stated: frozenset[str] | None = None
    source: str | None = None
    room_tags: str | None = None

    def states(self, name: str) -> bool:
        """Whether the input gave field `name` (StayInput field names)."""
        return self.stated is None or name in self.stated


def check_columns(header: list[str]) -> list[str]:
    """Problems with a CSV header (unknown, duplicate or missing columns)."""
    names = [h.strip().lower() for h in header]
    problems = [f"unknown column {h!r}" for h in names if h not in ALL_COLUMNS]
    duplicates = sorted({h for h in names if names.count(h) > 1})
    problems += [f"duplicate column {h!r}" for h in duplicates]
    problems += [f"missing column {c!r}" for c in REQUIRED_COLUMNS if c not in names]
    if problems:
        problems.append(f"columns are: {', '.join(ALL_COLUMNS)}")
    return problems


def _opt(row: Mapping[str, str | None], key: str) -> str | None:
    value = (row.get(key) or "").strip()
    return value or None


def parse_stay_row(row: Mapping[str, str | None]) -> StayInput:
    """Validate one row (keys are lower-case column names). Raises StayInputError listing
    every problem of the row."""
    problems: list[str] = []
    chat_id = ""
    check_in = check_out = date.min
    times: dict[str, time | None] = {"check_in_time": None, "check_out_time": None}
    for key in REQUIRED_COLUMNS:
        if not _opt(row, key):
            problems.append(f"{key} is empty")
    phone = _opt(row, "phone")
    if phone:
        try:
            chat_id = phone_to_chat_id(phone)
        except ValueError as exc:
            problems.append(str(exc))
    for key in ("check_in", "check_out"):
        raw = _opt(row, key)
        if raw:
            try:
                parsed = parse_date(raw, key)
            except ValueError as exc:
                problems.append(str(exc))
            else:
                if key == "check_in":
                    check_in = parsed
                else:
                    check_out = parsed
    if check_in != date.min and check_out != date.min and check_out < check_in:
        problems.append(f"check_out {check_out} is before check_in {check_in}")
    for key in times:
        raw = _opt(row, key)
        if raw:
            try:
                times[key] = parse_local_time(raw, key)
            except ValueError as exc:
                problems.append(str(exc))
    language = _opt(row, "language")
    if language is not None:
        language = language.lower().replace("_", "-")
        if not _LANG.match(language):
            problems.append(f"language {language!r}: expected a code like en, ru or pt-br")
    status = StayStatus.BOOKED
    raw_status = _opt(row, "status")
    if raw_status:
        try:
            status = StayStatus(raw_status.lower().replace("-", "_").replace(" ", "_"))
        except ValueError:
            problems.append(
                f"status {raw_status!r}: expected {' | '.join(s.value for s in StayStatus)}"
            )
    name = " ".join((_opt(row, "name") or "").split())
    if len(name) > 200:
        problems.append("name is longer than 200 characters")
    room = _opt(row, "room")
    if room is not None and len(room) > 32:
        problems.append("room is longer than 32 characters")
    ref = _opt(row, "external_ref")
    if ref is not None and len(ref) > 100:
        problems.append("external_ref is longer than 100 characters")
    source = _opt(row, "source")
    if source is not None:
        source = source.lower()
        if not _TAG.match(source):
            problems.append(
                f"source {source!r}: use lower-case letters, digits, . _ - (e.g. booking.com)"
            )
    room_tags = _opt(row, "room_tags")
    if room_tags is not None:
        tags = list(dict.fromkeys(room_tags.lower().replace(",", " ").split()))
        bad_tags = [t for t in tags if not _TAG.match(t)]
        if bad_tags:
            problems.append(
                f"room_tags {', '.join(map(repr, bad_tags))}: use lower-case letters, digits, "
                ". _ - separated by spaces (e.g. suite sea-view)"
            )
        room_tags = " ".join(tags)
        if len(room_tags) > 200:
            problems.append("room_tags are longer than 200 characters")
    if problems:
        raise StayInputError(problems)
    given = {column for column in ALL_COLUMNS if _opt(row, column) is not None}
    stated = frozenset(_FIELD_OF_COLUMN.get(column, column) for column in given)
    return StayInput(
        stated=stated,
        chat_id=chat_id,
        guest_name=name,
        check_in=check_in,
        check_out=check_out,
        room=room,
        language=language,
        check_in_time=times["check_in_time"],
        check_out_time=times["check_out_time"],
        status=status,
        external_ref=ref,
        hotel=_opt(row, "hotel"),
        source=source,
        room_tags=room_tags,
    )
