"""The unit of work: the one way a write on behalf of hotels begins.

Every write a daemon makes for a hotel (storing a notification, processing it, claiming an
outbox row, deciding a trigger fire, escalating an alert) runs inside one unit of work opened
for the hotels it touches. Opening it takes the database's write lock (the write gate and
`BEGIN IMMEDIATE` on SQLite), locks the lease rows of those hotels against a takeover until
the unit ends, and compares their epochs with the ones this daemon acts under. A hotel whose
lease was taken over (or self-fenced) is *lost*: a strict unit raises `LeaseLost` before
anything is written; a partial unit (a batch of several hotels) lets the caller write for the
hotels still held and leave the others to their new owner.

The protocols here are what use cases and runtime loops see; `hotelbot.storage.unit_of_work`
implements them with SQLAlchemy. Without a lease view (one daemon per database, the CLI) every
hotel counts as held and the unit is a plain write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from hotelbot.app.forget_guest import GuestErasure
from hotelbot.app.handled import HandlingStore
from hotelbot.app.outbox_step import UnknownSends


class LeaseLost(RuntimeError):
    """This daemon no longer holds the lease of `hotel_id` (owner or epoch changed, or the
    lease was never held). Nothing of the rejected write was committed; the caller must stop
    acting for the hotel (in particular: not delete the notification upstream).
    `by_database`: the lease rows said so (else this daemon's own self-fence did)."""

    def __init__(self, hotel_id: int, *, by_database: bool = False) -> None:
        where = "the database" if by_database else "the self-fence"
        super().__init__(f"lease of hotel {hotel_id} is no longer held (rejected by {where})")
        self.hotel_id = hotel_id
        self.by_database = by_database


class OutboxQueue(Protocol):
    """Queueing messages to send, in the unit's transaction."""

    async def enqueue(
        self, *, hotel_id: int, idempotency_key: str, kind: str, chat_id: str, text: str
    ) -> int | None:
        """Queue a message; its outbox id, or None when the key was queued before."""
        ...


class Conversations(Protocol):
    """Finding conversations, in the unit's transaction."""

    async def id_of(self, hotel_id: int, chat_id: str) -> int | None:
        """The hotel's conversation with the chat; None before its first message."""
        ...


class UnitOfWork(Protocol):
    """One open write transaction for a set of hotels whose leases are locked and checked.

    Commits when the `async with` block ends normally, rolls back when it raises."""

    @property
    def held(self) -> frozenset[int]:
        """The hotels of the unit this daemon still holds: write only for these."""
        ...

    @property
    def lost(self) -> frozenset[int]:
        """The hotels of the unit whose lease is no longer held (empty for a strict unit)."""
        ...

    @property
    def handling(self) -> HandlingStore:
        """Conversation handling ("staff are on it") in this transaction."""
        ...

    @property
    def outbox(self) -> OutboxQueue:
        """The outbox (producers' side) in this transaction."""
        ...

    @property
    def conversations(self) -> Conversations:
        """Conversations in this transaction."""
        ...

    @property
    def unknown_sends(self) -> UnknownSends:
        """Settling ambiguous sends (`app.outbox_step.settle_unknown_sends`)."""
        ...

    @property
    def guest_erasure(self) -> GuestErasure:
        """One guest's rows, to erase them (`app.forget_guest`), in this transaction."""
        ...


class UnitsOfWork(Protocol):
    """Opens units of work; the one place that knows this daemon's leases."""

    def begin(
        self,
        hotel_ids: Iterable[int],
        *,
        epochs: Mapping[int, int] | None = None,
        priority: bool = False,
        partial: bool = False,
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit for `hotel_ids`. `epochs`: the epochs the caller acted under (taken with
        `acting_epoch` before slow work outside the transaction); by default the epochs held
        now. `priority`: the write jumps the queue of background writers (SQLite). Strict
        (the default): raises `LeaseLost` for the first hotel not held, nothing written.
        `partial`: never raises for a lost hotel; see `UnitOfWork.lost`."""
        ...

    def acting_epoch(self, hotel_id: int) -> int:
        """The epoch to act under for `hotel_id` now (0 when not fenced). Raises `LeaseLost`
        when this daemon does not hold the hotel or its lease self-fenced."""
        ...

    def still_held(self, hotel_id: int, epoch: int) -> bool:
        """No database: True while this daemon's own view still holds `hotel_id` at `epoch`
        (checked before an effect outside the database, e.g. a send)."""
        ...


__all__ = ["Conversations", "LeaseLost", "OutboxQueue", "UnitOfWork", "UnitsOfWork"]
