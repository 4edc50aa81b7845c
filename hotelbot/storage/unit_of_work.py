"""The fenced unit of work on SQLAlchemy (`hotelbot.app.unit_of_work` says what it promises).

`SqlUnitsOfWork(db, lease)` opens `SqlUnitOfWork`s: `db.write()` (the write gate with its
priority and `BEGIN IMMEDIATE` on SQLite), then, with a lease view, the hotels' lease rows
locked FOR KEY SHARE (PostgreSQL) in one statement and in hotel order, so a claim cannot
commit between the check and this transaction's commit and two writers never deadlock on
them. A frozen process cannot keep those locks: every PostgreSQL session carries
`idle_in_transaction_session_timeout` (storage/db.py).

The runtime's loops use `SqlUnitOfWork.conn` with the storage functions; use cases use the
repositories the `UnitOfWork` protocol names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.storage.db import Database
from hotelbot.storage.guest_erasure import SqlGuestErasure
from hotelbot.storage.handling import SqlHandlingStore, conversation_id_of
from hotelbot.storage.leases import LeaseView, lock_owned_epochs
from hotelbot.storage.outbox import SqlUnknownSends, enqueue


class _SqlOutboxQueue:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def enqueue(
        self, *, hotel_id: int, idempotency_key: str, kind: str, chat_id: str, text: str
    ) -> int | None:
        return await enqueue(
            self._conn,
            hotel_id=hotel_id,
            idempotency_key=idempotency_key,
            kind=kind,
            chat_id=chat_id,
            text=text,
        )


class _SqlConversations:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def id_of(self, hotel_id: int, chat_id: str) -> int | None:
        return await conversation_id_of(self._conn, hotel_id, chat_id)


class SqlUnitOfWork:
    """One write transaction (`conn`) for hotels whose leases are locked until it ends."""

    def __init__(self, conn: AsyncConnection, held: frozenset[int], lost: frozenset[int]) -> None:
        self.conn = conn
        self._held = held
        self._lost = lost
        self._handling: SqlHandlingStore | None = None

    @property
    def held(self) -> frozenset[int]:
        return self._held

    @property
    def lost(self) -> frozenset[int]:
        return self._lost

    @property
    def handling(self) -> SqlHandlingStore:
        if self._handling is None:
            self._handling = SqlHandlingStore(self.conn)
        return self._handling

    @property
    def outbox(self) -> _SqlOutboxQueue:
        return _SqlOutboxQueue(self.conn)

    @property
    def conversations(self) -> _SqlConversations:
        return _SqlConversations(self.conn)

    @property
    def unknown_sends(self) -> SqlUnknownSends:
        return SqlUnknownSends(self.conn)

    @property
    def guest_erasure(self) -> SqlGuestErasure:
        return SqlGuestErasure(self.conn)


class SqlUnitsOfWork:
    """Opens fenced units of work on `db` for the daemon behind `lease` (None: not fenced,
    every hotel is held; one daemon per database, the CLI, tests)."""

    def __init__(self, db: Database, lease: LeaseView | None = None) -> None:
        self.db = db
        self.lease = lease

    @asynccontextmanager
    async def begin(
        self,
        hotel_ids: Iterable[int],
        *,
        epochs: Mapping[int, int] | None = None,
        priority: bool = False,
        partial: bool = False,
    ) -> AsyncIterator[SqlUnitOfWork]:
        """See `hotelbot.app.unit_of_work.UnitsOfWork.begin`. Raises `LeaseLost` (strict
        unit, nothing written) or database errors."""
        wanted = frozenset(hotel_ids)
        async with self.db.write(priority=priority) as conn:
            self_fenced, lost = await self._check(conn, wanted, epochs)
            if lost and not partial:
                first = min(lost)
                raise LeaseLost(first, by_database=first not in self_fenced)
            yield SqlUnitOfWork(conn, wanted - lost, lost)

    async def _check(
        self, conn: AsyncConnection, wanted: frozenset[int], epochs: Mapping[int, int] | None
    ) -> tuple[frozenset[int], frozenset[int]]:
        """(self-fenced hotels, every lost hotel); the held hotels' lease rows stay locked."""
        lease = self.lease
        if lease is None or not wanted:
            return frozenset(), frozenset()
        expected: dict[int, int | None] = {
            h: (epochs[h] if epochs is not None and h in epochs else lease.epoch_of(h))
            for h in wanted
        }
        self_fenced = frozenset(h for h, e in expected.items() if e is None)
        current = await lock_owned_epochs(conn, lease.owner, wanted - self_fenced)
        stale = {h for h in wanted - self_fenced if current.get(h) != expected[h]}
        return self_fenced, frozenset(self_fenced | stale)

    def acting_epoch(self, hotel_id: int) -> int:
        """The epoch to act under now (0 without a lease view); LeaseLost when not held."""
        if self.lease is None:
            return 0
        epoch = self.lease.epoch_of(hotel_id)
        if epoch is None:
            raise LeaseLost(hotel_id)
        return epoch

    def still_held(self, hotel_id: int, epoch: int) -> bool:
        """This daemon's own view (no database) still holds `hotel_id` at `epoch`."""
        return self.lease is None or self.lease.epoch_of(hotel_id) == epoch


__all__ = ["SqlUnitOfWork", "SqlUnitsOfWork"]
