"""Hotel leases: which daemon serves which hotel, and fencing of writes made for a hotel.

Model (see docs/scale-out.md): every hotel has one row in `hotel_leases`. A daemon *claims*
free or expired rows (`owner` := its name, `epoch` := epoch + 1, `expires_at` := database now
+ ttl), *renews* the rows it holds well before they expire, *releases* them on a clean stop or
when it holds more than its fair share. All expiry arithmetic uses the database clock; a
daemon's own clock is only used, monotonically, to stop acting early (`Ownership`).

PostgreSQL: claims lock candidate rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers
never wait for each other and never claim the same row. SQLite: the same statements run inside
BEGIN IMMEDIATE (one writer at a time), and the daemon takes every hotel it can (single owner).

Fencing: a write that acts for a hotel opens a unit of work for it (`storage/unit_of_work.py`),
which runs `lock_owned_epochs(...)` in its transaction. On PostgreSQL that takes a FOR KEY SHARE
row lock on the lease, which conflicts with a claim's FOR UPDATE: a claim cannot slip in between
the check and the commit (the claimer skips the locked row and retries on its next round).
On SQLite BEGIN IMMEDIATE already serialises the check and the claim.

Every function takes an optional `now` (an aware datetime) that replaces the database clock,
so expiry can be tested by moving time instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Exists,
    Interval,
    delete,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import QueryableAttribute

from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models import Hotel
from hotelbot.storage.models_leases import HotelLease, RegisteredDaemon
from hotelbot.storage.types import UtcDateTime, utcnow


class LeaseView(Protocol):
    """What a fenced writer needs: whose leases, and the epoch held for a hotel (None = do not
    act). `Ownership` implements it; writers take this protocol so tests can pass their own."""

    @property
    def owner(self) -> str: ...

    def epoch_of(self, hotel_id: int) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Lease:
    hotel_id: int
    epoch: int
    expires_at: datetime


# -- database clock ---------------------------------------------------------------------------


class _DbClock:
    """`now` and `now + seconds` as SQL expressions: PostgreSQL's transaction time, or the
    injected `now`; on SQLite (one host, one process at a time) the process's UTC clock."""

    def __init__(self, conn: AsyncConnection, now: datetime | None) -> None:
        self._server = conn.dialect.name == "postgresql" and now is None
        self._base = now if now is not None else utcnow()

    @property
    def now(self) -> ColumnElement[Any]:
        return func.now() if self._server else literal(self._base, UtcDateTime())

    def after(self, seconds: float) -> ColumnElement[Any]:
        if self._server:
            return func.now() + literal(timedelta(seconds=seconds), Interval())
        return literal(self._base + timedelta(seconds=seconds), UtcDateTime())


# -- daemons ------------------------------------------------------------------------------------


async def register_daemon(
    conn: AsyncConnection, name: str, *, host: str, pid: int, now: datetime | None = None
) -> tuple[str, int] | None:
    """Insert or refresh this daemon's row. Idempotent. Returns (host, pid) of a *different*
    live process that used the same name until now (a configuration mistake worth a warning;
    also the normal case of a restart within one ttl), else None."""
    previous = (
        await conn.execute(
            select(RegisteredDaemon.host, RegisteredDaemon.pid).where(RegisteredDaemon.id == name)
        )
    ).first()
    clock = _DbClock(conn, now)
    stmt = insert_for(conn, RegisteredDaemon).values(
        id=name, host=host, pid=pid, started_at=clock.now, heartbeat_at=clock.now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[RegisteredDaemon.id],
        set_={
            "host": stmt.excluded.host,
            "pid": stmt.excluded.pid,
            "started_at": stmt.excluded.started_at,
            "heartbeat_at": stmt.excluded.heartbeat_at,
        },
    )
    await conn.execute(stmt)
    if previous is not None and (previous[0], previous[1]) != (host, pid):
        return str(previous[0]), int(previous[1])
    return None


async def heartbeat(conn: AsyncConnection, name: str, *, now: datetime | None = None) -> bool:
    """Stamp `heartbeat_at` with the database clock. False when the row is gone (someone
    pruned it): call register_daemon again."""
    clock = _DbClock(conn, now)
    result = await conn.execute(
        update(RegisteredDaemon).where(RegisteredDaemon.id == name).values(heartbeat_at=clock.now)
    )
    return bool(result.rowcount)


async def unregister_daemon(conn: AsyncConnection, name: str) -> None:
    """Remove this daemon's row (clean stop): it stops counting as live at once."""
    await conn.execute(delete(RegisteredDaemon).where(RegisteredDaemon.id == name))


async def count_live_daemons(
    conn: AsyncConnection, *, ttl_s: float, now: datetime | None = None
) -> int:
    """Daemons whose heartbeat is younger than `ttl_s` by the database clock."""
    clock = _DbClock(conn, now)
    query = select(func.count()).where(RegisteredDaemon.heartbeat_at > clock.after(-ttl_s))
    return int((await conn.execute(query)).scalar_one())


async def prune_daemons(
    conn: AsyncConnection, *, older_than_s: float, now: datetime | None = None
) -> int:
    """Delete rows of daemons silent for `older_than_s` (crashed long ago). Idempotent."""
    clock = _DbClock(conn, now)
    result = await conn.execute(
        delete(RegisteredDaemon).where(RegisteredDaemon.heartbeat_at < clock.after(-older_than_s))
    )
    return int(result.rowcount or 0)


async def reap_dead_local_daemons(
    conn: AsyncConnection, *, me: str, host: str, is_alive: Callable[[int], bool]
) -> list[str]:
    """Free the leases of daemons on *this* host whose process is gone, at once.

    Without this, a daemon restarted after a crash (new pid, so a new name) would wait a
    whole TTL for its predecessor's leases to expire: on a single-host SQLite install that is
    a needless outage after every crash. Only same-host owners can be checked (by pid); other
    hosts' leases still expire by TTL. A reused pid makes the dead look alive: the safe side.
    Returns the names reaped. Idempotent.
    """
    rows = (
        await conn.execute(
            select(RegisteredDaemon.id, RegisteredDaemon.pid).where(
                RegisteredDaemon.host == host, RegisteredDaemon.id != me
            )
        )
    ).all()
    dead = [name for name, pid in rows if not is_alive(int(pid))]
    if dead:
        await conn.execute(
            update(HotelLease).where(HotelLease.owner.in_(dead)).values(owner=None, expires_at=None)
        )
        await conn.execute(delete(RegisteredDaemon).where(RegisteredDaemon.id.in_(dead)))
    return dead


async def registration_of(conn: AsyncConnection, name: str) -> tuple[str, int] | None:
    """(host, pid) last registered under `name`, or None."""
    row = (
        await conn.execute(
            select(RegisteredDaemon.host, RegisteredDaemon.pid).where(RegisteredDaemon.id == name)
        )
    ).first()
    return None if row is None else (str(row[0]), int(row[1]))


async def free_leases_of(conn: AsyncConnection, owner: str) -> int:
    """Free every lease of `owner` (a predecessor under the same name that is provably gone:
    its leases would otherwise block this daemon for a whole TTL). Idempotent."""
    result = await conn.execute(
        update(HotelLease).where(HotelLease.owner == owner).values(owner=None, expires_at=None)
    )
    return int(result.rowcount or 0)


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (signal 0 probes without sending anything)."""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


# -- leases -------------------------------------------------------------------------------------


def fair_quota(enabled_hotels: int, live_daemons: int) -> int:
    """ceil(hotels / live daemons): with every daemon at or below it, all hotels fit."""
    return math.ceil(enabled_hotels / max(1, live_daemons))


async def ensure_lease_rows(conn: AsyncConnection) -> int:
    """Give every hotel a (free) lease row. Idempotent; cheap when nothing is missing."""
    missing = select(Hotel.id).where(
        ~select(HotelLease.hotel_id).where(HotelLease.hotel_id == Hotel.id).exists()
    )
    stmt = insert_for(conn, HotelLease).from_select(["hotel_id"], missing)
    stmt = stmt.on_conflict_do_nothing(index_elements=[HotelLease.hotel_id])
    result = await conn.execute(stmt)
    return int(result.rowcount or 0)


async def enabled_hotel_ids(conn: AsyncConnection) -> set[int]:
    return {int(r[0]) for r in await conn.execute(select(Hotel.id).where(Hotel.enabled.is_(True)))}


async def claim_leases(
    conn: AsyncConnection,
    owner: str,
    *,
    limit: int,
    ttl_s: float,
    now: datetime | None = None,
) -> list[Lease]:
    """Claim up to `limit` leases of enabled hotels that are free or expired; each claim bumps
    the epoch. Rows another transaction has locked (a concurrent claimer, or a fenced write of
    the current owner) are skipped, not waited for. Returns what was claimed."""
    if limit <= 0:
        return []
    clock = _DbClock(conn, now)
    candidates = (
        select(HotelLease.hotel_id)
        .join(Hotel, Hotel.id == HotelLease.hotel_id)
        .where(
            Hotel.enabled.is_(True),
            or_(HotelLease.owner.is_(None), HotelLease.expires_at < clock.now),
        )
        .order_by(HotelLease.hotel_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=HotelLease)
        # A CTE with a locking clause is evaluated exactly once (PostgreSQL never inlines it),
        # so the LIMIT and the row locks apply to one candidate set.
        .cte("candidates")
    )
    stmt = (
        update(HotelLease)
        .where(HotelLease.hotel_id.in_(select(candidates.c.hotel_id)))
        .values(
            owner=owner,
            epoch=HotelLease.epoch + 1,
            expires_at=clock.after(ttl_s),
            claimed_at=clock.now,
        )
        .returning(HotelLease.hotel_id, HotelLease.epoch, HotelLease.expires_at)
    )
    rows = (await conn.execute(stmt)).all()
    return _leases(rows)


def _leases(rows: Iterable[Any]) -> list[Lease]:
    leases = []
    for row in rows:
        expires_at = row[2]
        assert isinstance(expires_at, datetime)  # set by the statement that returned it
        leases.append(Lease(int(row[0]), int(row[1]), expires_at))
    return sorted(leases, key=lambda lease: lease.hotel_id)


def _held_pairs(held: Mapping[int, int]) -> ColumnElement[bool]:
    return tuple_(HotelLease.hotel_id, HotelLease.epoch).in_(list(held.items()))


async def renew_leases(
    conn: AsyncConnection,
    owner: str,
    held: Mapping[int, int],
    *,
    ttl_s: float,
    now: datetime | None = None,
) -> list[Lease]:
    """Extend the leases in `held` (hotel id -> epoch) that are still ours with that exact
    epoch. Leases missing from the result are lost: stop acting for those hotels. A lease that
    expired but was not claimed by anyone is renewed (nobody else acted in between)."""
    if not held:
        return []
    clock = _DbClock(conn, now)
    stmt = (
        update(HotelLease)
        .where(HotelLease.owner == owner, _held_pairs(held))
        .values(expires_at=clock.after(ttl_s))
        .returning(HotelLease.hotel_id, HotelLease.epoch, HotelLease.expires_at)
    )
    rows = (await conn.execute(stmt)).all()
    return _leases(rows)


async def release_leases(conn: AsyncConnection, owner: str, held: Mapping[int, int]) -> int:
    """Free the given leases if still ours with that epoch (others' claims are untouched).
    Idempotent. Returns how many rows were freed."""
    if not held:
        return 0
    result = await conn.execute(
        update(HotelLease)
        .where(HotelLease.owner == owner, _held_pairs(held))
        .values(owner=None, expires_at=None)
    )
    return int(result.rowcount or 0)


async def count_held_by_others(
    conn: AsyncConnection, owner: str, *, now: datetime | None = None
) -> dict[str, int]:
    """Unexpired leases of other owners, per owner (for log lines and `hotelbot status`)."""
    clock = _DbClock(conn, now)
    rows = await conn.execute(
        select(HotelLease.owner, func.count())
        .where(
            HotelLease.owner.is_not(None),
            HotelLease.owner != owner,
            HotelLease.expires_at >= clock.now,
        )
        .group_by(HotelLease.owner)
    )
    return {str(r[0]): int(r[1]) for r in rows}


# -- fencing ------------------------------------------------------------------------------------


def lease_held(
    hotel_id: int | ColumnElement[int] | QueryableAttribute[int],
    owner: str,
    epoch: int,
    *,
    lock: bool = True,
) -> Exists:
    """SQL `EXISTS(...)`: the lease of `hotel_id` (a value or a column, e.g. Outbox.hotel_id)
    is held by `owner` at `epoch`. Put it in the WHERE of an UPDATE/DELETE, or of the SELECT of
    an INSERT ... SELECT, so a stale daemon's statement affects no rows. With `lock` (the
    default) the lease row is locked FOR KEY SHARE on PostgreSQL until the transaction ends,
    so no claim can commit between this check and the commit. Check the row count."""
    query = select(literal(1)).where(
        HotelLease.hotel_id == hotel_id, HotelLease.owner == owner, HotelLease.epoch == epoch
    )
    if lock:
        query = query.with_for_update(read=True, key_share=True)
    return query.exists()


async def holds_lease(conn: AsyncConnection, hotel_id: int, owner: str, epoch: int) -> bool:
    """In the caller's transaction: True when `owner` holds `hotel_id` at `epoch`; the lease
    row then stays locked against claims (PostgreSQL FOR KEY SHARE) until commit/rollback."""
    owned = await lock_owned_epochs(conn, owner, [hotel_id])
    return owned.get(hotel_id) == epoch


async def lock_owned_epochs(
    conn: AsyncConnection, owner: str, hotel_ids: Iterable[int]
) -> dict[int, int]:
    """In the caller's transaction: hotel id -> current epoch for those of `hotel_ids` whose
    lease `owner` holds, locking these rows against claims until the transaction ends.
    Compare the epochs with the ones you acted under; drop the writes that do not match."""
    ids = sorted(set(hotel_ids))
    if not ids:
        return {}
    query = (
        select(HotelLease.hotel_id, HotelLease.epoch)
        .where(HotelLease.hotel_id.in_(ids), HotelLease.owner == owner)
        .order_by(HotelLease.hotel_id)  # one lock order for every writer: no deadlocks
        .with_for_update(read=True, key_share=True)
    )
    return {int(r[0]): int(r[1]) for r in await conn.execute(query)}


async def bound_idle_in_transaction(conn: AsyncConnection, timeout_s: float) -> None:
    """PostgreSQL: end this transaction's session if it sits idle (e.g. the process was
    frozen with SIGSTOP between two statements) longer than `timeout_s`, so its lease locks
    cannot stall a takeover. Transaction-local (`set_config(..., true)`), hence safe behind
    PgBouncer in transaction mode. No-op on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    await conn.execute(
        select(
            func.set_config(
                "idle_in_transaction_session_timeout", str(max(1000, int(timeout_s * 1000))), True
            )
        )
    )


# -- in-memory view -----------------------------------------------------------------------------


class Ownership:
    """What this daemon holds, as the lease manager last learned it, with a monotonic
    self-fence: a lease counts as valid only until `ttl - margin` seconds after the start of
    the round trip that last claimed or renewed it, so a daemon that was paused or cut off
    from the database stops acting *before* its lease can expire in the database.

    Writers call `epoch_of(hotel_id)`; None = do not act for this hotel. Not thread-safe
    (one event loop)."""

    def __init__(
        self,
        owner: str,
        *,
        ttl_s: float,
        margin_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if margin_s >= ttl_s:
            raise ValueError("margin_s must be smaller than ttl_s")
        self.owner = owner
        self.ttl_s = ttl_s
        self.margin_s = margin_s
        self._clock = clock
        self._epochs: dict[int, int] = {}
        self._valid_until: dict[int, float] = {}

    def now(self) -> float:
        return self._clock()

    def record(self, leases: Iterable[Lease], *, started_mono: float) -> None:
        """Remember claimed/renewed leases; `started_mono` is the clock *before* the round
        trip (the database stamped its expiry later than that, never earlier)."""
        until = started_mono + self.ttl_s - self.margin_s
        for lease in leases:
            self._epochs[lease.hotel_id] = lease.epoch
            self._valid_until[lease.hotel_id] = until

    def drop(self, hotel_ids: Iterable[int]) -> None:
        for hotel_id in hotel_ids:
            self._epochs.pop(hotel_id, None)
            self._valid_until.pop(hotel_id, None)

    def held(self) -> dict[int, int]:
        """Every recorded lease (valid or self-fenced): hotel id -> epoch."""
        return dict(self._epochs)

    def is_valid(self, hotel_id: int) -> bool:
        until = self._valid_until.get(hotel_id)
        return until is not None and self._clock() < until

    def valid_ids(self) -> set[int]:
        now = self._clock()
        return {h for h, until in self._valid_until.items() if now < until}

    def fenced_ids(self) -> set[int]:
        """Recorded leases past their self-fence deadline (renewal overdue)."""
        now = self._clock()
        return {h for h, until in self._valid_until.items() if now >= until}

    def next_fence_deadline(self) -> float | None:
        """The earliest monotonic time at which a currently valid lease self-fences."""
        now = self._clock()
        upcoming = [until for until in self._valid_until.values() if until > now]
        return min(upcoming) if upcoming else None

    def valid_until(self, hotel_id: int) -> float | None:
        """The monotonic time this lease self-fences at (None: not recorded). A processing
        worker process gets it relayed and fences itself on the same clock."""
        return self._valid_until.get(hotel_id)

    def epoch_of(self, hotel_id: int) -> int | None:
        """The epoch to act under, or None when the lease is not held or self-fenced."""
        return self._epochs.get(hotel_id) if self.is_valid(hotel_id) else None

    def __contains__(self, hotel_id: object) -> bool:
        return isinstance(hotel_id, int) and self.is_valid(hotel_id)


__all__ = [
    "Lease",
    "LeaseLost",
    "LeaseView",
    "Ownership",
    "bound_idle_in_transaction",
    "claim_leases",
    "count_held_by_others",
    "count_live_daemons",
    "enabled_hotel_ids",
    "ensure_lease_rows",
    "fair_quota",
    "free_leases_of",
    "heartbeat",
    "holds_lease",
    "lease_held",
    "lock_owned_epochs",
    "prune_daemons",
    "register_daemon",
    "registration_of",
    "release_leases",
    "renew_leases",
    "unregister_daemon",
]
