"""The per-hotel status report behind `hotelbot status` (read-only).

It reads only the database, so it works while a daemon runs (the daemon writes hotel_status
every few seconds) and on a database whose newer tables are missing (alerts, leases: then
those columns stay empty). Tables are named through `introspect` (lightweight `table()`
constructs), not the mapped models: building the ORM mapping would cost `status` more than
all its queries together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.outbox import OPEN_STATES, OutboxState
from hotelbot.storage.introspect import lightweight, read_schema, view

__all__ = ["HotelStatusRow", "dead_letter_counts", "hotel_status_report"]

# Outbox states that still need the sender (the same as storage.backlog's).
_OPEN = tuple(sorted(OPEN_STATES))


@dataclass(frozen=True, slots=True)
class HotelStatusRow:
    slug: str
    enabled: bool
    instance_state: str | None
    polling: bool
    daemon: str | None
    stale: bool  # no fresh status from a daemon: what is shown may be old
    status_age_s: float | None
    healthy: bool
    unhealthy_reason: str | None
    last_error: str | None
    last_ok_at: datetime | None
    unprocessed: int
    outbox_open: int
    outbox_failed: int
    last_alert_at: datetime | None
    lease_owner: str | None
    dead_letters_24h: int = 0  # queue items set aside (not storable) in the last 24 hours
    open_alerts_24h: int = 0  # alerts of the last 24 hours nobody acknowledged yet
    timezone: str = "UTC"
    llm_calls_today: int = 0  # LLM calls of this UTC day (llm_usage)
    llm_over_budget_today: bool = False  # daily LLM budget reached: rules only until tomorrow
    hotel_id: int = 0
    default_language: str = ""

    @property
    def id(self) -> int:
        """The hotel's id (so a row can stand for its hotel in `ops.languages`)."""
        return self.hotel_id


async def _counts_by_hotel(conn: AsyncConnection, query: object) -> dict[int, int]:
    return {int(h): int(n) for h, n in await conn.execute(query)}  # type: ignore[call-overload]


async def hotel_status_report(
    conn: AsyncConnection, *, now: datetime, stale_after_s: float
) -> list[HotelStatusRow]:
    """One row per hotel (enabled or not), ordered by slug."""
    schema = await read_schema(conn)
    hotels_table = lightweight(
        "hotels", "id", "slug", "enabled", "instance_state", "timezone", "default_language"
    )
    hotels = (await conn.execute(select(*hotels_table.c).order_by(hotels_table.c.slug))).all()
    status_table = lightweight(
        "hotel_status", "hotel_id", "daemon", "polling", "healthy", "unhealthy_reason",
        "last_error", "last_ok_at", "updated_at",
    )  # fmt: skip
    status = {row.hotel_id: row for row in await conn.execute(select(*status_table.c))}
    notification = lightweight("notifications", "hotel_id", "processed_at")
    unprocessed = await _counts_by_hotel(
        conn,
        select(notification.c.hotel_id, func.count())
        .where(notification.c.processed_at.is_(None))
        .group_by(notification.c.hotel_id),
    )
    out = lightweight("outbox", "hotel_id", "state")
    outbox: dict[tuple[int, str], int] = {
        (int(h), str(s)): int(n)
        for h, s, n in await conn.execute(
            select(out.c.hotel_id, out.c.state, func.count()).group_by(out.c.hotel_id, out.c.state)
        )
    }
    last_alert: dict[int, datetime] = {}
    alerts = view(schema, "alerts", "hotel_id", "created_at")
    if alerts is not None:
        query = select(alerts.c.hotel_id, func.max(alerts.c.created_at)).group_by(alerts.c.hotel_id)
        last_alert = {int(h): t for h, t in await conn.execute(query) if t is not None}
    open_alerts: dict[int, int] = {}
    unacked = view(schema, "alerts", "hotel_id", "created_at", "acknowledged_at")
    if unacked is not None:
        open_alerts = await _counts_by_hotel(
            conn,
            select(unacked.c.hotel_id, func.count())
            .where(
                unacked.c.acknowledged_at.is_(None),
                unacked.c.created_at >= now - timedelta(hours=24),
            )
            .group_by(unacked.c.hotel_id),
        )
    llm_today: dict[int, tuple[int, bool]] = {}
    usage = view(schema, "llm_usage", "hotel_id", "day", "calls", "over_budget_logged")
    if usage is not None:
        query = select(usage.c.hotel_id, usage.c.calls, usage.c.over_budget_logged).where(
            usage.c.day == now.date().isoformat()
        )
        for row in await conn.execute(query):
            llm_today[int(row.hotel_id)] = (int(row.calls or 0), bool(row.over_budget_logged))
    dead_letters = await dead_letter_counts(conn, since=now - timedelta(hours=24))
    owners: dict[int, str | None] = {}
    leases = view(schema, "hotel_leases", "hotel_id", "owner", "expires_at")
    if leases is not None:
        query = select(leases.c.hotel_id, leases.c.owner, leases.c.expires_at)
        for lease in await conn.execute(query):
            live = lease.expires_at is not None and lease.expires_at > now
            owners[int(lease.hotel_id)] = lease.owner if live else None
    rows = []
    for hotel in hotels:
        st = status.get(hotel.id)
        age_s = (now - st.updated_at).total_seconds() if st is not None else None
        stale = age_s is None or age_s > stale_after_s
        rows.append(
            HotelStatusRow(
                hotel_id=int(hotel.id),
                default_language=hotel.default_language,
                slug=hotel.slug,
                enabled=bool(hotel.enabled),
                instance_state=hotel.instance_state,
                polling=bool(st.polling) and not stale if st is not None else False,
                daemon=st.daemon if st is not None else None,
                stale=stale,
                status_age_s=age_s,
                healthy=bool(st.healthy) if st is not None else True,
                unhealthy_reason=st.unhealthy_reason if st is not None else None,
                last_error=st.last_error if st is not None else None,
                last_ok_at=st.last_ok_at if st is not None else None,
                unprocessed=unprocessed.get(hotel.id, 0),
                outbox_open=sum(outbox.get((hotel.id, s), 0) for s in _OPEN),
                outbox_failed=outbox.get((hotel.id, OutboxState.FAILED), 0),
                last_alert_at=last_alert.get(hotel.id),
                lease_owner=owners.get(hotel.id),
                dead_letters_24h=dead_letters.get(hotel.id, 0),
                timezone=hotel.timezone,
                open_alerts_24h=open_alerts.get(hotel.id, 0),
                llm_calls_today=llm_today.get(hotel.id, (0, False))[0],
                llm_over_budget_today=llm_today.get(hotel.id, (0, False))[1],
            )
        )
    return rows


async def dead_letter_counts(conn: AsyncConnection, *, since: datetime) -> dict[int, int]:
    """Dead letters per hotel received since `since` (hotels with none are absent)."""
    dead = lightweight("dead_letters", "hotel_id", "received_at")
    return await _counts_by_hotel(
        conn,
        select(dead.c.hotel_id, func.count())
        .where(dead.c.received_at >= since)
        .group_by(dead.c.hotel_id),
    )
