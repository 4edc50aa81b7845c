"""The SQL of the retention purge (`hotelbot.ops.retention.purge_expired` holds what is old,
what is erased and in which order).

Tables are found by introspection (`storage.introspect`): each step returns None when the
database lacks its table (or a column it needs), so a database without the messaging or stay
tables is purged of what it has. Each step is a batched UPDATE: `_BATCH_ROWS` rows per short
write transaction, so the SQLite write lock is never held for long and the purge is safe
while the daemon runs. Every step is idempotent: a row it changed no longer matches it, so
running it twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, TableClause, and_, exists, or_, select, true, update

from hotelbot.domain.erasure import ERASED_TEXT
from hotelbot.domain.outbox import FINAL_STATES
from hotelbot.storage.db import Database
from hotelbot.storage.introspect import Schema, read_schema, view

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


class SqlRetentionPurge:
    """The purge's steps on `db`, against the schema read once by `open`.

    Each step takes the cut-off instant (rows written before it are old; `cutoff.date()` is
    the cut-off day for stays) and returns the rows it changed, or None when the database
    has no such table. Database errors propagate as SQLAlchemy raises them; batches already
    committed stay committed (a rerun finishes the work)."""

    def __init__(self, db: Database, schema: Schema) -> None:
        self._db = db
        self._schema = schema

    @classmethod
    async def open(cls, db: Database) -> SqlRetentionPurge:
        """Read which tables and columns the database has (one read transaction)."""
        async with db.read() as conn:
            schema = await read_schema(conn)
        return cls(db, schema)

    async def message_texts(self, cutoff: datetime) -> int | None:
        """Old messages lose text, sender name and the LLM's reason (which may quote)."""
        s = self._schema
        t = view(
            s, "messages", "id", "hotel_id", "chat_id", "text", "sender_name", "reason", "sent_at"
        )
        if t is None:
            return None
        old = and_(t.c.sent_at < cutoff, _no_recent_stay(s, t, cutoff.date()))
        dirty = or_(t.c.text.is_not(None), t.c.sender_name.is_not(None), t.c.reason.is_not(None))
        return await _batched(
            self._db, t, and_(old, dirty), {"text": None, "sender_name": None, "reason": None}
        )

    async def alert_reasons(self, cutoff: datetime) -> int | None:
        """Old alerts' reasons become `ERASED_TEXT`."""
        t = view(self._schema, "alerts", "id", "reason", "created_at")
        if t is None:
            return None
        where = and_(t.c.created_at < cutoff, t.c.reason != ERASED_TEXT)
        return await _batched(self._db, t, where, {"reason": ERASED_TEXT})

    async def notification_bodies(self, cutoff: datetime) -> int | None:
        """Old processed notifications' bodies become `PURGED_BODY`, their errors None.
        Unprocessed ones are left alone (the processor still needs them)."""
        s = self._schema
        t = view(
            s,
            "notifications",
            "id",
            "hotel_id",
            "chat_id",
            "body",
            "received_at",
            "processed_at",
            "process_error",
        )
        if t is None:
            return None
        where = and_(
            t.c.received_at < cutoff,
            t.c.processed_at.is_not(None),
            or_(t.c.body != PURGED_BODY, t.c.process_error.is_not(None)),
            _no_recent_stay(s, t, cutoff.date()),
        )
        return await _batched(self._db, t, where, {"body": PURGED_BODY, "process_error": None})

    async def dead_letter_raws(self, cutoff: datetime) -> int | None:
        """Old dead letters' raw items become `PURGED_BODY` (encoding utf-8)."""
        t = view(self._schema, "dead_letters", "id", "raw", "raw_encoding", "received_at")
        if t is None:
            return None
        where = and_(t.c.received_at < cutoff, t.c.raw != PURGED_BODY)
        return await _batched(self._db, t, where, {"raw": PURGED_BODY, "raw_encoding": "utf-8"})

    async def outbox_texts(self, cutoff: datetime) -> int | None:
        """Old finished outbox rows' texts become `ERASED_TEXT` (open rows are kept)."""
        t = view(self._schema, "outbox", "id", "hotel_id", "chat_id", "text", "state", "created_at")
        if t is None:
            return None
        where = and_(
            t.c.created_at < cutoff,
            t.c.state.in_(FINISHED_OUTBOX_STATES),
            t.c.text != ERASED_TEXT,
        )
        return await _batched(self._db, t, where, {"text": ERASED_TEXT})

    async def stay_names(self, cutoff: datetime) -> int | None:
        """Stays that checked out before the cut-off day lose guest name and room."""
        t = view(self._schema, "stays", "id", "guest_name", "room", "check_out")
        if t is None:
            return None
        where = and_(t.c.check_out < cutoff.date(), t.c.guest_name != ERASED_TEXT)
        return await _batched(self._db, t, where, {"guest_name": ERASED_TEXT, "room": None})

    async def guest_contacts(self, cutoff: datetime) -> int | None:
        """Guests not updated since the cut-off lose name and phone, unless their chat has a
        recent stay or (where messages exist) a message sent since the cut-off."""
        s = self._schema
        t = view(s, "guests", "id", "hotel_id", "chat_id", "name", "phone", "updated_at")
        if t is None:
            return None
        where = and_(
            t.c.updated_at < cutoff,
            or_(t.c.name.is_not(None), t.c.phone.is_not(None)),
            _no_recent_stay(s, t, cutoff.date()),
        )
        messages = view(s, "messages", "hotel_id", "chat_id", "sent_at")
        if messages is not None:
            where = and_(
                where,
                ~exists().where(
                    messages.c.hotel_id == t.c.hotel_id,
                    messages.c.chat_id == t.c.chat_id,
                    messages.c.sent_at >= cutoff,
                ),
            )
        return await _batched(self._db, t, where, {"name": None, "phone": None})
