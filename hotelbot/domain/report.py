"""The manager's report (pure): figures over a period from plain values, a text sparkline,
and the comparison with the previous period. No I/O; storage/manager_report.py gathers the
values, cli/report.py prints them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One bar per value, scaled to the largest ("" for no values; all-zero: the lowest)."""
    top = max(values, default=0.0)
    if top <= 0:
        return _BARS[0] * len(values)
    return "".join(
        _BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1) + 0.5))] for v in values
    )


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))  # ceil(fraction * n), at least 1
    return ordered[min(len(ordered), rank) - 1]


@dataclass(frozen=True, slots=True)
class GuestMessage:
    sent_at: datetime
    chat_id: str
    sentiment: str | None
    needs_staff: bool
    category: str | None


@dataclass(frozen=True, slots=True)
class AlertTimes:
    created_at: datetime
    acknowledged_at: datetime | None


@dataclass
class Report:
    """What a manager reads about one hotel and period. Times in `days` are hotel-local
    dates; shares are fractions (0..1) or None without judged messages."""

    hotel: str
    start: datetime
    end: datetime
    messages: int
    guests: int
    days: list[date]
    per_day: list[int]
    negative_per_day: list[float]
    negative_share: float | None
    negative_share_before: float | None
    attention: dict[str, int]
    alerts: int
    alerts_unacknowledged: int
    ack_median_s: float | None
    ack_p90_s: float | None
    unanswered_guests: int
    opt_outs: int
    delivery_failures: int
    notes: list[str] = field(default_factory=list)

    @property
    def trend(self) -> str:
        """ "better", "worse", "same" or "" (no comparison): negative share against the
        previous period, with 5 points of tolerance."""
        now, before = self.negative_share, self.negative_share_before
        if now is None or before is None:
            return ""
        if now < before - 0.05:
            return "better"
        if now > before + 0.05:
            return "worse"
        return "same"


def _negative_share(messages: Sequence[GuestMessage]) -> float | None:
    judged = [m for m in messages if m.sentiment is not None]
    if not judged:
        return None
    return sum(m.sentiment == "negative" for m in judged) / len(judged)


def build_report(
    hotel: str,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    messages: Sequence[GuestMessage],
    before: Sequence[GuestMessage],
    alerts: Sequence[AlertTimes],
    *,
    unanswered_guests: int,
    opt_outs: int,
    delivery_failures: int,
) -> Report:
    """The report of `messages` (guests' messages in [start, end)), compared with `before`
    (the same length of time just before)."""
    first, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz)
    days = [first + timedelta(days=n) for n in range((last.date() - first).days + 1)]
    by_day: dict[date, list[GuestMessage]] = {d: [] for d in days}
    for m in messages:
        by_day.setdefault(m.sent_at.astimezone(tz).date(), []).append(m)
    waits = [
        (a.acknowledged_at - a.created_at).total_seconds()
        for a in alerts
        if a.acknowledged_at is not None
    ]
    attention = Counter(m.category or "other" for m in messages if m.needs_staff)
    return Report(
        hotel=hotel,
        start=start,
        end=end,
        messages=len(messages),
        guests=len({m.chat_id for m in messages}),
        days=days,
        per_day=[len(by_day[d]) for d in days],
        negative_per_day=[_negative_share(by_day[d]) or 0.0 for d in days],
        negative_share=_negative_share(messages),
        negative_share_before=_negative_share(before),
        attention=dict(attention.most_common()),
        alerts=len(alerts),
        alerts_unacknowledged=sum(a.acknowledged_at is None for a in alerts),
        ack_median_s=percentile(waits, 0.5),
        ack_p90_s=percentile(waits, 0.9),
        unanswered_guests=unanswered_guests,
        opt_outs=opt_outs,
        delivery_failures=delivery_failures,
    )
