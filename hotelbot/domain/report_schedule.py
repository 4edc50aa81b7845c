"""When a hotel's manager digest is due (pure): `report_schedule` is "off", "daily HH:MM"
or "weekly DAY HH:MM" (mon..sun) in the hotel's local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from hotelbot.domain.triggers import WEEKDAY_NAMES

_FORM = re.compile(r"^(daily|weekly\s+(mon|tue|wed|thu|fri|sat|sun))\s+([01]\d|2[0-3]):([0-5]\d)$")
# A digest whose time passed longer ago than this (the daemon was down) is not sent late.
GRACE = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class ReportSchedule:
    weekday: int | None  # 0 = Monday; None = every day
    at: time

    @property
    def period(self) -> timedelta:
        return timedelta(days=1 if self.weekday is None else 7)


def parse_schedule(text: str | None) -> ReportSchedule | None:
    """None for "off"/empty. Raises ValueError naming the accepted forms."""
    value = (text or "").strip().lower()
    if value in ("", "off"):
        return None
    match = _FORM.match(value)
    if match is None:
        raise ValueError('expected "off", "daily 08:00" or "weekly mon 08:00" (hotel time)')
    weekday = None if match.group(2) is None else WEEKDAY_NAMES.index(match.group(2))
    return ReportSchedule(weekday, time(int(match.group(3)), int(match.group(4))))


def last_due(schedule: ReportSchedule, now_local: datetime) -> datetime:
    """The latest scheduled moment at or before `now_local` (an aware local datetime)."""
    candidate = now_local.replace(
        hour=schedule.at.hour, minute=schedule.at.minute, second=0, microsecond=0
    )
    if schedule.weekday is not None:
        candidate -= timedelta(days=(candidate.weekday() - schedule.weekday) % 7)
    while candidate > now_local:
        candidate -= schedule.period
    return candidate
