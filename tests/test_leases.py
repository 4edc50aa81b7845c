"""Leases on both backends: claim/renew/release/balance, expiry by an injected clock, fencing of
ingest writes and of guarded statements, the monotonic self-fence, the lease manager's rounds."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update

from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.ownership import LeaseManager
from hotelbot.daemon.poller import HotelPoller
from hotelbot.daemon.transports import TransportFactory
from hotelbot.domain.inbound import Delivery
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.envelope import parse_receive_response
from hotelbot.hotel_spec import HotelSpec
from hotelbot.settings import GreenApiSettings, LeaseSettings
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import set_enabled, upsert_hotel
from hotelbot.storage.ingest import IngestWriter, Stored
from hotelbot.storage.leases import (
    Lease,
    LeaseLost,
    Ownership,
    claim_leases,
    count_live_daemons,
    ensure_lease_rows,
    fair_quota,
    holds_lease,
    lease_held,
    register_daemon,
    release_leases,
    renew_leases,
)
from hotelbot.storage.models import Hotel, Notification
from hotelbot.storage.models_leases import HotelLease, RegisteredDaemon
from hotelbot.storage.types import utcnow
from tests import shapes

TTL_S = 30.0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def add_hotels(db: Database, count: int) -> list[int]:
    async with db.write() as conn:
        for i in range(count):
            spec = HotelSpec(
                slug=f"h{i:02d}",
                name=f"Hotel {i}",
                instance_id=str(1101000000 + i),
                api_token=SecretStr(f"token{i}"),
                api_url="http://127.0.0.1:9",
            )
            await upsert_hotel(conn, spec)
        await ensure_lease_rows(conn)
        return sorted(int(r[0]) for r in await conn.execute(select(Hotel.id)))


def held_map(leases: list[Lease]) -> dict[int, int]:
    return {lease.hotel_id: lease.epoch for lease in leases}


def delivery(instance_id: str, text: str = "hello") -> Delivery:
    body = shapes.incoming_text(instance_id, "79001234568@c.us", text)
    raw = json.dumps({"receiptId": 1, "body": body}).encode()
    parsed = parse_receive_response(raw)
    assert isinstance(parsed, Delivery)
    return parsed


async def notification_count(db: Database) -> int:
    async with db.read() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(Notification))).scalar_one()
        )


# -- repository functions -------------------------------------------------------------------


async def test_claim_respects_limit_and_bumps_epoch(db: Database) -> None:
    ids = await add_hotels(db, 5)
    async with db.write() as conn:
        a = await claim_leases(conn, "a", limit=3, ttl_s=TTL_S)
    async with db.write() as conn:
        b = await claim_leases(conn, "b", limit=3, ttl_s=TTL_S)
    assert [lease.hotel_id for lease in a] == ids[:3]
    assert [lease.hotel_id for lease in b] == ids[3:]
    assert {lease.epoch for lease in a + b} == {1}
    async with db.write() as conn:
        assert await release_leases(conn, "a", held_map(a[:1])) == 1
        assert await release_leases(conn, "b", held_map(a[1:2])) == 0  # not b's to release
    async with db.write() as conn:
        again = await claim_leases(conn, "b", limit=5, ttl_s=TTL_S)
    assert [(lease.hotel_id, lease.epoch) for lease in again] == [(ids[0], 2)]


async def test_ensure_lease_rows_is_idempotent(db: Database) -> None:
    await add_hotels(db, 3)
    async with db.write() as conn:
        assert await ensure_lease_rows(conn) == 0
        rows = (await conn.execute(select(func.count()).select_from(HotelLease))).scalar_one()
    assert rows == 3


async def test_expiry_by_database_clock_and_takeover(db: Database) -> None:
    ids = await add_hotels(db, 2)
    t0 = utcnow()
    async with db.write() as conn:
        a = await claim_leases(conn, "a", limit=2, ttl_s=TTL_S, now=t0)
    async with db.write() as conn:
        early = await claim_leases(conn, "b", limit=2, ttl_s=TTL_S, now=t0 + timedelta(seconds=29))
    assert early == []
    async with db.write() as conn:
        late = await claim_leases(conn, "b", limit=1, ttl_s=TTL_S, now=t0 + timedelta(seconds=31))
    assert [(lease.hotel_id, lease.epoch) for lease in late] == [(ids[0], 2)]
    async with db.write() as conn:
        renewed = await renew_leases(
            conn, "a", held_map(a), ttl_s=TTL_S, now=t0 + timedelta(seconds=31)
        )
    # The lease b took over is lost; the other expired but unclaimed one is renewed (no one
    # acted for it in between: same epoch).
    assert [(lease.hotel_id, lease.epoch) for lease in renewed] == [(ids[1], 1)]


async def test_renew_needs_the_exact_epoch(db: Database) -> None:
    ids = await add_hotels(db, 1)
    async with db.write() as conn:
        (lease,) = await claim_leases(conn, "a", limit=1, ttl_s=TTL_S)
        assert await renew_leases(conn, "a", {ids[0]: lease.epoch + 1}, ttl_s=TTL_S) == []
        assert len(await renew_leases(conn, "a", {ids[0]: lease.epoch}, ttl_s=TTL_S)) == 1


async def test_disabled_hotels_are_not_claimed(db: Database) -> None:
    ids = await add_hotels(db, 3)
    async with db.write() as conn:
        await set_enabled(conn, "h01", False)
    async with db.write() as conn:
        claimed = await claim_leases(conn, "a", limit=10, ttl_s=TTL_S)
    assert [lease.hotel_id for lease in claimed] == [ids[0], ids[2]]


async def test_live_daemons_by_heartbeat_age(db: Database) -> None:
    t0 = utcnow()
    async with db.write() as conn:
        await register_daemon(conn, "a", host="x", pid=1, now=t0)
        await register_daemon(conn, "b", host="x", pid=2, now=t0 - timedelta(seconds=40))
    async with db.read() as conn:
        assert await count_live_daemons(conn, ttl_s=TTL_S, now=t0) == 1
        assert await count_live_daemons(conn, ttl_s=60, now=t0) == 2


def test_fair_quota() -> None:
    assert fair_quota(30, 3) == 10
    assert fair_quota(31, 3) == 11
    assert fair_quota(5, 0) == 5
    assert fair_quota(0, 2) == 0


# -- fencing --------------------------------------------------------------------------------


async def test_ingest_of_a_daemon_that_lost_its_lease_is_rejected(db: Database) -> None:
    ids = await add_hotels(db, 2)
    clock = FakeClock()
    own_a = Ownership("a", ttl_s=TTL_S, margin_s=10, clock=clock)
    own_b = Ownership("b", ttl_s=TTL_S, margin_s=10, clock=clock)
    t0 = utcnow()
    async with db.write() as conn:
        own_a.record(
            await claim_leases(conn, "a", limit=2, ttl_s=TTL_S, now=t0), started_mono=clock.t
        )
    writer_a = IngestWriter(db, fence=own_a)
    writer_b = IngestWriter(db, fence=own_b)
    tasks = [asyncio.create_task(writer_a.run()), asyncio.create_task(writer_b.run())]
    try:
        await writer_a.store(ids[0], delivery("1101000000", "first"))
        assert await notification_count(db) == 1
        # a is paused past its lease (its monotonic clock did not notice: worst case); b
        # takes hotel 0 over.
        async with db.write() as conn:
            taken = await claim_leases(
                conn, "b", limit=1, ttl_s=TTL_S, now=t0 + timedelta(seconds=31)
            )
        own_b.record(taken, started_mono=clock.t)
        results = await asyncio.gather(
            writer_a.store(ids[0], delivery("1101000000", "stale")),
            writer_a.store(ids[1], delivery("1101000001", "still a's")),
            return_exceptions=True,
        )
        assert isinstance(results[0], LeaseLost) and results[0].hotel_id == ids[0]
        assert results[1] is Stored.STORED  # same batch, other hotel: committed
        assert writer_a.fenced_rejections == 1
        await writer_b.store(ids[0], delivery("1101000000", "b's"))
        async with db.read() as conn:
            rows = (await conn.execute(select(Notification.hotel_id, Notification.body))).all()
        assert len(rows) == 3
        assert not any("stale" in body for _, body in rows)
        # Not holding a lease at all: rejected before anything is queued.
        with pytest.raises(LeaseLost):
            await writer_b.store(ids[1], delivery("1101000001", "not b's"))
    finally:
        await writer_a.close()
        await writer_b.close()
        await asyncio.gather(*tasks)


async def test_poller_stops_without_deleting_when_the_database_rejects_its_store(
    db: Database,
) -> None:
    ids = await add_hotels(db, 1)
    clock = FakeClock()
    own = Ownership("a", ttl_s=TTL_S, margin_s=10, clock=clock)
    t0 = utcnow()
    async with db.write() as conn:
        claimed = await claim_leases(conn, "a", limit=1, ttl_s=TTL_S, now=t0)
    own.record(claimed, started_mono=clock.t)
    # b takes over while a's own clock noticed nothing (the worst case the database fence is for).
    async with db.write() as conn:
        await claim_leases(conn, "b", limit=1, ttl_s=TTL_S, now=t0 + timedelta(seconds=31))
    writer = IngestWriter(db, fence=own)
    writer_task = asyncio.create_task(writer.run())
    async with FakeGreenApi(long_poll_scale=0.05) as fake:
        instance = fake.add_instance("1101000000", "token0")
        instance.push(shapes.incoming_text("1101000000", "79001234568@c.us", "hello"))
        transport = TransportFactory(GreenApiSettings(), client_id="a").create()
        client = GreenApiClient(
            InstanceCredentials(fake.url, "1101000000", "token0"),
            transport,
            receive_timeout_s=5,
            request_timeout_s=5,
            poll_timeout_margin_s=5,
        )
        poller = HotelPoller(
            ids[0],
            "h00",
            client,
            writer,
            health=HotelHealth(ids[0], "h00"),
            may_poll=lambda: own.is_valid(ids[0]),
        )
        try:
            await asyncio.wait_for(poller.run(), timeout=10)
        finally:
            await transport.aclose()
            await writer.close()
            await writer_task
        assert poller.lease_lost
        assert instance.pending_count == 1 and instance.deleted == []  # left for b
    assert writer.fenced_rejections == 1
    assert await notification_count(db) == 0


async def test_guarded_update_affects_nothing_for_a_stale_epoch(db: Database) -> None:
    ids = await add_hotels(db, 1)
    async with db.write() as conn:
        (lease,) = await claim_leases(conn, "a", limit=1, ttl_s=TTL_S)

    async def rename(epoch: int, name: str) -> int:
        async with db.write() as conn:
            result = await conn.execute(
                update(Hotel)
                .where(Hotel.id == ids[0], lease_held(Hotel.id, "a", epoch))
                .values(name=name)
            )
            return int(result.rowcount)

    assert await rename(lease.epoch - 1, "stale") == 0
    assert await rename(lease.epoch, "fresh") == 1
    async with db.write() as conn:
        assert await holds_lease(conn, ids[0], "a", lease.epoch)
        assert not await holds_lease(conn, ids[0], "b", lease.epoch)


@pytest.mark.postgres
async def test_fence_lock_makes_a_concurrent_claim_skip_the_row(backend: str, db: Database) -> None:
    if backend != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite serialises whole transactions)")
    ids = await add_hotels(db, 1)
    t0 = utcnow()
    async with db.write() as conn:
        (lease,) = await claim_leases(conn, "a", limit=1, ttl_s=TTL_S, now=t0)
    later = t0 + timedelta(seconds=31)
    async with db.write() as conn_a:
        assert await holds_lease(conn_a, ids[0], "a", lease.epoch)
        # While a's fenced transaction is open, b's claim of the expired lease skips the row.
        async with db.write() as conn_b:
            assert await claim_leases(conn_b, "b", limit=1, ttl_s=TTL_S, now=later) == []
    async with db.write() as conn_b:
        assert len(await claim_leases(conn_b, "b", limit=1, ttl_s=TTL_S, now=later)) == 1


@pytest.mark.postgres
async def test_concurrent_claimers_never_share_a_hotel(backend: str, db: Database) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only")
    await add_hotels(db, 40)

    async def claimer(name: str) -> list[int]:
        got: list[int] = []
        for _ in range(10):
            async with db.write() as conn:
                got += [
                    lease.hotel_id for lease in await claim_leases(conn, name, limit=2, ttl_s=TTL_S)
                ]
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(claimer(f"d{i}") for i in range(4)))
    everything = [h for got in results for h in got]
    assert len(everything) == len(set(everything)) == 40


# -- Ownership (pure) -----------------------------------------------------------------------


def test_ownership_self_fences_on_the_monotonic_clock() -> None:
    clock = FakeClock()
    own = Ownership("a", ttl_s=30, margin_s=10, clock=clock)
    expires = datetime.now().astimezone()
    own.record([Lease(7, 3, expires)], started_mono=clock.t)
    assert own.epoch_of(7) == 3 and 7 in own
    clock.t += 19.9
    assert own.epoch_of(7) == 3
    assert own.next_fence_deadline() == pytest.approx(1020.0)
    clock.t += 0.1
    assert own.epoch_of(7) is None and 7 not in own
    assert own.fenced_ids() == {7} and own.held() == {7: 3}
    own.record([Lease(7, 3, expires)], started_mono=clock.t)  # renewed: valid again
    assert own.epoch_of(7) == 3
    own.drop([7])
    assert own.held() == {} and own.epoch_of(7) is None


# -- LeaseManager rounds --------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.manager: LeaseManager | None = None
        self.history: list[set[int]] = []

    async def __call__(self) -> None:
        assert self.manager is not None
        self.history.append(self.manager.ownership.valid_ids())


def manager(
    db: Database, name: str, clock: FakeClock, ttl_s: float = TTL_S
) -> tuple[LeaseManager, Recorder]:
    recorder = Recorder()
    mgr = LeaseManager(db, LeaseSettings(ttl_s=ttl_s), name, on_change=recorder, clock=clock, pid=1)
    recorder.manager = mgr
    return mgr, recorder


async def test_manager_balances_on_postgres_and_is_single_owner_on_sqlite(
    backend: str, db: Database
) -> None:
    ids = await add_hotels(db, 7)
    clock = FakeClock()
    m1, r1 = manager(db, "one", clock)
    m2, _r2 = manager(db, "two", clock)
    await m1.start()
    assert m1.ownership.valid_ids() == set(ids)
    assert r1.history[-1] == set(ids)
    await m2.start()  # registers, sees 2 live daemons, but everything is taken
    await m1.tick()  # quota 4: releases 3, after telling the daemon (poller stop first)
    await m2.tick()
    if backend == "sqlite":
        assert m1.ownership.valid_ids() == set(ids)
        assert m2.ownership.held() == {}
    else:
        assert len(m1.ownership.valid_ids()) == 4
        assert len(m2.ownership.valid_ids()) == 3
        assert m1.ownership.valid_ids().isdisjoint(m2.ownership.valid_ids())
        assert r1.history[-1] == m1.ownership.valid_ids()
    # A clean stop hands everything over at the other's next round.
    await m1.release_all()
    await m2.tick()
    assert m2.ownership.valid_ids() == set(ids)
    await m2.release_all()


async def test_manager_self_fences_then_recovers_the_same_epoch(db: Database) -> None:
    ids = await add_hotels(db, 2)
    clock = FakeClock()
    m, rec = manager(db, "one", clock, ttl_s=30)
    await m.start()
    epochs = m.ownership.held()
    clock.t += 20.5  # renew overdue: ttl 30 - margin 10
    await m._self_fence()
    assert rec.history[-1] == set() and m.ownership.valid_ids() == set()
    await m.tick()  # nobody took them: renewed under the same epoch, valid again
    assert m.ownership.held() == epochs
    assert rec.history[-1] == set(ids)
    await m.release_all()


def test_lease_settings_defaults_and_validation() -> None:
    default = LeaseSettings()
    assert default.ttl_s == 20
    assert default.renew_every_s == default.fence_margin_s == pytest.approx(20 / 3)
    short = LeaseSettings(ttl_s=6)
    assert (short.renew_every_s, short.fence_margin_s) == (2, 2)
    with pytest.raises(ValueError, match="renew_interval_s"):
        LeaseSettings(ttl_s=6, renew_interval_s=5)


async def test_leases_of_a_crashed_daemon_on_this_host_are_reclaimed_at_once(db: Database) -> None:
    """A restart after a crash must not wait a TTL for its predecessor's leases."""
    from hotelbot.storage.leases import (
        claim_leases,
        ensure_lease_rows,
        reap_dead_local_daemons,
        register_daemon,
    )

    await add_hotels(db, 2)
    async with db.write() as conn:
        await ensure_lease_rows(conn)
        await register_daemon(conn, "host-a:111", host="host-a", pid=111)
        await register_daemon(conn, "host-b:222", host="host-b", pid=222)
        await claim_leases(conn, "host-a:111", limit=1, ttl_s=300)
        await claim_leases(conn, "host-b:222", limit=1, ttl_s=300)
    async with db.write() as conn:
        reaped = await reap_dead_local_daemons(
            conn, me="host-a:999", host="host-a", is_alive=lambda pid: pid != 111
        )
        assert reaped == ["host-a:111"]
        # Only the dead local owner's row became free; the other host's lease is untouched.
        got = await claim_leases(conn, "host-a:999", limit=5, ttl_s=300)
    assert len(got) == 1
    async with db.write() as conn:
        again = await reap_dead_local_daemons(
            conn, me="host-a:999", host="host-a", is_alive=lambda pid: pid != 111
        )
    assert again == []


async def test_a_fixed_name_restart_takes_its_leases_back_when_the_predecessor_is_gone(
    db: Database,
) -> None:
    """daemon.name set in the settings: the restarted daemon has the same name, so reaping
    by name does not apply; it frees its own old leases when the old process is provably
    gone (same host, pid not running), and only then."""
    import sys

    ids = await add_hotels(db, 3)
    gone_pid = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone_pid.wait()
    alive = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)"
    )
    clock = FakeClock()
    settings = LeaseSettings(ttl_s=300)

    def fixed(host: str, pid: int) -> LeaseManager:
        rec = Recorder()
        mgr = LeaseManager(db, settings, "fixed", on_change=rec, clock=clock, host=host, pid=pid)
        rec.manager = mgr
        return mgr

    try:
        first = fixed("host-a", alive.pid)
        await first.start()
        assert first.ownership.valid_ids() == set(ids)  # then "crashes": nothing released
        # The old process still runs: a second "fixed" must not take its hotels.
        second = fixed("host-a", os.getpid())
        await second.start()
        assert second.ownership.valid_ids() == set()
        # On another host the old one cannot be checked: wait for the TTL.
        async with db.write() as conn:
            await conn.execute(
                update(RegisteredDaemon)
                .where(RegisteredDaemon.id == "fixed")
                .values(host="host-b", pid=gone_pid.pid)
            )
        third = fixed("host-a", os.getpid())
        await third.start()
        assert third.ownership.valid_ids() == set()
        # Same host, pid gone: taken back at once, with new epochs.
        async with db.write() as conn:
            await conn.execute(
                update(RegisteredDaemon)
                .where(RegisteredDaemon.id == "fixed")
                .values(host="host-a", pid=gone_pid.pid)
            )
        restarted = fixed("host-a", os.getpid())
        await restarted.start()
        assert restarted.ownership.valid_ids() == set(ids)
        assert all(e == 2 for e in restarted.ownership.held().values())
        await restarted.release_all()
    finally:
        alive.kill()
        await alive.wait()
