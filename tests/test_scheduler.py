"""Scheduler: trigger fires decided once, in local time, with the send policy applied.

Time is controlled: every test calls `Scheduler.run_once(now)` with its own instants.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.daemon.scheduler import Scheduler, fire_message_triggers, message_hook
from hotelbot.domain.fire_times import StayStatus
from hotelbot.domain.triggers import parse_trigger
from hotelbot.storage.db import Database
from hotelbot.storage.guest_facts import GuestPolicyFacts
from hotelbot.storage.schema import upgrade
from hotelbot.storage.stays import update_stay
from hotelbot.storage.triggers import edit_trigger, schedulable_hotel_ids
from tests.scheduling_helpers import fires, make_hotel, make_stay, make_trigger, outbox_rows

RIGA = ZoneInfo("Europe/Riga")
NEW_YORK = ZoneInfo("America/New_York")


def local(tz: ZoneInfo, y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz).astimezone(UTC)


class FactsStub:
    """Stands in for the understanding branch's guest tables (opt-out, staff pause)."""

    def __init__(self) -> None:
        self.facts: dict[str, GuestPolicyFacts] = {}

    async def __call__(
        self, conn: AsyncConnection, hotel_id: int, chat_ids: Sequence[str]
    ) -> Mapping[str, GuestPolicyFacts]:
        return {c: self.facts[c] for c in chat_ids if c in self.facts}


@pytest.fixture
async def sdb(sqlite_url: str) -> AsyncIterator[Database]:
    """SQLite only: for policy tests where the backend does not matter (the storage paths
    they use are covered on both backends by the other tests)."""
    database = Database.open(sqlite_url)
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


async def step(scheduler: Scheduler, start: datetime, end: datetime, every: timedelta) -> None:
    at = start
    while at <= end:
        await scheduler.run_once(at)
        at += every


async def test_recurring_and_relative_fire_at_local_time_across_dst(db: Database) -> None:
    riga = await make_hotel(db, "riga", timezone="Europe/Riga")
    ny = await make_hotel(db, "nyc", timezone="America/New_York", instance_id="1101000002")
    # Riga springs forward on 2026-03-29, New York on 2026-03-08.
    riga_stay = await make_stay(db, riga, check_in=date(2026, 3, 27), check_out=date(2026, 3, 31))
    ny_stay = await make_stay(db, ny, check_in=date(2026, 3, 6), check_out=date(2026, 3, 9))
    for hotel in (riga, ny):
        await make_trigger(db, hotel, "morning", "daily at 09:00 grace 3h")
        await make_trigger(db, hotel, "pre-departure", "1d before check-out at 10:00 grace 3h")
    scheduler = Scheduler(db)
    every = timedelta(hours=2)
    utc = UTC
    await step(
        scheduler, datetime(2026, 3, 6, tzinfo=utc), datetime(2026, 3, 10, tzinfo=utc), every
    )
    await step(
        scheduler, datetime(2026, 3, 27, tzinfo=utc), datetime(2026, 4, 1, tzinfo=utc), every
    )

    log = await fires(db)
    assert all(outcome == "enqueued" for *_, outcome, _ in log)
    by_stay: dict[int, list[datetime]] = {}
    for _trigger, stay, at, _outcome, _ in log:
        by_stay.setdefault(stay, []).append(at)
    assert by_stay[riga_stay] == [
        local(RIGA, 2026, 3, 28, 9),
        local(RIGA, 2026, 3, 29, 9),  # first day of summer time: still 09:00 local
        local(RIGA, 2026, 3, 30, 9),
        local(RIGA, 2026, 3, 30, 10),  # 1d before check-out at 10:00
        local(RIGA, 2026, 3, 31, 9),
    ]
    assert by_stay[ny_stay] == [
        local(NEW_YORK, 2026, 3, 7, 9),
        local(NEW_YORK, 2026, 3, 8, 9),  # DST day
        local(NEW_YORK, 2026, 3, 8, 10),
        local(NEW_YORK, 2026, 3, 9, 9),
    ]
    # The UTC instants really differ across the change (07:00Z before, 06:00Z after in Riga).
    assert by_stay[riga_stay][0].hour == 7 and by_stay[riga_stay][1].hour == 6
    rows = await outbox_rows(db)
    assert len(rows) == len(log)
    assert {r["idempotency_key"] for r in rows} == {
        f"trigger:{t}:{s}:{at.isoformat()}" for t, s, at, _, _ in log
    }
    # Every fire went out at the first 2-hourly tick at or after it (catch-up within grace).
    due = {f"trigger:{t}:{s}:{at.isoformat()}": at for t, s, at, _, _ in log}
    for row in rows:
        lateness = row["available_at"] - due[row["idempotency_key"]]
        assert timedelta(0) <= lateness < every
    assert rows[0]["text"] == "morning for Anna"


async def test_quiet_hours_defer_to_window_end_never_drop(sdb: Database) -> None:
    hotel = await make_hotel(sdb, quiet_hours="22:00-09:00")
    await make_stay(
        sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 3), check_in_time=time(23, 0)
    )
    await make_trigger(sdb, hotel, "welcome", "at check-in")
    scheduler = Scheduler(sdb)
    report = await scheduler.run_once(local(RIGA, 2026, 6, 1, 23, 5))
    assert dict(report.outcomes) == {"deferred:quiet_hours": 1}
    [row] = await outbox_rows(sdb)
    assert row["available_at"] == local(RIGA, 2026, 6, 2, 9)
    assert row["state"] == "pending"
    # Decided once: later ticks (also the one at 09:00) add nothing.
    for at in (local(RIGA, 2026, 6, 1, 23, 30), local(RIGA, 2026, 6, 2, 9, 1)):
        assert not (await scheduler.run_once(at)).outcomes
    assert len(await outbox_rows(sdb)) == 1


async def test_catch_up_within_grace_and_skip_after_downtime(sdb: Database) -> None:
    hotel = await make_hotel(sdb)
    await make_stay(sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_trigger(sdb, hotel, "morning", "daily at 09:00 grace 15m")
    scheduler = Scheduler(sdb)
    # Down from 08:55 to 09:10: caught up (10 min late < 15 min grace).
    assert dict((await scheduler.run_once(local(RIGA, 2026, 6, 2, 9, 10))).outcomes) == {
        "enqueued": 1
    }
    # Down from 08:55 to 09:40 next day: a 09:00 greeting is not sent at 09:40.
    assert dict((await scheduler.run_once(local(RIGA, 2026, 6, 3, 9, 40))).outcomes) == {
        "missed": 1
    }
    assert [f[3] for f in await fires(sdb)] == ["enqueued", "missed"]
    assert len(await outbox_rows(sdb)) == 1


async def test_daily_cap_defers_the_extra_message_to_the_next_morning(sdb: Database) -> None:
    hotel = await make_hotel(sdb, max_automated_per_day=2)
    await make_stay(sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    for name in ("a", "b", "c"):
        await make_trigger(sdb, hotel, name, "daily at 12:00")
    report = await Scheduler(sdb).run_once(local(RIGA, 2026, 6, 2, 12, 1))
    assert dict(report.outcomes) == {"enqueued": 2, "deferred:daily_cap": 1}
    rows = await outbox_rows(sdb)
    assert sorted(r["available_at"] for r in rows) == [
        local(RIGA, 2026, 6, 2, 12, 1),
        local(RIGA, 2026, 6, 2, 12, 1),
        local(RIGA, 2026, 6, 3, 9),  # next local day, pushed past quiet hours
    ]


async def test_cancelled_stay_and_checked_out_guest_get_nothing(sdb: Database) -> None:
    hotel = await make_hotel(sdb)
    cancelled = await make_stay(
        sdb, hotel, phone="+37120000011", check_in=date(2026, 6, 1), check_out=date(2026, 6, 4)
    )
    left = await make_stay(
        sdb, hotel, phone="+37120000012", check_in=date(2026, 6, 1), check_out=date(2026, 6, 4)
    )
    async with sdb.write() as conn:
        await update_stay(conn, cancelled, {"status": StayStatus.CANCELLED.value})
        await update_stay(conn, left, {"status": StayStatus.CHECKED_OUT.value})
    await make_trigger(sdb, hotel, "morning", "daily at 10:00")
    report = await Scheduler(sdb).run_once(local(RIGA, 2026, 6, 2, 10, 1))
    assert dict(report.outcomes) == {"skipped:cancelled": 1, "skipped:after_checkout": 1}
    assert await outbox_rows(sdb) == []


async def test_opt_out_stops_messages_and_resume_restarts_them(sdb: Database) -> None:
    hotel = await make_hotel(sdb)
    await make_stay(sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_trigger(sdb, hotel, "morning", "daily at 10:00")
    facts = FactsStub()
    scheduler = Scheduler(sdb, guest_facts=facts)
    facts.facts["37120000001@c.us"] = GuestPolicyFacts(opted_out=True)
    assert dict((await scheduler.run_once(local(RIGA, 2026, 6, 2, 10, 1))).outcomes) == {
        "skipped:opted_out": 1
    }
    facts.facts["37120000001@c.us"] = GuestPolicyFacts(opted_out=False)  # START
    assert dict((await scheduler.run_once(local(RIGA, 2026, 6, 3, 10, 1))).outcomes) == {
        "enqueued": 1
    }
    assert len(await outbox_rows(sdb)) == 1


async def test_staff_pause_defers_a_message_to_the_pause_end(sdb: Database) -> None:
    hotel = await make_hotel(sdb)
    await make_stay(sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_trigger(sdb, hotel, "noon", "daily at 12:00 grace 1h")
    facts = FactsStub()
    facts.facts["37120000001@c.us"] = GuestPolicyFacts(
        staff_paused_until=local(RIGA, 2026, 6, 2, 12, 30)
    )
    report = await Scheduler(sdb, guest_facts=facts).run_once(local(RIGA, 2026, 6, 2, 12, 1))
    assert dict(report.outcomes) == {"deferred:staff_pause": 1}
    assert [r["available_at"] for r in await outbox_rows(sdb)] == [local(RIGA, 2026, 6, 2, 12, 30)]


async def test_restart_and_clock_jump_back_decide_nothing_twice(db: Database) -> None:
    hotel = await make_hotel(db)
    for i in range(3):
        await make_stay(
            db,
            hotel,
            phone=f"+3712000010{i}",
            check_in=date(2026, 6, 1),
            check_out=date(2026, 6, 5),
        )
    await make_trigger(db, hotel, "morning", "daily at 10:00")
    at = local(RIGA, 2026, 6, 2, 10, 5)
    first = await Scheduler(db).run_once(at)
    assert dict(first.outcomes) == {"enqueued": 3}
    # A "restarted" daemon (new Scheduler) over the same window, and a clock that jumps back.
    for when in (at, at + timedelta(seconds=30), at - timedelta(minutes=3)):
        assert not (await Scheduler(db).run_once(when)).outcomes
    assert len(await fires(db)) == 3
    assert len(await outbox_rows(db)) == 3


async def test_two_schedulers_racing_on_one_database_fire_each_once(db: Database) -> None:
    hotel = await make_hotel(db, max_automated_per_day=0)
    for i in range(12):
        await make_stay(
            db,
            hotel,
            phone=f"+3712000020{i:02d}",
            check_in=date(2026, 6, 1),
            check_out=date(2026, 6, 4),
        )
    await make_trigger(db, hotel, "morning", "daily at 10:00")
    await make_trigger(db, hotel, "evening", "daily at 20:00")
    await make_trigger(db, hotel, "checkout", "at check-out")
    other = Database.open(db.url)
    try:
        a, b = Scheduler(db, name="a"), Scheduler(other, name="b")
        start = local(RIGA, 2026, 6, 1, 19, 0)
        totals: dict[str, int] = {}
        for step in range(48):  # hourly for two days, both racing on every tick
            now = start + timedelta(hours=step)
            ra, rb = await asyncio.gather(a.run_once(now), b.run_once(now))
            for report in (ra, rb):
                for outcome, n in report.outcomes.items():
                    totals[outcome] = totals.get(outcome, 0) + n
    finally:
        await other.dispose()
    log = await fires(db)
    # 12 stays x (evening Jun 1, 2 + morning Jun 2, 3; the rest is beyond the window).
    assert len(log) == 48
    assert sum(totals.values()) == len(log)  # nobody counted a fire the other one decided
    rows = await outbox_rows(db)
    assert len(rows) == len([f for f in log if f[4] is not None]) == 48


async def test_trigger_edits_apply_on_the_next_tick(db: Database) -> None:
    hotel = await make_hotel(db)
    await make_stay(db, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    trigger = await make_trigger(db, hotel, "morning", "daily at 10:00")
    scheduler = Scheduler(db)
    async with db.write() as conn:
        await edit_trigger(conn, trigger, enabled=False)
    assert not (await scheduler.run_once(local(RIGA, 2026, 6, 2, 10, 1))).outcomes
    async with db.write() as conn:
        await edit_trigger(conn, trigger, enabled=True, spec=parse_trigger("daily at 11:00"))
    assert not (await scheduler.run_once(local(RIGA, 2026, 6, 2, 10, 30))).outcomes
    report = await scheduler.run_once(local(RIGA, 2026, 6, 2, 11, 0))
    assert dict(report.outcomes) == {"enqueued": 1}
    [fire] = await fires(db)
    assert fire[2] == local(RIGA, 2026, 6, 2, 11)


async def test_stay_created_trigger_and_next_due(sdb: Database) -> None:
    hotel = await make_hotel(sdb)
    created = local(RIGA, 2026, 6, 1, 12, 0)
    await make_stay(
        sdb, hotel, check_in=date(2026, 6, 10), check_out=date(2026, 6, 12), created_at=created
    )
    await make_trigger(sdb, hotel, "booked", "on stay created")
    await make_trigger(sdb, hotel, "soon", "1h after check-in")
    scheduler = Scheduler(sdb, tick_s=20)
    report = await scheduler.run_once(created + timedelta(seconds=20))
    assert dict(report.outcomes) == {"enqueued": 1}
    # Next due within the look-ahead (2 ticks) is reported for the APScheduler date job.
    due = local(RIGA, 2026, 6, 10, 16, 0)
    report = await scheduler.run_once(due - timedelta(seconds=10))
    assert report.next_due == due


async def test_message_event_triggers_fire_through_the_processor_hook(db: Database) -> None:
    hotel = await make_hotel(db)
    await make_stay(db, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_trigger(db, hotel, "wifi", "on keyword wifi, wi-fi", {"en": "The password is x"})
    await make_trigger(db, hotel, "hello", "on first message", {"en": "Hi {first_name}!"})
    at = local(RIGA, 2026, 6, 2, 12, 0)
    chat = "37120000001@c.us"
    async with db.write() as conn:
        first = await fire_message_triggers(
            conn,
            hotel_id=hotel,
            chat_id=chat,
            text="What is the WiFi password?",
            received_at=at,
            first_message=True,
            now=at,
        )
    assert sorted(first) == ["enqueued", "enqueued"]
    async with db.write() as conn:
        # The same message processed again, and a later first-message flag: nothing new.
        again = await fire_message_triggers(
            conn,
            hotel_id=hotel,
            chat_id=chat,
            text="What is the WiFi password?",
            received_at=at,
            first_message=True,
            now=at,
        )
        unrelated = await fire_message_triggers(
            conn,
            hotel_id=hotel,
            chat_id="37199999999@c.us",
            text="wifi?",
            received_at=at,
            first_message=True,
            now=at,
        )
    assert again == [] and unrelated == []
    assert sorted(r["text"] for r in await outbox_rows(db)) == ["Hi Anna!", "The password is x"]


async def test_missing_template_value_is_skipped_not_sent_with_a_hole(sdb: Database) -> None:
    hotel = await make_hotel(sdb)
    await make_stay(sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_trigger(sdb, hotel, "room", "daily at 10:00", {"en": "Your room is {room}"})
    report = await Scheduler(sdb).run_once(local(RIGA, 2026, 6, 2, 10, 5))
    assert dict(report.outcomes) == {"skipped:missing_value": 1}
    assert await outbox_rows(sdb) == []


@dataclass(frozen=True)
class Info:
    """Shaped like the processor's GuestMessageInfo (only the fields the hook reads)."""

    hotel_id: int
    chat_id: str
    text: str | None
    sent_at: datetime
    is_first_message: bool
    keyword: str | None = None
    needs_staff: bool = False


async def test_processor_message_hook_ignores_stop_and_fires_keywords(sdb: Database) -> None:
    hotel = await make_hotel(sdb)
    await make_stay(sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_trigger(sdb, hotel, "breakfast", "on keyword breakfast", {"en": "7:00-10:30"})
    at = local(RIGA, 2026, 6, 2, 12, 0)
    hook = message_hook(clock=lambda: at)
    chat = "37120000001@c.us"
    async with sdb.write() as conn:
        await hook(conn, Info(hotel, chat, "STOP breakfast", at, False, keyword="stop"))
        await hook(conn, Info(hotel, chat, "When is breakfast?", at, False))
    assert [r["text"] for r in await outbox_rows(sdb)] == ["7:00-10:30"]


async def test_apscheduler_date_job_fires_before_the_next_interval_tick(sdb: Database) -> None:
    hotel = await make_hotel(sdb, quiet_hours="off")
    due = datetime.now(UTC) + timedelta(seconds=1.0)
    await make_stay(
        sdb, hotel, check_in=date(2030, 1, 1), check_out=date(2030, 1, 3), created_at=due
    )
    await make_trigger(sdb, hotel, "booked", "on stay created")
    scheduler = Scheduler(sdb, tick_s=30)  # the interval alone would not fire for 30 s
    scheduler.start()
    try:
        for _ in range(50):
            if await outbox_rows(sdb):
                break
            await asyncio.sleep(0.1)
    finally:
        await scheduler.stop()
    [row] = await outbox_rows(sdb)
    assert row["available_at"] >= due
    assert scheduler.ticks == 2  # the immediate first tick, then the date job


async def test_post_stay_message_goes_out_but_importing_an_ended_stay_greets_nobody(
    sdb: Database,
) -> None:
    hotel = await make_hotel(sdb, quiet_hours="off")
    now = local(RIGA, 2026, 6, 5, 13, 0)
    # Imported today, the stay ended at 11:00 today.
    await make_stay(
        sdb,
        hotel,
        check_in=date(2026, 6, 1),
        check_out=date(2026, 6, 5),
        created_at=now - timedelta(minutes=1),
        status=StayStatus.CHECKED_OUT,
    )
    await make_trigger(sdb, hotel, "booked", "on stay created")
    await make_trigger(sdb, hotel, "thanks", "2h after check-out")
    report = await Scheduler(sdb).run_once(now)
    assert dict(report.outcomes) == {"enqueued": 1, "skipped:after_checkout": 1}
    assert [r["text"] for r in await outbox_rows(sdb)] == ["thanks for Anna"]


async def test_a_new_trigger_catches_up_within_grace_but_records_nothing_older(
    sdb: Database,
) -> None:
    hotel = await make_hotel(sdb)
    await make_stay(sdb, hotel, check_in=date(2026, 6, 1), check_out=date(2026, 6, 8))
    created = local(RIGA, 2026, 6, 4, 10, 5)
    await make_trigger(sdb, hotel, "morning", "daily at 10:00", created_at=created)
    report = await Scheduler(sdb).run_once(created + timedelta(seconds=20))
    # The June 2 and 3 fires predate the trigger: neither sent nor logged as missed.
    assert dict(report.outcomes) == {"enqueued": 1}
    assert [f[2] for f in await fires(sdb)] == [local(RIGA, 2026, 6, 4, 10)]


async def test_a_tick_reads_only_hotels_with_enabled_triggers_and_current_stays(
    db: Database,
) -> None:
    now = local(RIGA, 2026, 6, 2, 10, 1)
    ids: dict[str, int] = {}
    for n, slug in enumerate(("both", "no-stay", "no-trigger", "disabled", "old-stay")):
        ids[slug] = await make_hotel(db, slug, instance_id=f"11010000{10 + n}")
    for slug in ("both", "no-trigger", "disabled"):
        await make_stay(db, ids[slug], check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    await make_stay(db, ids["old-stay"], check_in=date(2026, 3, 1), check_out=date(2026, 3, 5))
    triggers = {
        slug: await make_trigger(db, ids[slug], "morning", "daily at 10:00")
        for slug in ("both", "no-stay", "disabled", "old-stay")
    }
    async with db.write() as conn:
        await edit_trigger(conn, triggers["disabled"], enabled=False)
    async with db.read() as conn:
        found = await schedulable_hotel_ids(conn, check_out_from=date(2026, 5, 29))
    assert found == {ids["both"]}
    scheduler = Scheduler(db)
    assert dict((await scheduler.run_once(now)).outcomes) == {"enqueued": 1}
    # A stay added between ticks (CLI import) is scheduled by the next tick.
    await make_stay(db, ids["no-stay"], check_in=date(2026, 6, 1), check_out=date(2026, 6, 5))
    report = await scheduler.run_once(now + timedelta(seconds=20))
    assert dict(report.outcomes) == {"enqueued": 1}
    assert {row["hotel_id"] for row in await outbox_rows(db)} == {ids["both"], ids["no-stay"]}


@dataclass(frozen=True)
class _Lease:
    """A LeaseView as the lease manager would hold it."""

    owner: str
    epochs: Mapping[int, int]

    def epoch_of(self, hotel_id: int) -> int | None:
        return self.epochs.get(hotel_id)


async def test_a_scheduler_whose_lease_epoch_is_stale_decides_nothing(db: Database) -> None:
    """Fencing: after another daemon claimed the hotel (epoch bumped), a paused daemon's
    scheduler must not commit decisions; the current holder's scheduler does."""
    from hotelbot.storage.leases import claim_leases, ensure_lease_rows

    hotel = await make_hotel(db)
    await make_stay(
        db, hotel, phone="+37120000200", check_in=date(2026, 6, 1), check_out=date(2026, 6, 5)
    )
    await make_trigger(db, hotel, "morning", "daily at 10:00")
    async with db.write() as conn:
        await ensure_lease_rows(conn)
        (old,) = await claim_leases(conn, "daemon-a", limit=1, ttl_s=60)
    async with db.write() as conn:  # the lease expires and daemon-b takes over: epoch + 1
        await conn.execute(text("UPDATE hotel_leases SET expires_at = NULL, owner = NULL"))
        (new,) = await claim_leases(conn, "daemon-b", limit=1, ttl_s=60)
    assert new.epoch == old.epoch + 1
    at = local(RIGA, 2026, 6, 2, 10, 5)
    stale = Scheduler(db, lease=_Lease("daemon-a", {old.hotel_id: old.epoch}))
    assert not (await stale.run_once(at)).outcomes
    assert await fires(db) == [] and await outbox_rows(db) == []
    current = Scheduler(db, lease=_Lease("daemon-b", {new.hotel_id: new.epoch}))
    assert dict((await current.run_once(at)).outcomes) == {"enqueued": 1}


async def test_fire_decisions_lock_one_hotel_until_the_transaction_ends(db: Database) -> None:
    """`lock_fire_decisions` on both databases. PostgreSQL: a transaction-level advisory lock
    on (ADVISORY_NAMESPACE, hotel id) that another session cannot take while the holder's
    transaction is open, that leaves other hotels free, and that the commit releases (nothing
    outlives the transaction: safe behind PgBouncer in transaction mode). SQLite: no lock of
    its own (BEGIN IMMEDIATE serialises writers); the write transaction commits as usual."""
    from hotelbot.storage.hotels import instance_states, set_instance_state
    from hotelbot.storage.triggers import ADVISORY_NAMESPACE, lock_fire_decisions

    riga = await make_hotel(db)
    tallinn = await make_hotel(db, "tallinn", instance_id="1101000002")

    async def free(hotel_id: int) -> bool:
        """Whether another session can take the hotel's lock now (without waiting)."""
        async with db.read() as other:
            taken = await other.execute(
                text("SELECT pg_try_advisory_xact_lock(:ns, :hotel)"),
                {"ns": ADVISORY_NAMESPACE, "hotel": hotel_id},
            )
            return bool(taken.scalar_one())

    postgres = db.dialect == "postgresql"
    async with db.write() as conn:
        await lock_fire_decisions(conn, riga)
        await lock_fire_decisions(conn, riga)  # again in the same transaction: no wait
        await set_instance_state(conn, riga, "authorized")
        if postgres:
            assert not await free(riga)
            assert await free(tallinn)
    if postgres:
        assert await free(riga)
    async with db.read() as conn:
        assert await instance_states(conn, [riga]) == {riga: "authorized"}
