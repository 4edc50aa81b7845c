"""Read-only reports for operators: activity statistics (the per-hotel status report is
`hotelbot.storage.status_report`).

They read only the database, so they work while a daemon runs (the daemon writes
hotel_status every few seconds) and on a database whose feature tables are missing (a
section then says "not available" instead of failing). Days are UTC calendar days.
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.outbox import OutboxKind, OutboxState
from hotelbot.domain.send_policy import outcome_group
from hotelbot.domain.signals import ANALYSER as SIGNAL_ANALYSER
from hotelbot.domain.signals import SignalKind, kind_of_reason
from hotelbot.storage.introspect import Schema, read_schema, view
from hotelbot.storage.models import OutboxMessage


# -- statistics ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Section:
    """One table of `hotelbot stats`; `unavailable` is set (and rows empty) when the tables
    it needs are missing."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    unavailable: str | None = None


def _days(since: datetime, now: datetime) -> list[date]:
    first, last = since.date(), now.date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _unavailable(title: str, headers: Sequence[str], what: str) -> Section:
    return Section(title, tuple(headers), (), f"not available: {what} not in this database")


def _fmt_minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


async def _messages_section(
    conn: AsyncConnection, schema: Schema, hotel_id: int | None, since: datetime, now: datetime
) -> Section:
    headers = ("day", "in", "out staff", "out bot", "positive", "neutral", "negative", "pending")
    title = "Messages and guest sentiment"
    m = view(schema, "messages", "hotel_id", "direction", "from_staff", "sent_at", "sentiment")
    if m is None:
        return _unavailable(title, headers, "the messages table")
    query = select(m.c.sent_at, m.c.direction, m.c.from_staff, m.c.sentiment).where(
        m.c.sent_at >= since
    )
    if hotel_id is not None:
        query = query.where(m.c.hotel_id == hotel_id)
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for sent_at, direction, from_staff, sentiment in await conn.execute(query):
        day = per_day[sent_at.date()]
        if direction == "in":
            day["in"] += 1
            day[sentiment or "pending"] += 1
        else:
            day["out staff" if from_staff else "out bot"] += 1
    rows = tuple((d.isoformat(), *(per_day[d][h] for h in headers[1:])) for d in _days(since, now))
    total = Counter[str]()
    for counter in per_day.values():
        total.update(counter)
    return Section(title, headers, (*rows, ("total", *(total[h] for h in headers[1:]))))


async def _alerts_section(
    conn: AsyncConnection, schema: Schema, hotel_id: int | None, since: datetime, now: datetime
) -> Section:
    headers = (
        "day",
        "alerts",
        "answered",
        "median reply",
        "slowest reply",
        "unanswered",
        "acknowledged",
        "median ack",
        "escalated",
    )
    title = "Staff alerts and time to first staff reply"
    a = view(schema, "alerts", "hotel_id", "message_id", "created_at")
    m = view(schema, "messages", "id", "hotel_id", "chat_id", "direction", "from_staff", "sent_at")
    if a is None or m is None:
        return _unavailable(title, headers, "the alerts/messages tables")
    # Acknowledgement and escalation (docs/operations.md): "-" on a schema without them.
    acks = view(schema, "alerts", "message_id", "created_at", "acknowledged_at", "escalated_at")
    query = (
        select(a.c.created_at, m.c.hotel_id, m.c.chat_id, m.c.sent_at, a.c.message_id)
        .join(m, m.c.id == a.c.message_id)
        .where(a.c.created_at >= since)
    )
    replies_q = select(m.c.hotel_id, m.c.chat_id, m.c.sent_at).where(
        m.c.direction == "out", m.c.from_staff.is_(True), m.c.sent_at >= since
    )
    if hotel_id is not None:
        query = query.where(a.c.hotel_id == hotel_id)
        replies_q = replies_q.where(m.c.hotel_id == hotel_id)
    replies: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for h, chat, sent_at in await conn.execute(replies_q):
        replies[(h, chat)].append(sent_at)
    for times in replies.values():
        times.sort()
    ack_of: dict[int, tuple[float | None, bool]] = {}  # message id -> (ack after s, escalated)
    if acks is not None:
        ack_q = select(
            acks.c.message_id, acks.c.created_at, acks.c.acknowledged_at, acks.c.escalated_at
        ).where(acks.c.created_at >= since)
        for message_id, created_at, acked_at, escalated_at in await conn.execute(ack_q):
            after = None if acked_at is None else max(0.0, (acked_at - created_at).total_seconds())
            ack_of[int(message_id)] = (after, escalated_at is not None)
    per_day: dict[date, list[tuple[float | None, float | None, bool]]] = defaultdict(list)
    for created_at, h, chat, guest_sent_at, message_id in await conn.execute(query):
        times = replies.get((h, chat), [])
        i = bisect.bisect_right(times, guest_sent_at)
        wait_s = (times[i] - guest_sent_at).total_seconds() if i < len(times) else None
        ack_s, escalated = ack_of.get(int(message_id), (None, False))
        per_day[created_at.date()].append((wait_s, ack_s, escalated))

    def row(label: str, items: list[tuple[float | None, float | None, bool]]) -> tuple[object, ...]:
        answered = [w for w, _, _ in items if w is not None]
        acked = [k for _, k, _ in items if k is not None]
        return (
            label,
            len(items),
            len(answered),
            _fmt_minutes(statistics.median(answered)) if answered else "-",
            _fmt_minutes(max(answered)) if answered else "-",
            len(items) - len(answered),
            len(acked) if acks is not None else "-",
            _fmt_minutes(statistics.median(acked)) if acked else "-",
            sum(1 for _, _, e in items if e) if acks is not None else "-",
        )

    rows = [row(d.isoformat(), per_day.get(d, [])) for d in _days(since, now)]
    rows.append(row("total", [w for ws in per_day.values() for w in ws]))
    return Section(title, headers, tuple(rows))


async def _triggers_section(
    conn: AsyncConnection, schema: Schema, hotel_id: int | None, since: datetime
) -> Section:
    headers = ("trigger", "sent", "deferred", "skipped", "top skip reason")
    title = "Scheduled messages (trigger fires decided)"
    f = view(schema, "trigger_fires", "hotel_id", "trigger_id", "decided_at", "outcome")
    t = view(schema, "triggers", "id", "name")
    if f is None or t is None:
        return _unavailable(title, headers, "the triggers/trigger_fires tables")
    query = (
        select(t.c.name, f.c.outcome, func.count())
        .join(t, t.c.id == f.c.trigger_id)
        .where(f.c.decided_at >= since)
        .group_by(t.c.name, f.c.outcome)
    )
    if hotel_id is not None:
        query = query.where(f.c.hotel_id == hotel_id)
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for name, outcome, n in await conn.execute(query):
        group = outcome_group(str(outcome))
        groups[name][group] += int(n)
        if group == "skipped":
            reasons[name][str(outcome).removeprefix("skipped:")] += int(n)
    rows = []
    for name in sorted(groups):
        top = reasons[name].most_common(1)
        rows.append(
            (
                name,
                groups[name]["sent"],
                groups[name]["deferred"],
                groups[name]["skipped"],
                top[0][0] if top else "-",
            )
        )
    return Section(title, headers, tuple(rows))


async def _optouts_section(
    conn: AsyncConnection, schema: Schema, hotel_id: int | None, since: datetime
) -> Section:
    headers = ("day", "opt-outs")
    title = "Opt-outs (guests who asked for no automated messages)"
    g = view(schema, "guests", "hotel_id", "opted_out", "opted_out_at")
    if g is None:
        return _unavailable(title, headers, "the guests table")
    query = select(g.c.opted_out_at).where(g.c.opted_out_at >= since)
    if hotel_id is not None:
        query = query.where(g.c.hotel_id == hotel_id)
    per_day = Counter(when.date() for (when,) in await conn.execute(query))
    rows = [(d.isoformat(), n) for d, n in sorted(per_day.items())]
    rows.append(("total", sum(per_day.values())))
    return Section(title, headers, tuple(rows))


async def _signals_section(
    conn: AsyncConnection, schema: Schema, hotel_id: int | None, since: datetime
) -> Section:
    """Guest messages without words (domain.signals) per kind: how many came, how many
    raised an alert of their own; the rest were counted in other alerts or ignored, as the
    hotel's `signal_*` settings say."""
    headers = ("signal", "received", "alerted", "not alerted")
    title = "Guest signals (calls, voice notes, photos... without words)"
    m = view(schema, "messages", "id", "hotel_id", "direction", "sent_at", "analyser", "reason")
    a = view(schema, "alerts", "message_id")
    if m is None or a is None:
        return _unavailable(title, headers, "the messages/alerts tables")
    query = (
        select(m.c.reason, a.c.message_id.is_not(None), func.count())
        .select_from(m.outerjoin(a, a.c.message_id == m.c.id))
        .where(m.c.direction == "in", m.c.analyser == SIGNAL_ANALYSER, m.c.sent_at >= since)
        .group_by(m.c.reason, a.c.message_id.is_not(None))
    )
    if hotel_id is not None:
        query = query.where(m.c.hotel_id == hotel_id)
    received: Counter[str] = Counter()
    alerted: Counter[str] = Counter()
    for reason, has_alert, n in await conn.execute(query):
        kind = kind_of_reason(reason)
        if kind is None:
            continue
        received[kind.value] += int(n)
        if has_alert:
            alerted[kind.value] += int(n)
    rows: list[tuple[object, ...]] = [
        (
            kind.value,
            received[kind.value],
            alerted[kind.value],
            received[kind.value] - alerted[kind.value],
        )
        for kind in SignalKind
        if received[kind.value]
    ]
    total_in, total_alerted = sum(received.values()), sum(alerted.values())
    rows.append(("total", total_in, total_alerted, total_in - total_alerted))
    return Section(title, headers, tuple(rows))


async def _answers_section(conn: AsyncConnection, hotel_id: int | None, since: datetime) -> Section:
    """Guest questions answered from the hotel's facts (outbox kind "answer"; a fact's file
    is not counted as an answer of its own) per day and how far they got."""
    headers = ("day", "answered", "sent", "waiting", "failed")
    title = "Answers from the hotel's facts (docs/facts.md)"
    query = select(OutboxMessage.created_at, OutboxMessage.state).where(
        OutboxMessage.kind == OutboxKind.ANSWER,
        OutboxMessage.file_url.is_(None),
        OutboxMessage.created_at >= since,
    )
    if hotel_id is not None:
        query = query.where(OutboxMessage.hotel_id == hotel_id)
    per_day: dict[date, Counter[str]] = {}
    for created_at, state in await conn.execute(query):
        per_day.setdefault(created_at.date(), Counter())[str(state)] += 1
    rows: list[tuple[object, ...]] = []
    total: Counter[str] = Counter()
    for day, counts in sorted(per_day.items()):
        total.update(counts)
        rows.append(_answer_row(day.isoformat(), counts))
    if rows:
        rows.append(_answer_row("total", total))
    return Section(title, headers, tuple(rows))


def _answer_row(label: str, counts: Counter[str]) -> tuple[object, ...]:
    sent = counts[OutboxState.SENT]
    failed = counts[OutboxState.FAILED] + counts[OutboxState.CANCELLED]
    return (label, sum(counts.values()), sent, sum(counts.values()) - sent - failed, failed)


async def stats_report(
    conn: AsyncConnection, *, hotel_id: int | None, days: int, now: datetime
) -> list[Section]:
    """Activity of the last `days` UTC days (today included), for one hotel or all."""
    since = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), now.tzinfo)
    schema = await read_schema(conn)
    return [
        await _messages_section(conn, schema, hotel_id, since, now),
        await _alerts_section(conn, schema, hotel_id, since, now),
        await _triggers_section(conn, schema, hotel_id, since),
        await _optouts_section(conn, schema, hotel_id, since),
        await _signals_section(conn, schema, hotel_id, since),
        await _answers_section(conn, hotel_id, since),
        await _llm_section(conn, schema, hotel_id, since),
    ]


async def _llm_section(
    conn: AsyncConnection, schema: Schema, hotel_id: int | None, since: datetime
) -> Section:
    """LLM spend per day (table llm_usage): calls made, verdicts reused from the cache,
    messages left to the rules by a rate or the budget, tokens the provider reported."""
    headers = (
        "day",
        "calls",
        "cached",
        "limited",
        "prompt tokens",
        "completion tokens",
        "budget reached",
    )
    title = "LLM usage (llm.limits)"
    u = view(
        schema,
        "llm_usage",
        "hotel_id",
        "day",
        "calls",
        "cache_hits",
        "limited",
        "prompt_tokens",
        "completion_tokens",
        "over_budget_logged",
    )
    if u is None:
        return _unavailable(title, headers, "the llm_usage table")
    query = select(
        u.c.day,
        func.sum(u.c.calls),
        func.sum(u.c.cache_hits),
        func.sum(u.c.limited),
        func.sum(u.c.prompt_tokens),
        func.sum(u.c.completion_tokens),
        func.count().filter(u.c.over_budget_logged.is_(True)),
    ).where(u.c.day >= since.date().isoformat())
    if hotel_id is not None:
        query = query.where(u.c.hotel_id == hotel_id)
    rows: list[tuple[object, ...]] = []
    totals = [0, 0, 0, 0, 0]
    for day, *numbers, over in await conn.execute(query.group_by(u.c.day).order_by(u.c.day)):
        values = [int(n or 0) for n in numbers]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        budget = ("yes" if hotel_id is not None else f"{int(over)} hotel(s)") if over else ""
        rows.append((str(day), *values, budget))
    if rows:
        rows.append(("total", *totals, ""))
    return Section(title, headers, tuple(rows))
