"""A hotel's settings as the running product uses them: one parsed, immutable value.

Storage builds a `HotelPolicy` once from the hotels row (`storage.hotel_policy.hotel_policy`):
strings become a zone, a quiet-hours window, times of day and signal modes there, and every
consumer (processor, alert decisions, scheduler, CLI views) reads the same value. The
operator-facing shape of a hotel is `hotel_spec.HotelSpec` (the hotels file); the stored row is
`storage.hotels.HotelRecord`; neither is passed to a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo

from hotelbot.domain.quiet_hours import QuietHours
from hotelbot.domain.report_schedule import ReportSchedule
from hotelbot.domain.signals import DEFAULT_MODES, SignalKind, SignalMode
from hotelbot.domain.zones import zone_or_utc

DEFAULT_CHECK_IN = time(15, 0)
DEFAULT_CHECK_OUT = time(11, 0)


@dataclass(frozen=True, slots=True)
class HotelPolicy:
    """One hotel's settings, parsed. `tz` is derived from `timezone` (UTC when this host does
    not know the zone: validated on import, and a missing zone must not stall alerts or
    scheduled messages; the scheduler warns about it)."""

    id: int
    slug: str
    name: str = ""
    timezone: str = "UTC"
    tz: ZoneInfo = field(init=False, repr=False, compare=False)
    default_language: str = "en"
    # Scheduled messages: the quiet-hours window, the daily cap of automated messages per
    # guest (None: no cap), the stay's default check-in/check-out times.
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    daily_cap: int | None = None
    default_check_in: time = DEFAULT_CHECK_IN
    default_check_out: time = DEFAULT_CHECK_OUT
    # Guest understanding and staff alerts.
    staff_chat_id: str | None = None
    escalation_chat_id: str | None = None  # the duty manager (escalations of open alerts)
    alert_cooldown_min: int = 30
    staff_pause_h: float = 12.0
    groups_as_guests: bool = False
    # What each kind of non-text guest signal does (domain.signals); the staff's language
    # (the hotel's staff_language, else its default_language; texts fall back to English).
    signal_modes: Mapping[SignalKind, SignalMode] = field(default_factory=lambda: DEFAULT_MODES)
    staff_language: str | None = None
    # The manager's scheduled digest (None: off); why the stored schedule did not parse.
    manager_chat_id: str | None = None
    report_schedule: ReportSchedule | None = None
    report_schedule_problem: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone_or_utc(self.timezone)[0])

    def is_staff_chat(self, chat_id: str) -> bool:
        """The staff chat or the escalation chat: where alerts go and are acknowledged."""
        return chat_id in (self.staff_chat_id, self.escalation_chat_id)

    def is_guest_chat(self, chat_id: str) -> bool:
        """Guest conversations: personal/@lid chats, groups only with groups_as_guests, and
        never the staff or escalation chat."""
        if self.is_staff_chat(chat_id):
            return False
        return self.groups_as_guests or not chat_id.endswith("@g.us")

    def signal_mode(self, kind: SignalKind) -> SignalMode:
        return self.signal_modes.get(kind, DEFAULT_MODES[kind])


def time_of_day(value: str, default: time) -> time:
    """ "HH:MM" -> time; `default` for anything else (validated on import already: a value
    written into the database by hand must not stop the scheduler)."""
    try:
        hh, mm = value.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        return default


def quiet_hours_or_default(value: str) -> QuietHours:
    """The stored quiet-hours text, parsed; the default window when it does not parse (never
    fail open: a broken setting must not allow messages at night)."""
    try:
        return QuietHours.parse(value)
    except ValueError:
        return QuietHours()
