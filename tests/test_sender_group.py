"""The sender's group commit: the outcomes of several hotels' steps share one write
transaction, and one hotel's failing write never fails the others' (real fake Green API over
HTTP, real SQLite and PostgreSQL; the failure is a database trigger, not a stand-in)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from hotelbot.daemon.sender import OutboxSender, SendReport
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.transport import HttpxTransport
from hotelbot.storage.db import Database
from hotelbot.storage.outbox import enqueue
from hotelbot.storage.types import utcnow
from tests.scheduling_helpers import make_hotel, outbox_rows

TOKEN = "secret-token"
CHAT = "37120000001@c.us"


@dataclass
class Hotel:
    id: int
    instance: FakeInstance
    client: GreenApiClient


@pytest.fixture
async def hotels(db: Database) -> AsyncIterator[list[Hotel]]:
    async with FakeGreenApi() as fake:
        transport = HttpxTransport(connect_timeout_s=2.0)
        found = []
        for number, slug in enumerate(("alpha", "beta", "gamma")):
            instance_id = f"110100000{number + 1}"
            instance = fake.add_instance(instance_id, TOKEN)
            instance.faults.latency_s = 0.3  # sends finish while the test holds the writer
            client = GreenApiClient(
                InstanceCredentials(fake.url, instance_id, TOKEN),
                transport,
                request_timeout_s=5.0,
            )
            hotel_id = await make_hotel(db, slug, api_url=fake.url, instance_id=instance_id)
            found.append(Hotel(hotel_id, instance, client))
        try:
            yield found
        finally:
            await transport.aclose()


def _sender(db: Database, hotels: list[Hotel]) -> OutboxSender:
    clients = {h.id: h.client for h in hotels}
    return OutboxSender(db, clients.get)


async def _enqueue(db: Database, hotel: Hotel, message: str) -> int:
    async with db.write() as conn:
        outbox_id = await enqueue(
            conn,
            hotel_id=hotel.id,
            idempotency_key=f"group:{hotel.id}",
            kind="manual",
            chat_id=CHAT,
            text=message,
            available_at=utcnow(),
        )
    assert outbox_id is not None
    return outbox_id


async def _states(db: Database) -> dict[int, str]:
    return {row["id"]: row["state"] for row in await outbox_rows(db)}


async def _steps_held_before_recording(
    db: Database, sender: OutboxSender, hotels: list[Hotel], ids: list[int]
) -> list[SendReport | BaseException]:
    """Run every hotel's step at once; on SQLite, hold the write lock from their claims
    until their sends are answered, so that all their outcomes queue for one commit."""
    steps = [asyncio.create_task(sender.run_once(h.id)) for h in hotels]
    for _ in range(200):
        states = await _states(db)
        if all(states[i] == "sending" for i in ids):
            break
        await asyncio.sleep(0.01)
    async with db.write():
        await asyncio.sleep(0.6)  # the fake answers after 0.3 s: every step is recording now
    return await asyncio.gather(*steps, return_exceptions=True)


async def test_steps_of_several_hotels_are_recorded_together_each_once(
    db: Database, hotels: list[Hotel]
) -> None:
    ids = [await _enqueue(db, h, f"hello from {h.id}") for h in hotels]
    sender = _sender(db, hotels)
    results = await _steps_held_before_recording(db, sender, hotels, ids)
    for result in results:
        assert isinstance(result, SendReport)
        assert (result["sent"], result["sent:requested"]) == (1, 1)
    rows = {row["id"]: row for row in await outbox_rows(db)}
    for outbox_id, hotel in zip(ids, hotels, strict=True):
        assert rows[outbox_id]["state"] == "sent"
        assert [s.id_message for s in hotel.instance.sent] == [rows[outbox_id]["id_message"]]


async def _refuse_sent_rows_of(db: Database, hotel_id: int) -> None:
    """A database trigger that makes marking this hotel's rows `sent` fail."""
    async with db.write() as conn:
        if db.is_sqlite:
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_sent BEFORE UPDATE OF state ON outbox "
                    f"WHEN NEW.hotel_id = {hotel_id} AND NEW.state = 'sent' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
                )
            )
            return
        await conn.execute(
            text(
                "CREATE FUNCTION refuse_sent() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused by test trigger'; END $$ LANGUAGE plpgsql"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER refuse_sent BEFORE UPDATE ON outbox FOR EACH ROW "
                f"WHEN (NEW.hotel_id = {hotel_id} AND NEW.state = 'sent') "
                "EXECUTE FUNCTION refuse_sent()"
            )
        )


async def test_one_hotels_failing_write_does_not_fail_the_others(
    db: Database, hotels: list[Hotel]
) -> None:
    ids = [await _enqueue(db, h, f"hello from {h.id}") for h in hotels]
    broken = hotels[1]
    await _refuse_sent_rows_of(db, broken.id)
    sender = _sender(db, hotels)
    results = await _steps_held_before_recording(db, sender, hotels, ids)
    states = await _states(db)
    for outbox_id, hotel, result in zip(ids, hotels, results, strict=True):
        if hotel is broken:
            # its step reports the database error; the row stays `sending` (sent at Green
            # API, so reconciliation, not a resend, settles it)
            assert isinstance(result, Exception)
            assert "refused by test trigger" in str(result)
            assert states[outbox_id] == "sending"
        else:
            assert isinstance(result, SendReport)
            assert result["sent"] == 1
            assert states[outbox_id] == "sent"
        assert len(hotel.instance.sent) == 1


async def _lease_all(db: Database, owner: str, count: int) -> dict[int, int]:
    from hotelbot.storage.leases import claim_leases, ensure_lease_rows

    async with db.write() as conn:
        await ensure_lease_rows(conn)
        leases = await claim_leases(conn, owner, limit=count, ttl_s=60)
    return {lease.hotel_id: lease.epoch for lease in leases}


@dataclass(frozen=True)
class _Lease:
    owner: str
    epochs: dict[int, int]

    def epoch_of(self, hotel_id: int) -> int | None:
        return self.epochs.get(hotel_id)


async def test_claims_of_hotels_stepping_together_share_one_fenced_transaction(
    db: Database, hotels: list[Hotel]
) -> None:
    """One claim transaction for the round, and its lease check is per hotel: the hotel
    whose epoch moved on claims and sends nothing, the others send theirs once."""
    ids = [await _enqueue(db, h, f"hello from {h.id}") for h in hotels]
    epochs = await _lease_all(db, "daemon-a", len(hotels))
    stale = hotels[2]
    epochs[stale.id] -= 1  # this daemon acts under an epoch another claim has replaced
    clients = {h.id: h.client for h in hotels}
    sender = OutboxSender(db, clients.get, lease=_Lease("daemon-a", epochs))
    reports = await asyncio.gather(*(sender.run_once(h.id) for h in hotels))
    assert sender.claim_rounds == (1, 3)
    states = await _states(db)
    for outbox_id, hotel, report in zip(ids, hotels, reports, strict=True):
        if hotel is stale:
            assert (report["not_ours"], report["sent"]) == (1, 0)
            assert states[outbox_id] == "pending"
            assert hotel.instance.sent == []
        else:
            assert report["sent"] == 1
            assert states[outbox_id] == "sent"
            assert len(hotel.instance.sent) == 1


async def test_a_step_cancelled_while_its_claim_commits_gives_its_rows_back(
    db: Database, hotels: list[Hotel]
) -> None:
    """The shared claim is not cancelled with one step; the rows it claimed for that step
    go back to `pending` with no attempt spent, and nothing is sent for them."""
    hotel = hotels[0]
    outbox_id = await _enqueue(db, hotel, "cancelled before sending")
    epochs = await _lease_all(db, "daemon-a", len(hotels))
    clients = {h.id: h.client for h in hotels}
    sender = OutboxSender(db, clients.get, lease=_Lease("daemon-a", epochs))
    async with db.write() as blocker:
        if not db.is_sqlite:
            # SQLite: the write lock held here stops the claim; PostgreSQL: the lease row
            # the claim locks FOR KEY SHARE, held FOR UPDATE here.
            await blocker.execute(
                text("SELECT 1 FROM hotel_leases WHERE hotel_id = :h FOR UPDATE"),
                {"h": hotel.id},
            )
        step = asyncio.create_task(sender.run_once(hotel.id))
        await asyncio.sleep(0.3)
        assert not step.done()
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
    for _ in range(250):  # the claim commits once the blocker is gone, then the give-back
        row = {r["id"]: r for r in await outbox_rows(db)}[outbox_id]
        if row["sending_started_at"] is not None and row["state"] != "sending":
            break
        await asyncio.sleep(0.02)
    assert row["sending_started_at"] is not None  # it was claimed
    assert (row["state"], row["attempts"]) == ("pending", 0)
    await sender.stop()
    assert hotel.instance.sent == []
