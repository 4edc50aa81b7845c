"""Data protection: the retention purge, erasing one guest, exporting what is held about one.

What counts as personal data here: message text, guest and sender names, phone numbers,
raw notification bodies (they repeat all of it), stay names and rooms, outbox texts (alerts
quote guests), dead letters. What the purge keeps: row counts, directions, timestamps,
sentiment labels and scores, so `hotelbot stats` still works on old periods.

Tables are found by introspection (`storage.introspect`): a database without the messaging
or stay tables is purged of what it has. Every function is idempotent (running twice
changes nothing the second time) and safe while the daemon runs: each batch is one short
write transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, TableClause, and_, delete, exists, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.db import Database
from hotelbot.storage.introspect import Schema, read_schema, view
from hotelbot.storage.types import utcnow

PURGED_BODY = '{"purged": true}'
ERASED_TEXT = "[erased]"
_BATCH_ROWS = 500
_PHONE_DIGITS = re.compile(r"^\d{7,15}$")


@dataclass
class PurgeResult:
    """Rows changed per `table.column group`, e.g. {"messages.text": 120}."""

    changed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.changed.values())

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.changed.items()) if v) or "nothing"


def phone_digits(phone: str) -> str:
    """'+371 2000-0001', '37120000001@c.us' -> '37120000001'. Raises ValueError otherwise."""
    raw = phone.strip().removesuffix("@c.us")
    digits = re.sub(r"[\s()+.-]", "", raw)
    if not _PHONE_DIGITS.match(digits):
        raise ValueError(f"not a phone number: {phone!r} (expected 7 to 15 digits)")
    return digits


def _no_recent_stay(schema: Schema, owner: TableClause, cutoff_day: date) -> ColumnElement[bool]:
    """True for rows of `owner` (hotel_id, chat_id) whose chat has no stay ending on/after
    the cut-off day: data is kept `retention_days` after check-out, not after writing."""
    stays = view(schema, "stays", "hotel_id", "chat_id", "check_out")
    if stays is None:
        return true()
    return ~exists().where(
        stays.c.hotel_id == owner.c.hotel_id,
        stays.c.chat_id == owner.c.chat_id,
        stays.c.check_out >= cutoff_day,
    )


async def _batched(
    db: Database, target: TableClause, where: ColumnElement[bool], values: dict[str, Any]
) -> int:
    """UPDATE in id batches so the SQLite write lock is never held for long."""
    done = 0
    while True:
        ids = select(target.c.id).where(where).limit(_BATCH_ROWS).scalar_subquery()
        async with db.write() as conn:
            result = await conn.execute(update(target).where(target.c.id.in_(ids)).values(**values))
        done += result.rowcount
        if result.rowcount < _BATCH_ROWS:
            return done


async def purge_expired(
    db: Database, *, retention_days: int, now: datetime | None = None
) -> PurgeResult:
    """Erase personal data older than `retention_days` (see the module docstring).

    Old = written before the cut-off and, where stays exist, no stay of that chat checked
    out on or after the cut-off day. Unprocessed notifications are left alone (the
    processor still needs them). Raises ValueError for retention_days < 1.
    """
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    cutoff_day = cutoff.date()
    async with db.read() as conn:
        schema = await read_schema(conn)
    result = PurgeResult()
    changed = result.changed

    t = view(schema, "messages", "id", "hotel_id", "chat_id", "text", "sender_name", "sent_at")
    if t is not None:
        old = and_(t.c.sent_at < cutoff, _no_recent_stay(schema, t, cutoff_day))
        dirty = or_(t.c.text.is_not(None), t.c.sender_name.is_not(None))
        changed["messages.text"] = await _batched(
            db, t, and_(old, dirty), {"text": None, "sender_name": None}
        )

    t = view(
        schema, "notifications", "id", "hotel_id", "chat_id", "body", "received_at", "processed_at"
    )
    if t is not None:
        where = and_(
            t.c.received_at < cutoff,
            t.c.processed_at.is_not(None),
            t.c.body != PURGED_BODY,
            _no_recent_stay(schema, t, cutoff_day),
        )
        changed["notifications.body"] = await _batched(db, t, where, {"body": PURGED_BODY})

    t = view(schema, "dead_letters", "id", "raw", "received_at")
    if t is not None:
        where = and_(t.c.received_at < cutoff, t.c.raw != PURGED_BODY)
        changed["dead_letters.raw"] = await _batched(db, t, where, {"raw": PURGED_BODY})

    t = view(schema, "outbox", "id", "hotel_id", "chat_id", "text", "state", "created_at")
    if t is not None:
        where = and_(
            t.c.created_at < cutoff,
            t.c.state.in_(("sent", "failed")),
            t.c.text != ERASED_TEXT,
        )
        changed["outbox.text"] = await _batched(db, t, where, {"text": ERASED_TEXT})

    t = view(schema, "stays", "id", "guest_name", "room", "check_out")
    if t is not None:
        where = and_(t.c.check_out < cutoff_day, t.c.guest_name != ERASED_TEXT)
        changed["stays.guest_name"] = await _batched(
            db, t, where, {"guest_name": ERASED_TEXT, "room": None}
        )

    t = view(schema, "guests", "id", "hotel_id", "chat_id", "name", "phone", "updated_at")
    if t is not None:
        where = and_(
            t.c.updated_at < cutoff,
            or_(t.c.name.is_not(None), t.c.phone.is_not(None)),
            _no_recent_stay(schema, t, cutoff_day),
        )
        messages = view(schema, "messages", "hotel_id", "chat_id", "sent_at")
        if messages is not None:
            where = and_(
                where,
                ~exists().where(
                    messages.c.hotel_id == t.c.hotel_id,
                    messages.c.chat_id == t.c.chat_id,
                    messages.c.sent_at >= cutoff,
                ),
            )
        changed["guests.name"] = await _batched(db, t, where, {"name": None, "phone": None})
    return result


# -- one guest --------------------------------------------------------------------------------
async def _hotel_ids(conn: AsyncConnection, hotel_slug: str | None) -> dict[int, str]:
    hotels = view(await read_schema(conn), "hotels", "id", "slug")
    assert hotels is not None
    query = select(hotels.c.id, hotels.c.slug)
    if hotel_slug is not None:
        query = query.where(hotels.c.slug == hotel_slug)
    return {int(r[0]): str(r[1]) for r in await conn.execute(query)}


def _like(digits: str) -> str:
    return f"%{digits}%"


async def forget_guest(db: Database, phone: str, *, hotel_slug: str | None = None) -> PurgeResult:
    """Erase everything held about the guest with this phone number, at once.

    Deletes their messages, conversations, stays (and trigger fire records), guest rows,
    notifications (by chat, or mentioning the number), outbox messages to them and dead
    letters mentioning the number; staff alerts quoting them get their text replaced.
    One transaction. Raises ValueError for a malformed phone number or an unknown hotel.
    Idempotent: a second call finds nothing.
    """
    digits = phone_digits(phone)
    chat_id = f"{digits}@c.us"
    result = PurgeResult()
    n = result.changed
    async with db.write() as conn:
        schema = await read_schema(conn)
        hotel_ids = list(await _hotel_ids(conn, hotel_slug))
        if hotel_slug is not None and not hotel_ids:
            raise ValueError(f"no hotel with slug {hotel_slug!r}")

        def scoped(t: TableClause, *where: ColumnElement[bool]) -> ColumnElement[bool]:
            return and_(t.c.hotel_id.in_(hotel_ids), *where)

        async def run(key: str, stmt: Any) -> None:
            n[key] = n.get(key, 0) + (await conn.execute(stmt)).rowcount

        msgs = view(schema, "messages", "id", "hotel_id", "chat_id")
        alerts = view(schema, "alerts", "id", "message_id", "outbox_id")
        outbox = view(schema, "outbox", "id", "hotel_id", "chat_id", "text")
        if msgs is not None and alerts is not None:
            their_messages = select(msgs.c.id).where(scoped(msgs, msgs.c.chat_id == chat_id))
            if outbox is not None:
                quoted = select(alerts.c.outbox_id).where(alerts.c.message_id.in_(their_messages))
                await run(
                    "outbox.alert_text",
                    update(outbox).where(outbox.c.id.in_(quoted)).values(text=ERASED_TEXT),
                )
            await run("alerts", delete(alerts).where(alerts.c.message_id.in_(their_messages)))
        if outbox is not None:
            mentions = and_(outbox.c.chat_id != chat_id, outbox.c.text.like(_like(digits)))
            await run(
                "outbox.alert_text",
                update(outbox).where(scoped(outbox, mentions)).values(text=ERASED_TEXT),
            )
            await run("outbox", delete(outbox).where(scoped(outbox, outbox.c.chat_id == chat_id)))
        if msgs is not None:
            await run("messages", delete(msgs).where(scoped(msgs, msgs.c.chat_id == chat_id)))
        conv = view(schema, "conversations", "id", "hotel_id", "chat_id")
        if conv is not None:
            await run("conversations", delete(conv).where(scoped(conv, conv.c.chat_id == chat_id)))
        stays = view(schema, "stays", "id", "hotel_id", "chat_id")
        if stays is not None:
            their_stays = select(stays.c.id).where(scoped(stays, stays.c.chat_id == chat_id))
            fires = view(schema, "trigger_fires", "id", "stay_id")
            if fires is not None:
                await run("trigger_fires", delete(fires).where(fires.c.stay_id.in_(their_stays)))
            await run("stays", delete(stays).where(scoped(stays, stays.c.chat_id == chat_id)))
        guests = view(schema, "guests", "id", "hotel_id", "chat_id", "phone")
        if guests is not None:
            who = or_(guests.c.chat_id == chat_id, guests.c.phone == digits)
            await run("guests", delete(guests).where(scoped(guests, who)))
        notes = view(schema, "notifications", "id", "hotel_id", "chat_id", "body")
        if notes is not None:
            who = or_(notes.c.chat_id == chat_id, notes.c.body.like(_like(digits)))
            await run("notifications", delete(notes).where(scoped(notes, who)))
        dead = view(schema, "dead_letters", "id", "hotel_id", "raw")
        if dead is not None:
            await run(
                "dead_letters", delete(dead).where(scoped(dead, dead.c.raw.like(_like(digits))))
            )
    return result


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(result: Iterable[Any]) -> list[dict[str, object]]:
    return [{k: _jsonable(v) for k, v in row._mapping.items()} for row in result]


async def export_guest(
    db: Database, phone: str, *, hotel_slug: str | None = None
) -> dict[str, Any]:
    """Everything held about the guest with this phone number, as a JSON-ready dict:
    {"phone", "chat_id", "exported_at", "hotels": {id: slug}, "tables": {name: [rows]}}.
    Raw notification bodies are included parsed. Read-only. Raises ValueError like
    `forget_guest`."""
    digits = phone_digits(phone)
    chat_id = f"{digits}@c.us"
    tables: dict[str, list[dict[str, object]]] = {}
    async with db.read() as conn:
        schema = await read_schema(conn)
        hotels = await _hotel_ids(conn, hotel_slug)
        if hotel_slug is not None and not hotels:
            raise ValueError(f"no hotel with slug {hotel_slug!r}")
        ids = list(hotels)

        def full(name: str) -> TableClause | None:
            return view(schema, name, *sorted(schema.get(name, ())))

        for name in ("guests", "conversations", "messages", "stays", "outbox", "notifications"):
            t = full(name)
            if t is None or "chat_id" not in t.c or "hotel_id" not in t.c:
                continue
            who = t.c.chat_id == chat_id
            if name == "guests" and "phone" in t.c:
                who = or_(who, t.c.phone == digits)
            query = select(t).where(t.c.hotel_id.in_(ids), who)
            order = t.c.get("id")
            rows = _rows(await conn.execute(query.order_by(order) if order is not None else query))
            if name == "notifications":
                for row in rows:
                    row["body"] = _parsed(str(row.get("body", "")))
            tables[name] = rows
        alerts, msgs = full("alerts"), view(schema, "messages", "id", "hotel_id", "chat_id")
        if alerts is not None and msgs is not None and "message_id" in alerts.c:
            theirs = select(msgs.c.id).where(msgs.c.hotel_id.in_(ids), msgs.c.chat_id == chat_id)
            tables["alerts"] = _rows(
                await conn.execute(select(alerts).where(alerts.c.message_id.in_(theirs)))
            )
        fires, stays = full("trigger_fires"), view(schema, "stays", "id", "hotel_id", "chat_id")
        if fires is not None and stays is not None and "stay_id" in fires.c:
            theirs = select(stays.c.id).where(stays.c.hotel_id.in_(ids), stays.c.chat_id == chat_id)
            tables["trigger_fires"] = _rows(
                await conn.execute(select(fires).where(fires.c.stay_id.in_(theirs)))
            )
    return {
        "phone": digits,
        "chat_id": chat_id,
        "exported_at": utcnow().isoformat(),
        "hotels": {str(k): v for k, v in hotels.items()},
        "tables": tables,
    }


def _parsed(body: str) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body
