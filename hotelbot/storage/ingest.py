"""Durable ingest with group commit: every hotel's notifications share few, fsynced commits.

Pollers call `await writer.store(...)`; it returns only after the row is committed (with
synchronous=FULL on SQLite: on disk). One writer task takes everything queued since its last
commit and commits it in one transaction, so under load a single fsync covers many hotels and
at low load a lone notification commits at once (no timer-based batching delay).

Idempotence: rows are keyed (hotel_id, dedupe_key). A duplicate delivery with the same body
changes nothing; one with a different body (a {{SWE001}} placeholder replaced by the real text)
replaces the body and marks the row unprocessed again. Dead letters are keyed by a fingerprint
of the raw text.

Fencing (several daemons, see storage/leases.py): with a `fence`, each item carries the lease
epoch its hotel was held under when `store()` was called, and the commit transaction locks the
hotel's lease row and compares (owner, epoch). Items whose lease moved on are left out of the
commit and their `store()` raises LeaseLost, so a daemon that was paused past its lease never
commits (and therefore never deletes upstream) for a hotel another daemon now serves.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.inbound import Delivery, MalformedDelivery
from hotelbot.storage.db import Database
from hotelbot.storage.leases import (
    LeaseLost,
    LeaseView,
    bound_idle_in_transaction,
    lock_owned_epochs,
)
from hotelbot.storage.models import DeadLetter, Notification
from hotelbot.storage.types import utcnow

CommitListener = Callable[[Sequence[int]], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class _Item:
    hotel_id: int
    entry: Delivery | MalformedDelivery
    received_at: datetime
    future: asyncio.Future[None]
    epoch: int | None = None  # lease epoch the item was received under (with a fence)


class WriterClosed(RuntimeError):
    """store() after close(): the daemon is shutting down; do not delete upstream."""


def _insert(db: Database, table: Any) -> Any:
    return (sqlite.insert if db.is_sqlite else postgresql.insert)(table)


def notification_upsert(db: Database) -> Insert:
    stmt = _insert(db, Notification)
    excluded = stmt.excluded
    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=[Notification.hotel_id, Notification.dedupe_key],
        set_={
            "body": excluded.body,
            "receipt_id": excluded.receipt_id,
            "processed_at": None,
            "process_attempts": 0,
            "process_error": None,
        },
        where=Notification.body != excluded.body,
    ).returning(Notification.id)
    return upsert


def dead_letter_insert(db: Database) -> Insert:
    stmt = _insert(db, DeadLetter)
    insert: Insert = stmt.on_conflict_do_nothing(
        index_elements=[DeadLetter.hotel_id, DeadLetter.fingerprint]
    )
    return insert


def fingerprint(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", errors="replace")).hexdigest()


class IngestWriter:
    """Group-committing writer. Run `run()` as a task; `close()` flushes and stops it.

    `store()` raises whatever the commit raised (e.g. "database is locked", disk full):
    then nothing of that batch is committed and the caller must not delete upstream.
    """

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 1000,
        fence: LeaseView | None = None,
        idle_in_transaction_timeout_s: float = 10.0,
    ) -> None:
        self._db = db
        self._max_batch = max_batch
        self._fence = fence
        self._idle_tx_timeout_s = idle_in_transaction_timeout_s
        self.fenced_rejections = 0
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._closed = False
        self._listeners: list[CommitListener] = []
        self.commits = 0
        self.rows = 0

    def on_commit(self, listener: CommitListener) -> None:
        """Call `listener(notification_ids)` after each commit that inserted or changed rows."""
        self._listeners.append(listener)

    async def store(self, hotel_id: int, entry: Delivery | MalformedDelivery) -> None:
        """Return once `entry` is committed. Raises WriterClosed after close(), LeaseLost
        (with a fence) when this daemon does not hold the hotel's lease (nothing committed),
        or whatever the commit raised."""
        if self._closed:
            raise WriterClosed("ingest writer is closed")
        epoch: int | None = None
        if self._fence is not None:
            epoch = self._fence.epoch_of(hotel_id)
            if epoch is None:
                raise LeaseLost(hotel_id)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(hotel_id, entry, utcnow(), future, epoch))
        # Shield: a poller cancelled while waiting must not cancel the shared commit.
        await asyncio.shield(future)

    async def close(self) -> None:
        """Stop accepting items, commit what is queued, let run() return."""
        self._closed = True
        self._queue.put_nowait(None)

    async def run(self) -> None:
        while True:
            first = await self._queue.get()
            batch: list[_Item] = [] if first is None else [first]
            stopping = first is None
            while not stopping and len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)
            if stopping:
                # Fail anything that raced in after close().
                while not self._queue.empty():
                    late = self._queue.get_nowait()
                    if late is not None and not late.future.done():
                        late.future.set_exception(WriterClosed("ingest writer is closed"))
                return

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            changed, rejected = await self._write(batch)
        except Exception as exc:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        self.commits += 1
        self.rows += len(batch) - len(rejected)
        self.fenced_rejections += len(rejected)
        for index, item in enumerate(batch):
            if item.future.done():
                continue
            if index in rejected:
                item.future.set_exception(LeaseLost(item.hotel_id, by_database=True))
            else:
                item.future.set_result(None)
        if changed:
            for listener in self._listeners:
                result = listener(changed)
                if result is not None:
                    await result

    async def _write(self, batch: list[_Item]) -> tuple[list[int], set[int]]:
        """Commit the batch; returns (changed notification ids, indices of fenced items).

        Priority write: pollers wait on this commit before deleting upstream; processor and
        sender transactions queued for the write lock go after it (bounded, see WriteGate)."""
        async with self._db.write(priority=True) as conn:
            rejected: set[int] = set()
            if self._fence is not None:
                await bound_idle_in_transaction(conn, self._idle_tx_timeout_s)
                owned = await lock_owned_epochs(
                    conn, self._fence.owner, {item.hotel_id for item in batch}
                )
                rejected = {
                    i for i, item in enumerate(batch) if owned.get(item.hotel_id) != item.epoch
                }
            accepted = [item for i, item in enumerate(batch) if i not in rejected]
            return await self._write_rows(conn, accepted), rejected

    async def _write_rows(self, conn: AsyncConnection, batch: list[_Item]) -> list[int]:
        notes: list[dict[str, Any]] = []
        dead: list[dict[str, Any]] = []
        for item in batch:
            entry = item.entry
            if isinstance(entry, Delivery):
                notes.append(
                    {
                        "hotel_id": item.hotel_id,
                        "receipt_id": entry.receipt_id,
                        "type_webhook": entry.type_webhook,
                        "dedupe_key": entry.dedupe_key,
                        "chat_id": entry.chat_id,
                        "id_message": entry.id_message,
                        "body": entry.body_json,
                        "received_at": item.received_at,
                    }
                )
            else:
                dead.append(
                    {
                        "hotel_id": item.hotel_id,
                        "receipt_id": entry.receipt_id,
                        "fingerprint": fingerprint(entry.raw),
                        "raw": entry.raw,
                        "error": entry.error,
                        "received_at": item.received_at,
                    }
                )
        changed: list[int] = []
        if notes:
            changed = await self._upsert_notes(conn, notes)
        if dead:
            await conn.execute(dead_letter_insert(self._db), dead)
        return changed

    async def _upsert_notes(self, conn: AsyncConnection, notes: list[dict[str, Any]]) -> list[int]:
        # Two deliveries of one event in the same batch would make a multi-row upsert touch
        # the same row twice (an error on PostgreSQL): keep the last of each key.
        unique = {(n["hotel_id"], n["dedupe_key"]): n for n in notes}
        result = await conn.execute(notification_upsert(self._db), list(unique.values()))
        return [int(row[0]) for row in result]
