"""Durable ingest with group commit: every hotel's notifications share few, fsynced commits.

Pollers call `await writer.store(...)`; it returns only after the row is committed (with
synchronous=FULL on SQLite: on disk). One writer task takes everything queued since its last
commit and commits it in one transaction, so under load a single fsync covers many hotels and
at low load a lone notification commits at once (no timer-based batching delay).

Idempotence: rows are keyed (hotel_id, dedupe_key). A duplicate delivery with the same body
changes nothing; one with a different body (a {{SWE001}} placeholder replaced by the real text)
replaces the body and marks the row unprocessed again. Dead letters are keyed by a fingerprint
of the raw bytes.

Isolation: a failed group commit is retried one item per transaction; an item that keeps
failing on its own ends in dead_letters (see IngestWriter), so no item can stall its hotel or
the hotels it shares commits with.

Fencing (several daemons, see storage/leases.py): with a `fence`, each item carries the lease
epoch its hotel was held under when `store()` was called, and the commit transaction (a unit of
work, storage/unit_of_work.py) locks the hotel's lease row and compares (owner, epoch). Items
whose lease moved on are left out of the commit and their `store()` raises LeaseLost, so a
daemon that was paused past its lease never commits (and therefore never deletes upstream) for
a hotel another daemon now serves.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from loguru import logger
from sqlalchemy import Insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.crashpoints import fail_point
from hotelbot.domain.inbound import Delivery, MalformedDelivery
from hotelbot.error_text import describe, is_transient
from hotelbot.errors import HotelbotError
from hotelbot.redact import redact
from hotelbot.storage.db import Database
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.leases import LeaseView
from hotelbot.storage.models import DeadLetter, Notification
from hotelbot.storage.types import STORED_ERROR_CHARS, utcnow
from hotelbot.storage.unit_of_work import SqlUnitsOfWork

CommitListener = Callable[[Sequence[int]], Awaitable[None] | None]

# A dead letter keeps at most this many bytes of its item (the fingerprint covers all of it).
DEAD_LETTER_MAX_BYTES = 256 * 1024
# Items whose failures are counted at once; the oldest are forgotten beyond it.
_MAX_TRACKED_FAILURES = 10_000


@dataclass(frozen=True, slots=True)
class _Item:
    hotel_id: int
    entry: Delivery | MalformedDelivery
    received_at: datetime
    future: asyncio.Future[Stored]
    epoch: int = 0  # lease epoch the item was received under (0: no fence)


class WriterClosed(RuntimeError):
    """store() after close(): the daemon is shutting down; do not delete upstream."""


class ItemNotStored(HotelbotError):
    """Storing this one item failed (it was tried alone, so its batch did not matter). Nothing
    was committed: keep it upstream and try again; after `max_item_attempts` failures it is
    dead-lettered instead. The message names the error class only, never the item."""

    def __init__(self, hotel_id: int, attempts: float, error: str) -> None:
        super().__init__(f"cannot store the queue item (attempt {attempts:g}): {error}")
        self.hotel_id = hotel_id
        self.error = error


class Stored(StrEnum):
    """What became of an item store() accepted."""

    STORED = "stored"
    DEAD_LETTERED = "dead_lettered"


def notification_upsert(db: Database) -> Insert:
    stmt = insert_for(db.dialect, Notification)
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
    stmt = insert_for(db.dialect, DeadLetter)
    insert: Insert = stmt.on_conflict_do_nothing(
        index_elements=[DeadLetter.hotel_id, DeadLetter.fingerprint]
    )
    return insert


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def encode_raw(raw: bytes) -> tuple[str, str]:
    """(text, encoding) for dead_letters.raw: the bytes themselves when they are UTF-8 that
    every database stores as text (no NUL), else base64 of the bytes. At most
    DEAD_LETTER_MAX_BYTES are kept (the fingerprint and raw_bytes cover the whole item)."""
    kept = raw[:DEAD_LETTER_MAX_BYTES]
    try:
        text = kept.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text, "utf-8"
    return base64.b64encode(kept).decode("ascii"), "base64"


def decode_raw(text: str, encoding: str) -> bytes:
    """The bytes a dead letter kept (inverse of `encode_raw`)."""
    if encoding == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


class IngestWriter:
    """Group-committing writer. Run `run()` as a task; `close()` flushes and stops it.

    Per-item isolation: when a group commit fails, its items are committed one per
    transaction, so one item the database refuses cannot hold back the others (of its own
    hotel or of any other). An item that fails alone makes its `store()` raise ItemNotStored
    (the poller keeps it upstream and retries after a backoff); once it has failed alone
    `max_item_attempts` times it is dead-lettered (its raw bytes kept) and `store()` returns
    Stored.DEAD_LETTERED, so the poller deletes it and the hotel's queue moves on. Failures
    that say the database itself is unwell (locked, down, timed out: `is_transient`) weigh a
    quarter of an attempt, so an outage does not dead-letter good items, and still end.
    If even the dead letter cannot be written, the database is the problem: `store()` raises
    and the item stays upstream.
    """

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 1000,
        fence: LeaseView | None = None,
        max_item_attempts: int = 3,
    ) -> None:
        self._db = db
        self._max_batch = max_batch
        self._units = SqlUnitsOfWork(db, fence)
        self._max_item_attempts = max_item_attempts
        self.fenced_rejections = 0
        self.dead_lettered = 0
        self.isolated_batches = 0
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._closed = False
        self._listeners: list[CommitListener] = []
        self._failures: OrderedDict[tuple[int, str], float] = OrderedDict()
        self.commits = 0
        self.rows = 0

    def on_commit(self, listener: CommitListener) -> None:
        """Call `listener(notification_ids)` after each commit that inserted or changed rows."""
        self._listeners.append(listener)

    async def store(self, hotel_id: int, entry: Delivery | MalformedDelivery) -> Stored:
        """Return once `entry` is committed (as a notification, or as a dead letter). Raises
        WriterClosed after close(), LeaseLost (with a fence) when this daemon does not hold
        the hotel's lease (nothing committed), ItemNotStored when this item failed alone, or
        whatever the commit raised."""
        if self._closed:
            raise WriterClosed("ingest writer is closed")
        epoch = self._units.acting_epoch(hotel_id)  # LeaseLost when self-fenced
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(hotel_id, entry, utcnow(), future, epoch))
        # Shield: a poller cancelled while waiting must not cancel the shared commit.
        return await asyncio.shield(future)

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
                fail_point("ingest_writer_committed")  # tests: the writer task crashes
            if stopping:
                # Fail anything that raced in after close().
                while not self._queue.empty():
                    late = self._queue.get_nowait()
                    if late is not None and not late.future.done():
                        late.future.set_exception(WriterClosed("ingest writer is closed"))
                return

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            outcome = await self._write(batch)
        except Exception as exc:
            if len(batch) == 1:
                await self._failed_alone(batch[0], exc)
            else:
                await self._isolate(batch, exc)
            return
        await self._settle(batch, *outcome)

    async def _isolate(self, batch: list[_Item], exc: Exception) -> None:
        """The group commit failed: commit its items one per transaction."""
        self.isolated_batches += 1
        logger.warning(
            "ingest: group commit of {} items failed ({}): storing them one by one",
            len(batch),
            describe(exc),
        )
        for index, item in enumerate(batch):
            try:
                outcome = await self._write([item])
            except Exception as item_exc:
                await self._failed_alone(item, item_exc)
                if is_transient(item_exc):
                    # The database, not this item: the rest would only fail the same way.
                    for rest in batch[index + 1 :]:
                        if not rest.future.done():
                            rest.future.set_exception(item_exc)
                    return
                continue
            await self._settle([item], *outcome)

    async def _settle(self, batch: list[_Item], changed: list[int], rejected: set[int]) -> None:
        self.commits += 1
        self.rows += len(batch) - len(rejected)
        self.fenced_rejections += len(rejected)
        for index, item in enumerate(batch):
            self._failures.pop(_failure_key(item), None)
            if item.future.done():
                continue
            if index in rejected:
                item.future.set_exception(LeaseLost(item.hotel_id, by_database=True))
            elif isinstance(item.entry, MalformedDelivery):
                item.future.set_result(Stored.DEAD_LETTERED)
            else:
                item.future.set_result(Stored.STORED)
        if changed:
            for listener in self._listeners:
                result = listener(changed)
                if result is not None:
                    await result

    async def _failed_alone(self, item: _Item, exc: Exception) -> None:
        """Count the failure of an item written on its own; dead-letter it once it has
        failed `max_item_attempts` times (see the class docstring)."""
        key = _failure_key(item)
        attempts = self._failures.pop(key, 0.0) + (0.25 if is_transient(exc) else 1.0)
        self._failures[key] = attempts
        while len(self._failures) > _MAX_TRACKED_FAILURES:
            self._failures.popitem(last=False)
        error = describe(exc)
        logger.bind(hotel_id=item.hotel_id).debug("ingest: item failed alone: {}", redact(str(exc)))
        entry = item.entry
        if attempts < self._max_item_attempts or isinstance(entry, MalformedDelivery):
            # A dead letter that cannot be written means the database is the problem.
            if not item.future.done():
                item.future.set_exception(ItemNotStored(item.hotel_id, attempts, error))
            return
        dead = _Item(
            item.hotel_id,
            MalformedDelivery(
                entry.receipt_id,
                entry.raw or entry.body_json.encode("utf-8"),
                f"not stored after {attempts:g} attempts: {error}",
            ),
            item.received_at,
            item.future,
            item.epoch,
        )
        try:
            changed, rejected = await self._write([dead])
        except Exception as dead_exc:
            if not item.future.done():
                item.future.set_exception(
                    ItemNotStored(item.hotel_id, attempts, describe(dead_exc))
                )
            return
        if not rejected:
            self.dead_lettered += 1
            logger.bind(hotel_id=item.hotel_id).error(
                "ingest: queue item receipt={} dead-lettered after {:g} failed attempts ({})",
                entry.receipt_id,
                attempts,
                error,
            )
        await self._settle([dead], changed, rejected)

    async def _write(self, batch: list[_Item]) -> tuple[list[int], set[int]]:
        """Commit the batch; returns (changed notification ids, indices of fenced items).

        Priority write: pollers wait on this commit before deleting upstream; processor and
        sender transactions queued for the write lock go after it (bounded, see WriteGate).
        A frozen process cannot keep the fence's lease-row locks: every PostgreSQL session
        carries idle_in_transaction_session_timeout (storage/db.py)."""
        # The newest epoch per hotel: an item received under an older one (the lease was lost
        # and claimed again since) is rejected with the hotel's lost items.
        epochs: dict[int, int] = {}
        for item in batch:
            epochs[item.hotel_id] = max(item.epoch, epochs.get(item.hotel_id, item.epoch))
        async with self._units.begin(epochs, epochs=epochs, priority=True, partial=True) as uow:
            rejected = {
                i
                for i, item in enumerate(batch)
                if item.hotel_id in uow.lost or item.epoch != epochs[item.hotel_id]
            }
            accepted = [item for i, item in enumerate(batch) if i not in rejected]
            return await self._write_rows(uow.conn, accepted), rejected

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
                text, encoding = encode_raw(entry.raw)
                dead.append(
                    {
                        "hotel_id": item.hotel_id,
                        "receipt_id": entry.receipt_id,
                        "fingerprint": fingerprint(entry.raw),
                        "raw": text,
                        "raw_encoding": encoding,
                        "raw_bytes": len(entry.raw),
                        "error": entry.error[:STORED_ERROR_CHARS],
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


def _failure_key(item: _Item) -> tuple[int, str]:
    entry = item.entry
    if isinstance(entry, Delivery):
        return item.hotel_id, entry.dedupe_key
    return item.hotel_id, fingerprint(entry.raw)
