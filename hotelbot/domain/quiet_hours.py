"""Quiet hours: the local-time window in which no automated message is sent.

A send that falls inside the window is deferred to the window's end, never dropped. The
window is in wall-clock time of a zone (the hotel's, or the guest's when known), so it keeps
its meaning across DST changes. It may wrap midnight (22:00-09:00, the default); start ==
end means "no quiet hours".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from hotelbot.domain.fire_times import resolve_local

DEFAULT_QUIET_START: Final = time(22, 0)
DEFAULT_QUIET_END: Final = time(9, 0)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local wall-time window [start, end); wraps midnight when end < start; empty if equal.

    Times are naive local wall times (ValueError otherwise).
    """

    start: time = DEFAULT_QUIET_START
    end: time = DEFAULT_QUIET_END

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall times and must be naive")

    @classmethod
    def none(cls) -> QuietHours:
        """No quiet hours at all."""
        return cls(time(0), time(0))

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse "22:00-09:00" (or "off"/"none" for no quiet hours). Raises ValueError."""
        cleaned = text.strip().lower()
        if cleaned in ("off", "none", ""):
            return cls.none()
        m = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", cleaned)
        if m is None:
            raise ValueError(f"expected quiet hours as 'HH:MM-HH:MM' or 'off', got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"quiet hours {text!r} are not times of day (00:00..23:59)")
        return cls(time(h1, m1), time(h2, m2))

    @property
    def is_empty(self) -> bool:
        return self.start == self.end

    def __str__(self) -> str:
        if self.is_empty:
            return "off"
        return f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')}"

    def _wall_inside(self, wall: time) -> bool:
        if self.is_empty:
            return False
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def contains(self, at: datetime, tz: ZoneInfo) -> bool:
        """True when the local wall time of instant `at` in `tz` lies in the window."""
        _require_aware(at, "at")
        return self._wall_inside(at.astimezone(tz).time().replace(tzinfo=None))

    def defer(self, at: datetime, tz: ZoneInfo) -> datetime:
        """`at` itself when outside the window, else the window's end as an aware UTC datetime.

        The end is the next local `end` wall time after `at`; if that wall time does not exist
        that day (DST gap) it is the first instant after the gap; if it exists twice, the
        first occurrence that is after `at`. Idempotent: `defer(defer(x)) == defer(x)`, and
        the result is never inside the window nor before `at`.
        """
        if not self.contains(at, tz):
            return at
        local = at.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        end_day = local.date()
        # A wrapping window entered before midnight ends on the next calendar day.
        if self.start > self.end and wall >= self.start:
            end_day += timedelta(days=1)
        end = resolve_local(end_day, self.end, tz)
        if end <= at:
            # Only when `at` is in the repeated hour of a fall-back and the window ends in that
            # same hour: the first occurrence of `end` is already past, use the second one.
            naive_end = datetime.combine(end_day, self.end)
            end = naive_end.replace(tzinfo=tz, fold=1).astimezone(UTC)
        return end
