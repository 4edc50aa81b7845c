"""Data protection: the retention purge (forgetting one guest: app/forget_guest.py).

What counts as personal data here: message text, guest and sender names, phone numbers,
raw notification bodies (they repeat all of it), stay names and rooms, outbox texts (alerts
quote guests), dead letters, and the free text an LLM wrote about a message (`reason`, it may
quote the guest). What the purge keeps: row counts, directions, timestamps, sentiment labels
and scores, so `hotelbot stats` still works on old periods.

Tables are found by introspection (`storage.introspect`): a database without the messaging
or stay tables is purged of what it has. Every function is idempotent (running twice
changes nothing the second time) and safe while the daemon runs: each batch is one short
write transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, TableClause, and_, exists, or_, select, true, update

from hotelbot.domain.erasure import ERASED_TEXT, PurgeResult
from hotelbot.domain.outbox import FINAL_STATES
from hotelbot.storage.db import Database
from hotelbot.storage.introspect import Schema, read_schema, view
from hotelbot.storage.types import utcnow

PURGED_BODY = '{"purged": true}'
_BATCH_ROWS = 500
# Outbox rows in these states are finished: nothing will send them any more.
FINISHED_OUTBOX_STATES = tuple(sorted(FINAL_STATES))


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

    t = view(
        schema, "messages", "id", "hotel_id", "chat_id", "text", "sender_name", "reason", "sent_at"
    )
    if t is not None:
        old = and_(t.c.sent_at < cutoff, _no_recent_stay(schema, t, cutoff_day))
        dirty = or_(t.c.text.is_not(None), t.c.sender_name.is_not(None), t.c.reason.is_not(None))
        changed["messages.text"] = await _batched(
            db, t, and_(old, dirty), {"text": None, "sender_name": None, "reason": None}
        )

    t = view(schema, "alerts", "id", "reason", "created_at")
    if t is not None:
        where = and_(t.c.created_at < cutoff, t.c.reason != ERASED_TEXT)
        changed["alerts.reason"] = await _batched(db, t, where, {"reason": ERASED_TEXT})

    t = view(
        schema, "notifications", "id", "hotel_id", "chat_id", "body", "received_at",
        "processed_at", "process_error",
    )  # fmt: skip
    if t is not None:
        where = and_(
            t.c.received_at < cutoff,
            t.c.processed_at.is_not(None),
            or_(t.c.body != PURGED_BODY, t.c.process_error.is_not(None)),
            _no_recent_stay(schema, t, cutoff_day),
        )
        changed["notifications.body"] = await _batched(
            db, t, where, {"body": PURGED_BODY, "process_error": None}
        )

    t = view(schema, "dead_letters", "id", "raw", "raw_encoding", "received_at")
    if t is not None:
        where = and_(t.c.received_at < cutoff, t.c.raw != PURGED_BODY)
        changed["dead_letters.raw"] = await _batched(
            db, t, where, {"raw": PURGED_BODY, "raw_encoding": "utf-8"}
        )

    t = view(schema, "outbox", "id", "hotel_id", "chat_id", "text", "state", "created_at")
    if t is not None:
        where = and_(
            t.c.created_at < cutoff,
            t.c.state.in_(FINISHED_OUTBOX_STATES),
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
