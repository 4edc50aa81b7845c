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
    fact_answers: int = 0  # guest questions answered from the hotel's facts (docs/facts.md)
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
    fact_answers: int = 0,
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
        fact_answers=fact_answers,
    )


_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "messages": "guest messages",
        "from": "from {n} guest(s)",
        "per_day": "  per day",
        "negative": "negative",
        "before": "before",
        "better": "better",
        "worse": "worse",
        "same": "same",
        "needed": "needed staff",
        "none": "none",
        "alerts": "staff alerts",
        "not_ack": "{n} not acknowledged",
        "ack": "  acknowledged",
        "median": "median",
        "unanswered": "unanswered",
        "guests": "{n} guest(s)",
        "optouts": "opt-outs",
        "failed": "not delivered",
        "facts": "answered from facts",
        "msgs": "{n} message(s)",
    },
    "ru": {
        "messages": "сообщения гостей",
        "from": "от {n} гост.",
        "per_day": "  по дням",
        "negative": "негатив",
        "before": "ранее",
        "better": "лучше",
        "worse": "хуже",
        "same": "так же",
        "needed": "нужен персонал",
        "none": "нет",
        "alerts": "оповещения",
        "not_ack": "без ответа: {n}",
        "ack": "  подтверждены",
        "median": "медиана",
        "unanswered": "без ответа",
        "guests": "гостей: {n}",
        "optouts": "отписки",
        "failed": "не доставлено",
        "facts": "ответы из фактов",
        "msgs": "сообщений: {n}",
    },
}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render_report(report: Report, *, language: str, shown_start: str, shown_end: str) -> str:
    """The report as text a manager reads on a phone: narrow lines, a bar per day. English
    or Russian labels (other languages: English); category names stay as they are."""
    t = _LABELS.get(language, _LABELS["en"])
    first, last = report.days[0], report.days[-1]
    trend = f", {t[report.trend]}" if report.trend else ""
    attention = ", ".join(f"{k} {v}" for k, v in report.attention.items()) or t["none"]
    rows = [
        (t["messages"], f"{report.messages} " + t["from"].format(n=report.guests)),
        (t["per_day"], f"{sparkline(report.per_day)}  ({first:%m-%d}..{last:%m-%d})"),
        (
            t["negative"],
            f"{_share(report.negative_share)} "
            f"({t['before']}: {_share(report.negative_share_before)}{trend})",
        ),
        (t["per_day"], sparkline(report.negative_per_day)),
        (t["needed"], f"{sum(report.attention.values())}: {attention}"),
        (
            t["alerts"],
            f"{report.alerts} (" + t["not_ack"].format(n=report.alerts_unacknowledged) + ")",
        ),
        (
            t["ack"],
            f"{t['median']} {_duration(report.ack_median_s)}, p90 {_duration(report.ack_p90_s)}",
        ),
        (t["unanswered"], t["guests"].format(n=report.unanswered_guests)),
        (t["optouts"], str(report.opt_outs)),
        (t["failed"], t["msgs"].format(n=report.delivery_failures)),
        (t["facts"], t["msgs"].format(n=report.fact_answers)),
    ]
    width = max(len(label) for label, _ in rows) + 1
    lines = [f"{report.hotel}: {shown_start} - {shown_end}"]
    lines += [f"{label:<{width}}{value}" for label, value in rows]
    return "\n".join(lines)
