"""The per-hotel status report behind `hotelbot status` (read-only), from one query.

It reads only the database, so it works while a daemon runs (the daemon writes hotel_status
every few seconds). One SELECT answers everything `status` shows: the schema revision, each
hotel with its status row, backlog, outbox, alerts, LLM use of the day, dead letters, lease
and (optionally) the languages its guests wrote in. One statement is one consistent snapshot
on both databases, and one round trip.

The statement is plain SQL (one fragment differs per dialect), so it runs through SQLAlchemy
(`read_status`, any database), through the standard library's sqlite3 module
(`read_sqlite_status`) and through asyncpg alone (`read_pg_status`): `hotelbot status` then
needs no SQLAlchemy, whose import cost it more than everything else together, and on SQLite
no event loop either. SQLAlchemy is imported only inside the functions that use it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotelbot.domain.outbox import OPEN_STATES, OutboxState
from hotelbot.storage.pg_limits import PgSessionLimits
from hotelbot.storage.schema import SCHEMA_HEAD
from hotelbot.storage.sqlite_file import check_sqlite_file

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from hotelbot.storage.db import Database

__all__ = [
    "HotelStatusRow",
    "StatusReport",
    "checked_status_report",
    "dead_letter_counts",
    "hotel_status_report",
    "language_mix",
    "read_pg_status",
    "read_sqlite_status",
    "read_status",
    "read_status_directly",
]


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


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What the one query found. `schema_version`: the Alembic revision the database records
    (None: none); the rest means something only when it is `schema.SCHEMA_HEAD`.
    `languages`: hotel id -> language -> analysed guest messages sent since the
    `languages_since` asked for (empty when not asked for; hotels without any are absent)."""

    schema_version: str | None
    hotels: list[HotelStatusRow]
    languages: dict[int, Counter[str]] = field(default_factory=dict)


def _states(states: Iterable[OutboxState]) -> str:
    # Our own enum's values, never input: inlined so the statement has no list parameter.
    return ", ".join(f"'{state.value}'" for state in sorted(states))


# Each aggregate is a grouped derived table joined to the hotel (one scan each, as many rows as
# hotels), not a correlated subquery per hotel. hotel_status, llm_usage (per day) and
# hotel_leases have at most one row per hotel, so no join multiplies rows. The revision comes
# first so an empty database still answers with one row (no hotel). `:name` parameters suit
# both sqlite3 and SQLAlchemy's text(); no other colon may appear (PostgreSQL casts are
# spelled CAST).
_SELECT = f"""
SELECT v.schema_version,
       h.id, h.slug, h.enabled, h.instance_state, h.timezone, h.default_language,
       s.hotel_id AS status_hotel_id, s.daemon, s.polling, s.healthy, s.unhealthy_reason,
       s.last_error, s.last_ok_at, s.updated_at AS status_at,
       n.unprocessed, o.outbox_open, o.outbox_failed, a.last_alert_at, a.open_alerts,
       u.calls AS llm_calls, u.over_budget_logged, d.dead_letters,
       l.owner AS lease_owner, l.expires_at AS lease_expires_at{{languages_column}}
FROM (SELECT max(version_num) AS schema_version FROM alembic_version) v
LEFT JOIN hotels h ON 1 = 1
LEFT JOIN hotel_status s ON s.hotel_id = h.id
LEFT JOIN (
    SELECT hotel_id, count(*) AS unprocessed FROM notifications
    WHERE processed_at IS NULL GROUP BY hotel_id
) n ON n.hotel_id = h.id
LEFT JOIN (
    SELECT hotel_id,
           sum(CASE WHEN state = '{OutboxState.FAILED.value}' THEN 0 ELSE 1 END) AS outbox_open,
           sum(CASE WHEN state = '{OutboxState.FAILED.value}' THEN 1 ELSE 0 END)
               AS outbox_failed
    FROM outbox WHERE state IN ({_states({*OPEN_STATES, OutboxState.FAILED})})
    GROUP BY hotel_id
) o ON o.hotel_id = h.id
LEFT JOIN (
    SELECT hotel_id, max(created_at) AS last_alert_at,
           sum(CASE WHEN acknowledged_at IS NULL AND created_at >= :day_ago THEN 1 ELSE 0 END)
               AS open_alerts
    FROM alerts GROUP BY hotel_id
) a ON a.hotel_id = h.id
LEFT JOIN llm_usage u ON u.hotel_id = h.id AND u.day = :today
LEFT JOIN (
    SELECT hotel_id, count(*) AS dead_letters FROM dead_letters
    WHERE received_at >= :day_ago GROUP BY hotel_id
) d ON d.hotel_id = h.id
LEFT JOIN hotel_leases l ON l.hotel_id = h.id{{languages_join}}
ORDER BY h.slug
"""

_LANGUAGES_JOIN = """
LEFT JOIN (
    SELECT hotel_id, {aggregate} AS languages FROM (
        SELECT hotel_id, language, count(*) AS messages FROM messages
        WHERE direction = 'in' AND sent_at >= :languages_since
              AND analyser IS NOT NULL AND language IS NOT NULL
        GROUP BY hotel_id, language
    ) per_language GROUP BY hotel_id
) m ON m.hotel_id = h.id"""

# language -> count as one JSON object per hotel (text on both databases).
_JSON_OBJECT_AGG = {
    "sqlite": "json_group_object(language, messages)",
    "postgresql": "CAST(json_object_agg(language, messages) AS TEXT)",
}


def status_sql(dialect: str, *, languages: bool) -> str:
    """The statement for `dialect` ("sqlite" or "postgresql"); `languages` adds the language
    mix (parameter `languages_since`)."""
    if not languages:
        return _SELECT.format(languages_column="", languages_join="")
    return _SELECT.format(
        languages_column=", m.languages",
        languages_join=_LANGUAGES_JOIN.format(aggregate=_JSON_OBJECT_AGG[dialect]),
    )


def _bind_time(value: datetime, *, sqlite: bool) -> object:
    # What UtcDateTime stores: naive UTC text in SQLAlchemy's SQLite format (compared as
    # text, so the format must match to the microsecond), an aware time on PostgreSQL.
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value


def _params(now: datetime, languages_since: datetime | None, *, sqlite: bool) -> dict[str, object]:
    params: dict[str, object] = {
        "day_ago": _bind_time(now - timedelta(hours=24), sqlite=sqlite),
        "today": now.astimezone(UTC).date().isoformat(),
    }
    if languages_since is not None:
        params["languages_since"] = _bind_time(languages_since, sqlite=sqlite)
    return params


def _utc(value: object) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite returns text without a zone (the
    stored UTC), PostgreSQL an aware datetime."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        raise TypeError(f"not a stored time: {type(value).__name__}")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _count(value: Any) -> int:
    return 0 if value is None else int(value)


def _decode(
    records: Iterable[Mapping[Any, Any]], *, now: datetime, stale_after_s: float
) -> StatusReport:
    version: str | None = None
    rows: list[HotelStatusRow] = []
    languages: dict[int, Counter[str]] = {}
    for record in records:
        version = record["schema_version"]
        if record["id"] is None:  # no hotel: the revision's row alone
            continue
        hotel_id = int(record["id"])
        has_status = record["status_hotel_id"] is not None
        status_at = _utc(record["status_at"])
        age_s = (now - status_at).total_seconds() if status_at is not None else None
        stale = age_s is None or age_s > stale_after_s
        expires_at = _utc(record["lease_expires_at"])
        live_lease = expires_at is not None and expires_at > now
        rows.append(
            HotelStatusRow(
                hotel_id=hotel_id,
                default_language=record["default_language"],
                slug=record["slug"],
                enabled=bool(record["enabled"]),
                instance_state=record["instance_state"],
                polling=bool(record["polling"]) and not stale if has_status else False,
                daemon=record["daemon"] if has_status else None,
                stale=stale,
                status_age_s=age_s,
                healthy=bool(record["healthy"]) if has_status else True,
                unhealthy_reason=record["unhealthy_reason"] if has_status else None,
                last_error=record["last_error"] if has_status else None,
                last_ok_at=_utc(record["last_ok_at"]) if has_status else None,
                unprocessed=_count(record["unprocessed"]),
                outbox_open=_count(record["outbox_open"]),
                outbox_failed=_count(record["outbox_failed"]),
                last_alert_at=_utc(record["last_alert_at"]),
                lease_owner=record["lease_owner"] if live_lease else None,
                dead_letters_24h=_count(record["dead_letters"]),
                timezone=record["timezone"],
                open_alerts_24h=_count(record["open_alerts"]),
                llm_calls_today=_count(record["llm_calls"]),
                llm_over_budget_today=bool(record["over_budget_logged"]),
            )
        )
        mix = record.get("languages")
        if mix:
            counts = json.loads(mix) if isinstance(mix, str) else mix
            languages[hotel_id] = Counter({str(k): int(n) for k, n in counts.items()})
    return StatusReport(version, rows, languages)


async def read_status(
    conn: AsyncConnection,
    *,
    now: datetime,
    stale_after_s: float,
    languages_since: datetime | None = None,
) -> StatusReport:
    """The report from one statement on `conn` (either database). Raises SQLAlchemy's
    DBAPIError when a table is missing (an older schema) or the database fails."""
    from sqlalchemy import text

    dialect = conn.dialect.name
    sql = status_sql(dialect, languages=languages_since is not None)
    params = _params(now, languages_since, sqlite=dialect == "sqlite")
    result = await conn.execute(text(sql), params)
    return _decode(result.mappings().all(), now=now, stale_after_s=stale_after_s)


async def hotel_status_report(
    conn: AsyncConnection, *, now: datetime, stale_after_s: float
) -> list[HotelStatusRow]:
    """One row per hotel (enabled or not), ordered by slug."""
    return (await read_status(conn, now=now, stale_after_s=stale_after_s)).hotels


async def checked_status_report(
    db: Database,
    *,
    now: datetime,
    stale_after_s: float,
    languages_since: datetime | None = None,
) -> StatusReport:
    """`read_status` in a read transaction of `db`, the schema checked by the same query:
    when the revision is not SCHEMA_HEAD or the statement fails, `schema.check_schema` says
    why in its usual words (SchemaError, or ConfigError for an unreadable SQLite file);
    otherwise the database error propagates."""
    from sqlalchemy.exc import DBAPIError

    from hotelbot.storage.schema import check_schema

    for _ in range(2):
        try:
            async with db.read() as conn:
                report = await read_status(
                    conn, now=now, stale_after_s=stale_after_s, languages_since=languages_since
                )
        except DBAPIError:
            await check_schema(db)
            raise
        if report.schema_version == SCHEMA_HEAD:
            return report
        await check_schema(db)  # raises, unless an upgrade finished in between: read again
    return report


def sqlite_file_of(url: str) -> Path | None:
    """The file of a plain SQLite URL (`sqlite:///path`, `sqlite+aiosqlite:////abs/path`);
    None for anything else (another database, :memory:, query options, escapes), which
    `read_sqlite_status` leaves to SQLAlchemy's parser."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme not in ("sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"):
        return None
    if not rest or rest == ":memory:" or any(ch in rest for ch in "?#%"):
        return None
    return Path(rest)


def read_sqlite_status(
    url: str,
    *,
    busy_timeout_ms: int,
    now: datetime,
    stale_after_s: float,
    languages_since: datetime | None = None,
) -> StatusReport | None:
    """The report straight from a SQLite file with the standard library (no SQLAlchemy, no
    event loop), or None when this path cannot answer and `checked_status_report` must: not
    a plain SQLite URL, a schema other than SCHEMA_HEAD, or any SQLite error (that path
    reports it in the usual words). Raises ConfigError for a missing or inaccessible file,
    as opening the database would (`check_sqlite_file`). Read-only: one SELECT in
    autocommit mode, which SQLite runs as one read transaction."""
    path = sqlite_file_of(url)
    if path is None:
        return None
    check_sqlite_file(path, create=False)
    sql = status_sql("sqlite", languages=languages_since is not None)
    params = _params(now, languages_since, sqlite=True)
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
        try:
            cursor = conn.execute(sql, params)
            names = [column[0] for column in cursor.description]
            records = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    report = _decode(records, now=now, stale_after_s=stale_after_s)
    return report if report.schema_version == SCHEMA_HEAD else None


def _pg_connect_args(url: str) -> dict[str, Any] | None:
    """asyncpg.connect's arguments for a plain `postgresql+asyncpg://user:password@host:port/
    database` URL (user, password and database %-decoded, as SQLAlchemy's URL parser does);
    None for anything else (query options such as ssl or host=/run/postgresql, several
    hosts, no host), which `read_status_directly` leaves to SQLAlchemy."""
    from urllib.parse import unquote, urlsplit

    if not url.startswith("postgresql+asyncpg://"):
        return None
    parts = urlsplit(url)
    database = parts.path.removeprefix("/")
    if parts.query or parts.fragment or "," in parts.netloc or not database or "/" in database:
        return None
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return None
    if not host:
        return None
    args: dict[str, Any] = {"host": host, "database": unquote(database)}
    if port is not None:
        args["port"] = port
    if parts.username is not None:
        args["user"] = unquote(parts.username)
    if parts.password is not None:
        args["password"] = unquote(parts.password)
    return args


def _numbered(sql: str) -> tuple[str, list[str]]:
    """`:name` parameters as asyncpg's `$1, $2...` (one number per name), and the names in
    number order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r":(\w+)", number, sql), names


def read_pg_status(
    url: str,
    *,
    now: datetime,
    stale_after_s: float,
    languages_since: datetime | None = None,
    limits: PgSessionLimits | None = None,
) -> StatusReport | None:
    """The report from PostgreSQL through asyncpg alone (no SQLAlchemy), on one connection
    with the session bounds every Database session has (`limits`, default
    `PgSessionLimits()`); None when this path cannot answer and `checked_status_report`
    must: not a plain URL (`_pg_connect_args`), a schema other than SCHEMA_HEAD, or any
    database error (that path reports it in the usual words). An OSError (server down or
    unreachable) propagates as it would from SQLAlchemy's path, without a second wait.
    Not for PgBouncer in transaction mode (it refuses session settings). Runs its own event
    loop: call it outside one."""
    args = _pg_connect_args(url)
    if args is None:
        return None
    import asyncio

    import asyncpg

    bounds = limits or PgSessionLimits()
    sql, names = _numbered(status_sql("postgresql", languages=languages_since is not None))
    params = _params(now, languages_since, sqlite=False)

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(
            **args,
            command_timeout=bounds.command_timeout_s,
            server_settings=bounds.server_settings(),
        )
        try:
            rows = await conn.fetch(sql, *(params[name] for name in names))
        finally:
            await conn.close()
        return [dict(row.items()) for row in rows]

    try:
        records = asyncio.run(fetch())
    except OSError:
        raise
    except Exception:  # any other failure: SQLAlchemy's path says what it is
        return None
    report = _decode(records, now=now, stale_after_s=stale_after_s)
    return report if report.schema_version == SCHEMA_HEAD else None


def read_status_directly(
    url: str,
    *,
    busy_timeout_ms: int,
    pgbouncer: bool,
    now: datetime,
    stale_after_s: float,
    languages_since: datetime | None = None,
) -> StatusReport | None:
    """`read_sqlite_status` or `read_pg_status` by the URL's database (not through
    PgBouncer); None when neither can answer (then `checked_status_report`)."""
    if url.startswith("sqlite"):
        return read_sqlite_status(
            url,
            busy_timeout_ms=busy_timeout_ms,
            now=now,
            stale_after_s=stale_after_s,
            languages_since=languages_since,
        )
    if pgbouncer:
        return None
    return read_pg_status(
        url, now=now, stale_after_s=stale_after_s, languages_since=languages_since
    )


async def dead_letter_counts(conn: AsyncConnection, *, since: datetime) -> dict[int, int]:
    """Dead letters per hotel received since `since` (hotels with none are absent)."""
    from sqlalchemy import func, select

    from hotelbot.storage.introspect import lightweight

    dead = lightweight("dead_letters", "hotel_id", "received_at")
    query = (
        select(dead.c.hotel_id, func.count())
        .where(dead.c.received_at >= since)
        .group_by(dead.c.hotel_id)
    )
    return {int(h): int(n) for h, n in await conn.execute(query)}


async def language_mix(conn: AsyncConnection, *, since: datetime) -> dict[int, Counter[str]]:
    """hotel id -> language -> analysed guest messages sent since `since` (the status
    statement's language mix, through SQLAlchemy; hotels without any are absent). Read-only."""
    from sqlalchemy import func, select

    from hotelbot.storage.introspect import lightweight

    # a lightweight table, not the mapped model: `doctor` needs no other ORM query
    message = lightweight("messages", "hotel_id", "language", "direction", "sent_at", "analyser")
    rows = await conn.execute(
        select(message.c.hotel_id, message.c.language, func.count())
        .where(
            message.c.direction == "in",
            message.c.sent_at >= since,
            message.c.analyser.is_not(None),
            message.c.language.is_not(None),
        )
        .group_by(message.c.hotel_id, message.c.language)
    )
    mix: dict[int, Counter[str]] = {}
    for hotel_id, language, count in rows:
        mix.setdefault(int(hotel_id), Counter())[str(language)] += int(count)
    return mix
