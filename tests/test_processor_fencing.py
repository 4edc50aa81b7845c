"""The processor's writes are fenced like the other writers' (one unit of work each): a
daemon whose lease of a hotel was taken over stores nothing for that hotel (its notifications
stay unprocessed, not failed; no follow-up alert, no failed attempt) and the new owner
processes them. Real leases on both databases."""

from __future__ import annotations

from datetime import timedelta

from hotelbot.daemon.processor import Processor
from hotelbot.domain.sentiment import Verdict
from hotelbot.storage.db import Database
from hotelbot.storage.leases import claim_leases, ensure_lease_rows
from hotelbot.storage.models import Notification
from hotelbot.storage.models_messaging import Alert, Message
from hotelbot.storage.types import utcnow
from tests import shapes
from tests.processor_helpers import INSTANCE, FakeAnalyser, FakeClock, count, ingest, make_hotel

GUEST = "79001234599@c.us"
TTL_S = 60.0


class HeldEpochs:
    """A LeaseView (the Protocol the fenced writers take): what one daemon believes it holds."""

    def __init__(self, owner: str, epochs: dict[int, int]) -> None:
        self._owner = owner
        self.epochs = epochs

    @property
    def owner(self) -> str:
        return self._owner

    def epoch_of(self, hotel_id: int) -> int | None:
        return self.epochs.get(hotel_id)


async def test_a_taken_over_hotel_is_left_to_its_new_owner(db: Database) -> None:
    hotel_id = await make_hotel(db)
    async with db.write() as conn:
        await ensure_lease_rows(conn)
        (first,) = await claim_leases(conn, "daemon-a", limit=1, ttl_s=TTL_S)
    await ingest(
        db,
        hotel_id,
        [
            shapes.incoming_text(INSTANCE, GUEST, "the room is dirty and the shower is broken"),
            shapes.incoming_text(INSTANCE, GUEST, "hello"),
        ],
    )
    # Daemon A was frozen past its lease; daemon B took the hotel over (a new epoch).
    later = utcnow() + timedelta(seconds=TTL_S + 5)
    async with db.write() as conn:
        (second,) = await claim_leases(conn, "daemon-b", limit=1, ttl_s=TTL_S, now=later)
    assert second.epoch == first.epoch + 1

    stale = Processor(db, FakeAnalyser(), lease=HeldEpochs("daemon-a", {hotel_id: first.epoch}))
    await stale.run_once()
    assert await count(db, Notification, Notification.processed_at.is_(None)) == 2
    assert await count(db, Notification, Notification.process_error.is_not(None)) == 0
    assert await count(db, Message) == 0 and await count(db, Alert) == 0

    owner = Processor(db, FakeAnalyser(), lease=HeldEpochs("daemon-b", {hotel_id: second.epoch}))
    assert await owner.run_once() == 2
    assert await count(db, Notification, Notification.processed_at.is_(None)) == 0
    assert await count(db, Message) == 2 and await count(db, Alert) == 1


async def _taken_over(db: Database, hotel_id: int) -> tuple[HeldEpochs, HeldEpochs]:
    """Daemon A held the hotel; B took it over after A's lease ran out: (A's view, B's)."""
    async with db.write() as conn:
        await ensure_lease_rows(conn)
        (first,) = await claim_leases(conn, "daemon-a", limit=1, ttl_s=TTL_S)
    later = utcnow() + timedelta(seconds=TTL_S + 5)
    async with db.write() as conn:
        (second,) = await claim_leases(conn, "daemon-b", limit=1, ttl_s=TTL_S, now=later)
    return (
        HeldEpochs("daemon-a", {hotel_id: first.epoch}),
        HeldEpochs("daemon-b", {hotel_id: second.epoch}),
    )


async def test_follow_up_alerts_are_left_to_the_new_owner(db: Database) -> None:
    hotel_id = await make_hotel(db)  # alert_cooldown_min=30
    clock = FakeClock(utcnow())
    await ingest(
        db,
        hotel_id,
        [
            shapes.incoming_text(INSTANCE, GUEST, "the shower is broken"),
            shapes.incoming_text(INSTANCE, GUEST, "and the room is dirty"),
        ],
    )
    # One daemon (no lease yet) processed both: one alert, one message counted in cooldown.
    await Processor(db, FakeAnalyser(), clock=clock).run_once()
    assert await count(db, Alert) == 1
    stale, owner = await _taken_over(db, hotel_id)
    clock.advance(hours=1)  # the cooldown is over: a follow-up is due
    await Processor(db, FakeAnalyser(), clock=clock, lease=stale).run_once()
    assert await count(db, Alert, Alert.kind == "followup") == 0
    await Processor(db, FakeAnalyser(), clock=clock, lease=owner).run_once()
    assert await count(db, Alert, Alert.kind == "followup") == 1


class BrokenAnalyser(FakeAnalyser):
    """Raises for every text: the processor records a failed attempt."""

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        raise RuntimeError("analyser bug")


async def test_a_stale_daemon_records_no_failure_for_a_lost_hotel(db: Database) -> None:
    hotel_id = await make_hotel(db)
    await ingest(db, hotel_id, [shapes.incoming_text(INSTANCE, GUEST, "hello")])
    stale, owner = await _taken_over(db, hotel_id)
    await Processor(db, BrokenAnalyser(), lease=stale, max_attempts=1).run_once()
    # Not counted, not given up: the owner's processor still gets the notification.
    assert await count(db, Notification, Notification.process_attempts > 0) == 0
    assert await count(db, Notification, Notification.processed_at.is_(None)) == 1
    await Processor(db, BrokenAnalyser(), lease=owner, max_attempts=1).run_once()
    assert await count(db, Notification, Notification.process_error.is_not(None)) == 1
