"""The fenced unit of work on both databases: a strict unit for a hotel this daemon lost (taken
over, or self-fenced) raises LeaseLost before anything is written; a partial unit names the lost
hotels and commits for the others; while a unit is open, no other daemon can take its hotels
over; without a lease view every hotel is held."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hotelbot.app.staff_send import send_as_staff
from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.storage.db import Database
from hotelbot.storage.leases import claim_leases
from hotelbot.storage.models import Hotel, OutboxMessage
from hotelbot.storage.types import utcnow
from hotelbot.storage.unit_of_work import SqlUnitsOfWork
from tests.test_leases import add_hotels

TTL_S = 60.0


class Held:
    """A LeaseView: what one daemon believes it holds (None = self-fenced)."""

    def __init__(self, owner: str, epochs: dict[int, int | None]) -> None:
        self._owner = owner
        self.epochs = epochs

    @property
    def owner(self) -> str:
        return self._owner

    def epoch_of(self, hotel_id: int) -> int | None:
        return self.epochs.get(hotel_id)


async def names(db: Database) -> dict[int, str]:
    async with db.read() as conn:
        return {int(i): str(n) for i, n in await conn.execute(select(Hotel.id, Hotel.name))}


async def rename(conn_holder: SqlUnitsOfWork, hotel_ids: set[int], name: str) -> None:
    async with conn_holder.begin(hotel_ids) as uow:
        await uow.conn.execute(update(Hotel).where(Hotel.id.in_(uow.held)).values(name=name))


async def test_a_strict_unit_for_a_hotel_taken_over_writes_nothing(db: Database) -> None:
    a, b = await add_hotels(db, 2)
    async with db.write() as conn:
        first = {x.hotel_id: x.epoch for x in await claim_leases(conn, "d1", limit=2, ttl_s=TTL_S)}
    stale = SqlUnitsOfWork(db, Held("d1", dict(first)))
    await rename(stale, {a, b}, "by d1")  # both held: written
    assert set((await names(db)).values()) == {"by d1"}

    later = utcnow() + timedelta(seconds=TTL_S + 5)
    async with db.write() as conn:
        await claim_leases(conn, "d2", limit=1, ttl_s=TTL_S, now=later)  # takes over `a`
    with pytest.raises(LeaseLost) as lost:
        await rename(stale, {a, b}, "stale")
    assert lost.value.hotel_id == a and lost.value.by_database
    assert set((await names(db)).values()) == {"by d1"}  # not even `b` was written


async def test_a_self_fenced_hotel_is_lost_without_asking_the_database(db: Database) -> None:
    (a,) = await add_hotels(db, 1)
    async with db.write() as conn:
        (lease,) = await claim_leases(conn, "d1", limit=1, ttl_s=TTL_S)
    view = Held("d1", {a: lease.epoch})
    units = SqlUnitsOfWork(db, view)
    assert units.acting_epoch(a) == lease.epoch and units.still_held(a, lease.epoch)
    view.epochs[a] = None  # the monotonic self-fence ran out
    with pytest.raises(LeaseLost) as lost:
        await rename(units, {a}, "fenced")
    assert not lost.value.by_database
    with pytest.raises(LeaseLost):
        units.acting_epoch(a)
    assert not units.still_held(a, lease.epoch)
    assert (await names(db))[a] != "fenced"


async def test_a_partial_unit_commits_for_the_hotels_still_held(db: Database) -> None:
    a, b = await add_hotels(db, 2)
    async with db.write() as conn:
        first = {x.hotel_id: x.epoch for x in await claim_leases(conn, "d1", limit=2, ttl_s=TTL_S)}
    later = utcnow() + timedelta(seconds=TTL_S + 5)
    async with db.write() as conn:
        await claim_leases(conn, "d2", limit=1, ttl_s=TTL_S, now=later)
    units = SqlUnitsOfWork(db, Held("d1", dict(first)))
    async with units.begin({a, b}, partial=True) as uow:
        assert uow.lost == {a} and uow.held == {b}
        await uow.conn.execute(update(Hotel).where(Hotel.id.in_(uow.held)).values(name="d1"))
    got = await names(db)
    assert got[b] == "d1" and got[a] != "d1"
    # epochs given by the caller (acted under before slow work) are what is compared
    async with units.begin({b}, epochs={b: first[b] - 1}, partial=True) as uow:
        assert uow.lost == {b}


async def test_no_takeover_commits_while_a_unit_holds_the_hotel(db: Database, db_url: str) -> None:
    (a,) = await add_hotels(db, 1)
    async with db.write() as conn:
        (lease,) = await claim_leases(conn, "d1", limit=1, ttl_s=TTL_S)
    units = SqlUnitsOfWork(db, Held("d1", {a: lease.epoch}))
    other = Database.open(db_url)
    later = utcnow() + timedelta(seconds=TTL_S + 5)

    async def take_over() -> list[int]:
        async with other.write() as conn:
            taken = await claim_leases(conn, "d2", limit=1, ttl_s=TTL_S, now=later)
        return [x.hotel_id for x in taken]

    try:
        async with units.begin({a}) as uow:
            claim = asyncio.create_task(take_over())
            await asyncio.sleep(0.3)
            # PostgreSQL: the claim skips the locked lease row; SQLite: it waits for the lock.
            assert not claim.done() or claim.result() == []
            await uow.conn.execute(update(Hotel).where(Hotel.id == a).values(name="held"))
        await claim
        assert (await names(db))[a] == "held"
    finally:
        await other.dispose()


async def test_without_a_lease_view_every_hotel_is_held(db: Database) -> None:
    a, b = await add_hotels(db, 2)
    units = SqlUnitsOfWork(db)
    assert units.acting_epoch(a) == 0 and units.still_held(a, 0)
    async with units.begin({a, b}) as uow:
        assert uow.held == {a, b} and uow.lost == frozenset()


async def test_a_use_case_run_by_a_stale_daemon_changes_nothing(db: Database) -> None:
    (a,) = await add_hotels(db, 1)
    async with db.write() as conn:
        (lease,) = await claim_leases(conn, "d1", limit=1, ttl_s=TTL_S)
    later = utcnow() + timedelta(seconds=TTL_S + 5)
    async with db.write() as conn:
        await claim_leases(conn, "d2", limit=1, ttl_s=TTL_S, now=later)
    stale = SqlUnitsOfWork(db, Held("d1", {a: lease.epoch}))
    with pytest.raises(LeaseLost):
        await send_as_staff(
            stale,
            a,
            "37120000001@c.us",
            "On our way",
            key="manual:1",
            at=utcnow(),
            pause=timedelta(hours=1),
        )
    assert await queued(db) == 0
    assert await send_as_staff(
        SqlUnitsOfWork(db),
        a,
        "37120000001@c.us",
        "On our way",
        key="manual:1",
        at=utcnow(),
        pause=timedelta(hours=1),
    )
    assert await queued(db) == 1


async def queued(db: Database) -> int:
    async with db.read() as conn:
        return len(list(await conn.execute(select(OutboxMessage.id))))
