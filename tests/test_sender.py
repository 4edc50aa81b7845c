"""Outbox sender against the fake Green API over real HTTP: retries, ambiguous sends,
reconciliation, holds and pacing. The sender's clock is controlled; HTTP is real."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.daemon.scheduler import Scheduler
from hotelbot.daemon.sender import OutboxSender
from hotelbot.domain.outbox import DEFAULT_POLICIES, LANE_ORDER, Lane, LanePolicy
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.transport import HttpxTransport
from hotelbot.storage.db import Database
from hotelbot.storage.guest_facts import GuestPolicyFacts
from hotelbot.storage.hotels import set_instance_state
from hotelbot.storage.outbox import claim_due, enqueue, record_echo
from hotelbot.storage.schema import upgrade
from hotelbot.storage.stays import update_stay
from hotelbot.storage.triggers import edit_trigger
from hotelbot.storage.types import utcnow
from tests.scheduling_helpers import make_hotel, make_stay, make_trigger, outbox_rows

INSTANCE = "1101000001"
TOKEN = "secret-token"
CHAT = "37120000001@c.us"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Rig:
    db: Database
    fake: FakeGreenApi
    instance: FakeInstance
    client: GreenApiClient
    hotel_id: int
    clock: Clock

    def sender(self, **kwargs: Any) -> OutboxSender:
        """A sender on the rig's clock. LanePolicy fields among `kwargs` (rate_per_s,
        resend_after_s, ...) apply to every lane; the rest go to OutboxSender."""
        fields = {f.name for f in dataclasses.fields(LanePolicy)}
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in fields}
        policies = {lane: replace(p, **overrides) for lane, p in DEFAULT_POLICIES.items()}
        return OutboxSender(
            self.db,
            lambda hotel_id: self.client if hotel_id == self.hotel_id else None,
            clock=self.clock,
            policies=policies,
            **kwargs,
        )

    async def enqueue(self, text: str, *, kind: str = "manual", key: str | None = None) -> int:
        async with self.db.write() as conn:
            outbox_id = await enqueue(
                conn,
                hotel_id=self.hotel_id,
                idempotency_key=key or f"test:{text}",
                kind=kind,
                chat_id=CHAT,
                text=text,
                available_at=self.clock.now,
            )
        assert outbox_id is not None
        return outbox_id

    async def row(self, outbox_id: int) -> dict[str, Any]:
        return next(r for r in await outbox_rows(self.db) if r["id"] == outbox_id)

    def sent_texts(self) -> list[str]:
        return [s.message for s in self.instance.sent]


async def _rig(db: Database, request_timeout_s: float = 2.0) -> AsyncIterator[Rig]:
    async with FakeGreenApi() as fake:
        instance = fake.add_instance(INSTANCE, TOKEN)
        transport = HttpxTransport(connect_timeout_s=2.0)
        client = GreenApiClient(
            InstanceCredentials(fake.url, INSTANCE, TOKEN),
            transport,
            request_timeout_s=request_timeout_s,
        )
        hotel_id = await make_hotel(db, api_url=fake.url, instance_id=INSTANCE)
        try:
            yield Rig(db, fake, instance, client, hotel_id, Clock())
        finally:
            await transport.aclose()


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    async for r in _rig(db):
        yield r


@pytest.fixture
async def srig(sqlite_url: str) -> AsyncIterator[Rig]:
    """SQLite only (the sender's storage paths run on both backends in the `rig` tests)."""
    database = Database.open(sqlite_url)
    await upgrade(database)
    try:
        async for r in _rig(database, request_timeout_s=0.4):
            yield r
    finally:
        await database.dispose()


async def test_sends_a_message_and_records_its_id(rig: Rig) -> None:
    outbox_id = await rig.enqueue("Hello")
    report = await rig.sender().run_once(rig.hotel_id)
    assert report["sent"] == 1
    row = await rig.row(outbox_id)
    assert row["state"] == "sent"
    assert row["id_message"] == rig.instance.sent[0].id_message
    assert rig.sent_texts() == ["Hello"]


async def test_a_500_is_retried_after_backoff_and_sent_once(rig: Rig) -> None:
    rig.instance.faults.fail_next(1, 500, methods=["sendMessage"])
    outbox_id = await rig.enqueue("Retry me")
    sender = rig.sender(retry_base_s=5)
    assert (await sender.run_once(rig.hotel_id))["retry"] == 1
    row = await rig.row(outbox_id)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    # Full jitter (greenapi/retry.py): the first retry waits between half the base and the base.
    due_in = row["available_at"] - rig.clock.now
    assert timedelta(seconds=2.5) <= due_in <= timedelta(seconds=5)
    assert not (await sender.run_once(rig.hotel_id)).counts  # not due yet
    rig.clock.advance(5)
    assert (await sender.run_once(rig.hotel_id))["sent"] == 1
    assert rig.sent_texts() == ["Retry me"]
    assert (await rig.row(outbox_id))["state"] == "sent"


async def test_a_504_is_not_resent_until_reconciliation_finds_no_trace(rig: Rig) -> None:
    # A gateway 504 that really had no effect: the fake does not record the message.
    rig.instance.faults.fail_next(1, 504, methods=["sendMessage"])
    outbox_id = await rig.enqueue("Maybe sent")
    sender = rig.sender(reconcile_after_s=15, resend_after_s=180, journal_interval_s=5)
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 1
    for seconds in (5, 20, 60):  # inside the window: never resent, the journal is consulted
        rig.clock.advance(seconds)
        report = await sender.run_once(rig.hotel_id)
        assert report["sent"] == 0
        assert (await rig.row(outbox_id))["state"] == "unknown"
    assert rig.sent_texts() == []
    assert rig.instance.request_counts.get("lastOutgoingMessages", 0) >= 1
    rig.clock.advance(120)  # 205 s after the attempt: no trace -> requeued and sent
    report = await sender.run_once(rig.hotel_id)
    assert (report["requeued"], report["sent"]) == (1, 1)
    assert rig.sent_texts() == ["Maybe sent"]


async def test_timed_out_send_that_went_through_is_reconciled_from_the_journal(
    srig: Rig,
) -> None:
    rig = srig
    # The fake records the message, then stalls past the client's read timeout.
    rig.instance.faults.send_timeout_next(1, stall_s=1.0)
    outbox_id = await rig.enqueue("Sent but timed out")
    sender = rig.sender(reconcile_after_s=15, send_timeout_s=0.4)
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 1
    assert len(rig.instance.sent) == 1
    rig.clock.advance(20)
    assert (await sender.run_once(rig.hotel_id))["reconciled"] == 1
    row = await rig.row(outbox_id)
    assert (row["state"], row["id_message"]) == ("sent", rig.instance.sent[0].id_message)
    rig.clock.advance(600)
    await sender.run_once(rig.hotel_id)
    assert rig.sent_texts() == ["Sent but timed out"]  # exactly one send at Green API


async def test_the_api_echo_reconciles_an_ambiguous_send(srig: Rig) -> None:
    rig = srig
    rig.instance.faults.send_timeout_next(1)  # recorded, then 504
    outbox_id = await rig.enqueue("Echoed")
    sender = rig.sender()
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 1
    # What the processor does with the outgoingAPIMessageReceived from the queue.
    [echo] = [
        b for b in rig.instance.pending_bodies if b["typeWebhook"] == "outgoingAPIMessageReceived"
    ]
    async with rig.db.write() as conn:
        matched = await record_echo(
            conn,
            hotel_id=rig.hotel_id,
            chat_id=echo["senderData"]["chatId"],
            id_message=echo["idMessage"],
            text=echo["messageData"]["textMessageData"]["textMessage"],
        )
    assert matched == outbox_id
    rig.clock.advance(600)
    await sender.run_once(rig.hotel_id)
    assert (await rig.row(outbox_id))["state"] == "sent"
    assert rig.sent_texts() == ["Echoed"]


async def test_rows_left_sending_by_a_crash_are_reconciled_not_resent(srig: Rig) -> None:
    rig = srig
    outbox_id = await rig.enqueue("Crash in flight")
    async with rig.db.write() as conn:
        await claim_due(
            conn, hotel_id=rig.hotel_id, now=rig.clock.now, limits=dict.fromkeys(LANE_ORDER, 10)
        )
    rig.instance.record_send(CHAT, "Crash in flight")  # the HTTP call had gone through
    rig.clock.advance(100)
    sender = rig.sender(stale_sending_s=90)  # a new daemon process
    assert await sender.recover() == 1
    assert (await rig.row(outbox_id))["state"] == "unknown"
    assert (await sender.run_once(rig.hotel_id))["reconciled"] == 1
    rig.clock.advance(600)
    await sender.run_once(rig.hotel_id)
    assert rig.sent_texts() == ["Crash in flight"]


async def test_unauthorized_instance_holds_the_outbox_without_burning_attempts(
    srig: Rig,
) -> None:
    rig = srig
    rig.instance.set_state("notAuthorized")
    first = await rig.enqueue("one")
    await rig.enqueue("two")
    sender = rig.sender(hold_s=60)
    assert (await sender.run_once(rig.hotel_id))["held"] == 2
    assert sender.is_held(rig.hotel_id)
    assert (await rig.row(first))["attempts"] == 0
    sends_before = rig.instance.request_counts["sendMessage"]
    rig.clock.advance(30)
    assert (await sender.run_once(rig.hotel_id))["held"] == 1
    assert rig.instance.request_counts["sendMessage"] == sends_before  # no hammering
    rig.instance.set_state("authorized")
    rig.clock.advance(31)
    assert (await sender.run_once(rig.hotel_id))["sent"] == 2
    # The hotel's stored instance state holds it too, without any request.
    async with rig.db.write() as conn:
        await set_instance_state(conn, rig.hotel_id, "notAuthorized")
    await rig.enqueue("three")
    assert (await sender.run_once(rig.hotel_id))["held"] == 1
    assert rig.sent_texts() == ["one", "two"]


async def test_429_retry_after_is_honoured_and_sends_are_paced(srig: Rig) -> None:
    rig = srig
    rig.instance.faults.rate_limit_next(1, retry_after_s=30, methods=["sendMessage"])
    limited = await rig.enqueue("limited")
    sender = rig.sender(rate_per_s=1.0, burst=3)
    assert (await sender.run_once(rig.hotel_id))["retry"] == 1
    assert (await rig.row(limited))["available_at"] >= rig.clock.now + timedelta(seconds=30)
    for i in range(5):
        await rig.enqueue(f"m{i}")
    rig.clock.advance(30)
    # The 429 paused the hotel's bucket for 30 s: one token now, then 1/s up to a burst of 3.
    assert (await sender.run_once(rig.hotel_id))["sent"] == 1
    assert (await sender.run_once(rig.hotel_id))["sent"] == 0  # same instant: no tokens
    rig.clock.advance(2)
    assert (await sender.run_once(rig.hotel_id))["sent"] == 2
    rig.clock.advance(10)
    assert (await sender.run_once(rig.hotel_id))["sent"] == 3
    assert sorted(rig.sent_texts()) == ["limited", "m0", "m1", "m2", "m3", "m4"]


class OptedOut:
    async def __call__(
        self, conn: AsyncConnection, hotel_id: int, chat_ids: Sequence[str]
    ) -> Mapping[str, GuestPolicyFacts]:
        return {c: GuestPolicyFacts(opted_out=True) for c in chat_ids}


async def test_automated_message_to_a_guest_who_opted_out_meanwhile_is_cancelled(
    srig: Rig,
) -> None:
    rig = srig
    automated = await rig.enqueue("Good morning", kind="trigger")
    manual = await rig.enqueue("Your taxi is here", kind="manual")
    report = await rig.sender(guest_facts=OptedOut()).run_once(rig.hotel_id)
    assert (report["cancelled"], report["sent"]) == (1, 1)
    assert (await rig.row(automated))["state"] == "cancelled"
    assert (await rig.row(manual))["state"] == "sent"
    assert rig.sent_texts() == ["Your taxi is here"]


async def test_deferred_messages_are_withdrawn_if_stay_cancelled_or_trigger_disabled(
    srig: Rig,
) -> None:
    rig = srig
    riga_23 = datetime(2026, 6, 1, 20, 5, tzinfo=UTC)  # 23:05 in Riga: quiet hours
    stays = [
        await make_stay(
            rig.db,
            rig.hotel_id,
            phone=f"+37120000{i:03d}",
            name=f"Guest{i} X",
            check_in=date(2026, 6, 1),
            check_out=date(2026, 6, 3),
            check_in_time=time(23, 0),
        )
        for i in range(3)
    ]
    await make_trigger(rig.db, rig.hotel_id, "welcome", "at check-in")
    extra = await make_trigger(rig.db, rig.hotel_id, "extra", "at check-in")
    decided = await Scheduler(rig.db).run_once(riga_23)
    assert dict(decided.outcomes) == {"deferred:quiet_hours": 6}
    async with rig.db.write() as conn:
        await update_stay(conn, stays[0], {"status": "cancelled"})
        await edit_trigger(conn, extra, enabled=False)
    # The deferred rows are due at 09:00 on June 2 (long past for the sender's clock).
    report = await rig.sender(rate_per_s=100, burst=10).run_once(rig.hotel_id)
    assert (report["cancelled"], report["sent"]) == (4, 2)
    assert sorted(rig.sent_texts()) == ["welcome for Guest1", "welcome for Guest2"]
    reasons = sorted(
        r["last_error"] for r in await outbox_rows(rig.db) if r["state"] == "cancelled"
    )
    assert reasons == ["stay cancelled", "stay cancelled", "trigger disabled", "trigger disabled"]


async def test_connection_refused_is_retried_and_ambiguity_without_trace_ends_failed(
    srig: Rig,
) -> None:
    rig = srig
    transport = HttpxTransport(connect_timeout_s=1.0)
    dead = GreenApiClient(InstanceCredentials("http://127.0.0.1:1", INSTANCE, TOKEN), transport)
    try:
        outbox_id = await rig.enqueue("Nobody listens")
        sender = OutboxSender(rig.db, lambda _: dead, clock=rig.clock)
        assert (await sender.run_once(rig.hotel_id))["retry"] == 1  # surely not sent
        assert (await rig.row(outbox_id))["state"] == "pending"
    finally:
        await transport.aclose()
    # Ambiguous every time and never in the journal: after max_attempts it is failed.
    rig.instance.faults.fail_next(1, 504, methods=["sendMessage"])
    other = await rig.enqueue("Lost in a gateway")
    sender = rig.sender(max_attempts=1, resend_after_s=60)
    assert (await sender.run_once(rig.hotel_id))["unknown"] >= 1
    rig.clock.advance(61)
    await sender.run_once(rig.hotel_id)
    row = await rig.row(other)
    assert row["state"] == "failed" and "ambiguous" in row["last_error"]
    assert "Lost in a gateway" not in rig.sent_texts()


async def test_a_429_mid_batch_gives_the_rest_back_untouched(srig: Rig) -> None:
    rig = srig
    rig.instance.faults.rate_limit_next(1, retry_after_s=10, methods=["sendMessage"])
    ids = [await rig.enqueue(f"b{i}") for i in range(3)]
    sender = rig.sender(rate_per_s=1.0, burst=3)
    report = await sender.run_once(rig.hotel_id)
    assert (report["retry"], report["held"], report["sent"]) == (1, 2, 0)
    rows = [await rig.row(i) for i in ids]
    assert [r["attempts"] for r in rows] == [1, 0, 0]
    assert rig.instance.request_counts["sendMessage"] == 1  # nothing hammered after the 429
    rig.clock.advance(12)
    for _ in range(3):
        await sender.run_once(rig.hotel_id)
        rig.clock.advance(1)
    assert sorted(rig.sent_texts()) == ["b0", "b1", "b2"]


@dataclass(frozen=True)
class _Lease:
    owner: str
    epochs: dict[int, int]

    def epoch_of(self, hotel_id: int) -> int | None:
        return self.epochs.get(hotel_id)


async def test_a_sender_whose_lease_epoch_is_stale_claims_nothing(rig: Rig) -> None:
    """Fencing: a daemon paused past its lease must not send for a hotel another daemon took
    over; the current holder sends it, once."""
    from sqlalchemy import text

    from hotelbot.storage.leases import claim_leases, ensure_lease_rows

    async with rig.db.write() as conn:
        await ensure_lease_rows(conn)
        (old,) = await claim_leases(conn, "daemon-a", limit=1, ttl_s=60)
        await conn.execute(text("UPDATE hotel_leases SET expires_at = NULL, owner = NULL"))
        (new,) = await claim_leases(conn, "daemon-b", limit=1, ttl_s=60)
    outbox_id = await rig.enqueue("Fenced")
    stale = rig.sender(lease=_Lease("daemon-a", {old.hotel_id: old.epoch}))
    report = await stale.run_once(rig.hotel_id)
    assert report["not_ours"] == 1 and rig.sent_texts() == []
    assert (await rig.row(outbox_id))["state"] == "pending"
    current = rig.sender(lease=_Lease("daemon-b", {new.hotel_id: new.epoch}))
    assert (await current.run_once(rig.hotel_id))["sent"] == 1
    assert rig.sent_texts() == ["Fenced"]


# --- lanes ------------------------------------------------------------------------------------

STAFF = "37129999999@c.us"


async def _enqueue_lane(rig: Rig, text: str, kind: str, *, urgent: bool = False) -> int:
    chat = STAFF if kind in ("alert", "escalation", "reminder") else CHAT
    async with rig.db.write() as conn:
        outbox_id = await enqueue(
            conn,
            hotel_id=rig.hotel_id,
            idempotency_key=f"test:{kind}:{text}",
            kind=kind,
            chat_id=chat,
            text=text,
            available_at=rig.clock.now,
            urgent=urgent,
        )
    assert outbox_id is not None
    return outbox_id


async def test_an_alert_never_waits_behind_automated_messages(rig: Rig) -> None:
    """Twenty welcomes drain at the hotel's pace (burst 3, then 1/s); an alert enqueued in
    the middle of them leaves in the very next step."""
    for i in range(20):
        await _enqueue_lane(rig, f"welcome {i}", "trigger")
    sender = rig.sender()
    assert (await sender.run_once(rig.hotel_id))["sent:automated"] == 3
    assert (await sender.run_once(rig.hotel_id))["sent"] == 0  # automated bucket empty
    alert = await _enqueue_lane(rig, "guest needs attention", "alert")
    report = await sender.run_once(rig.hotel_id)
    assert (report["sent:alert"], report["sent:automated"]) == (1, 0)
    assert (await rig.row(alert))["state"] == "sent"
    assert rig.sent_texts()[-1] == "guest needs attention"
    rig.clock.advance(2)
    assert (await sender.run_once(rig.hotel_id))["sent:automated"] == 2  # still 1/s


async def test_each_lane_has_its_own_pace(rig: Rig) -> None:
    for i in range(15):
        await _enqueue_lane(rig, f"alert {i}", "alert")
        await _enqueue_lane(rig, f"answer {i}", "manual")
        await _enqueue_lane(rig, f"welcome {i}", "trigger")
    sender = rig.sender(rate_per_s=1.0, burst=3)
    sender.policies = {
        **sender.policies,
        Lane.ALERT: replace(sender.policies[Lane.ALERT], rate_per_s=2.0, burst=10),
    }
    first = await sender.run_once(rig.hotel_id)
    assert (first["sent:alert"], first["sent:requested"], first["sent:automated"]) == (10, 3, 3)
    # Alerts first: the first ten messages at Green API are the alerts.
    assert rig.sent_texts()[:10] == [f"alert {i}" for i in range(10)]
    rig.clock.advance(1)
    second = await sender.run_once(rig.hotel_id)
    assert (second["sent:alert"], second["sent:requested"], second["sent:automated"]) == (2, 1, 1)


async def test_urgent_alerts_go_first_within_the_alert_lane(rig: Rig) -> None:
    for i in range(3):
        await _enqueue_lane(rig, f"complaint {i}", "alert")
    await _enqueue_lane(rig, "FIRE in room 12", "alert", urgent=True)
    sender = rig.sender(rate_per_s=1.0, burst=1)
    assert (await sender.run_once(rig.hotel_id))["sent:alert"] == 1
    assert rig.sent_texts() == ["FIRE in room 12"]


async def test_an_ambiguous_alert_is_resent_within_15_s_a_guest_message_is_not(
    rig: Rig,
) -> None:
    """Staff first: a 504 with no trace at Green API resends an alert after ~15 s; the same
    failure on a guest message waits for the conservative window (180 s)."""
    rig.instance.faults.fail_next(2, 504, methods=["sendMessage"])
    alert = await _enqueue_lane(rig, "alert in a gateway", "alert")
    guest = await _enqueue_lane(rig, "welcome in a gateway", "trigger")
    sender = rig.sender()
    sender.policies = dict(DEFAULT_POLICIES)
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 2
    rig.clock.advance(5)  # the alert's journal check: no trace yet, keep waiting
    assert (await sender.run_once(rig.hotel_id))["sent"] == 0
    assert rig.instance.request_counts.get("lastOutgoingMessages", 0) >= 1
    rig.clock.advance(11)  # 16 s: no trace -> the alert is sent again
    report = await sender.run_once(rig.hotel_id)
    assert (report["requeued"], report["sent:alert"]) == (1, 1)
    assert (await rig.row(alert))["state"] == "sent"
    assert (await rig.row(guest))["state"] == "unknown"
    rig.clock.advance(170)  # 186 s: now the guest message is settled too
    report = await sender.run_once(rig.hotel_id)
    assert (report["requeued"], report["sent:automated"]) == (1, 1)
    assert sorted(rig.sent_texts()) == ["alert in a gateway", "welcome in a gateway"]


async def test_an_ambiguous_alert_with_evidence_is_not_resent(rig: Rig) -> None:
    rig.instance.faults.send_timeout_next(1)  # recorded at Green API, then 504
    alert = await _enqueue_lane(rig, "alert that went out", "alert")
    sender = rig.sender()
    sender.policies = dict(DEFAULT_POLICIES)
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 1
    rig.clock.advance(4)  # the journal shows it
    assert (await sender.run_once(rig.hotel_id))["reconciled"] == 1
    rig.clock.advance(60)
    await sender.run_once(rig.hotel_id)
    assert (await rig.row(alert))["state"] == "sent"
    assert rig.sent_texts() == ["alert that went out"]  # exactly once


async def test_a_crash_mid_send_resends_an_alert_fast_and_never_a_guest_message(
    rig: Rig,
) -> None:
    """A process killed between claim and answer: the alert is recovered after 10 s and,
    with no trace, sent again at 15 s; the guest message that did reach Green API is found in
    the journal and never sent twice."""
    alert = await _enqueue_lane(rig, "alert lost in a crash", "alert")
    guest = await _enqueue_lane(rig, "welcome that went out", "trigger")
    async with rig.db.write() as conn:
        claimed = await claim_due(
            conn, hotel_id=rig.hotel_id, now=rig.clock.now, limits=dict.fromkeys(LANE_ORDER, 10)
        )
    assert {i.id for i in claimed} == {alert, guest}
    rig.instance.record_send(CHAT, "welcome that went out")  # only this one reached Green API
    sender = rig.sender()  # the restarted process
    sender.policies = dict(DEFAULT_POLICIES)
    rig.clock.advance(11)
    assert await sender.recover() == 1  # the alert only: 11 s < 90 s for guest messages
    assert (await rig.row(guest))["state"] == "sending"
    rig.clock.advance(5)
    report = await sender.run_once(rig.hotel_id)
    assert (report["requeued"], report["sent:alert"]) == (1, 1)
    rig.clock.advance(90)
    assert await sender.recover() == 1
    assert (await sender.run_once(rig.hotel_id))["reconciled"] == 1
    rig.clock.advance(600)
    await sender.run_once(rig.hotel_id)
    assert sorted(rig.sent_texts()) == ["alert lost in a crash", "welcome that went out"]


@pytest.mark.parametrize("fault", ["502", "dropped connection"])
async def test_an_alert_lost_in_a_502_or_a_dropped_connection_is_resent_within_15_s(
    rig: Rig, fault: str
) -> None:
    """The other two ambiguous failures, with real HTTP: a 502 answer and a connection closed
    before any answer. With no echo and nothing in lastOutgoingMessages, the alert is sent
    again once 15 s have passed (not before); the guest message, failed the same way, is
    still waiting for its 180 s window then."""
    if fault == "502":
        rig.instance.faults.fail_next(2, 502, methods=["sendMessage"])
    else:
        rig.instance.faults.drop_next(2, methods=["sendMessage"])
    alert = await _enqueue_lane(rig, "alert in a storm", "alert")
    guest = await _enqueue_lane(rig, "welcome in a storm", "trigger")
    sender = rig.sender()
    sender.policies = dict(DEFAULT_POLICIES)
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 2
    assert rig.sent_texts() == []  # neither reached Green API
    rig.clock.advance(14)  # journal looked at, no trace, but not 15 s yet
    assert (await sender.run_once(rig.hotel_id))["sent"] == 0
    assert rig.instance.request_counts.get("lastOutgoingMessages", 0) >= 1
    rig.clock.advance(2)  # 16 s
    report = await sender.run_once(rig.hotel_id)
    assert (report["requeued"], report["sent:alert"]) == (1, 1)
    assert (await rig.row(alert))["state"] == "sent"
    assert (await rig.row(guest))["state"] == "unknown"
    assert rig.sent_texts() == ["alert in a storm"]


async def test_the_sender_reads_instance_states_and_alerted_guest_message_times(
    db: Database,
) -> None:
    """What the sender reads besides the outbox, on both databases: the instance state of
    each hotel asked for (enabled or not; None before any was seen; unknown ids left out),
    and for its sent staff alerts when the guest sent the message each is about (only outbox
    rows that are an alert's; an alert without an outbox row, at a hotel with no staff chat,
    is never named)."""
    from sqlalchemy import insert

    from hotelbot.app.alerts import AlertDraft, BatchResult
    from hotelbot.domain.outbox import OutboxKind
    from hotelbot.storage.alerts import alerted_message_times, record_alerts
    from hotelbot.storage.hotel_policy import hotel_policy
    from hotelbot.storage.hotels import get_hotel_by_id, instance_states
    from hotelbot.storage.models_messaging import Conversation, Message

    now = utcnow().replace(microsecond=0)
    riga = await make_hotel(db, staff_chat_id="120363000000000777@g.us")
    quiet = await make_hotel(db, "quiet", instance_id="1101000002", enabled=False)
    async with db.write() as conn:
        await set_instance_state(conn, riga, "blocked")
        drafts = []
        for hotel_id, chat, minutes_ago in [
            (riga, CHAT, 7),
            (riga, "37120000002@c.us", 3),
            (quiet, CHAT, 1),
        ]:
            conversation = (
                await conn.execute(
                    insert(Conversation)
                    .values(hotel_id=hotel_id, chat_id=chat, created_at=now, updated_at=now)
                    .returning(Conversation.id)
                )
            ).scalar_one()
            sent_at = now - timedelta(minutes=minutes_ago)
            message = (
                await conn.execute(
                    insert(Message)
                    .values(
                        hotel_id=hotel_id,
                        conversation_id=conversation,
                        chat_id=chat,
                        id_message=f"M{minutes_ago}",
                        direction="in",
                        kind="text",
                        type_message="textMessage",
                        text="help",
                        sent_at=sent_at,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(Message.id)
                )
            ).scalar_one()
            drafts.append(
                AlertDraft(
                    hotel_id,
                    conversation,
                    message,
                    "alert",
                    "complaint",
                    0,
                    f"Guest needs help ({minutes_ago})",
                )
            )
        hotels = {}
        for hotel_id in (riga, quiet):
            record = await get_hotel_by_id(conn, hotel_id)
            assert record is not None
            hotels[hotel_id] = hotel_policy(record)
        await record_alerts(conn, drafts, hotels, now, BatchResult())
        welcome = await enqueue(
            conn,
            hotel_id=riga,
            idempotency_key="welcome",
            kind=OutboxKind.TRIGGER,
            chat_id=CHAT,
            text="Welcome",
        )
        assert welcome is not None
    rows = await outbox_rows(db)
    alerts = {row["text"].split("\n")[0]: int(row["id"]) for row in rows if row["kind"] == "alert"}
    assert sorted(alerts) == ["Guest needs help (3)", "Guest needs help (7)"]
    async with db.read() as conn:
        states = await instance_states(conn, [riga, quiet, riga + quiet + 100])
        times = await alerted_message_times(conn, [*alerts.values(), welcome, welcome + 100])
        assert await instance_states(conn, []) == {}
        assert await alerted_message_times(conn, []) == {}
    assert states == {riga: "blocked", quiet: None}
    assert times == {
        alerts["Guest needs help (7)"]: now - timedelta(minutes=7),
        alerts["Guest needs help (3)"]: now - timedelta(minutes=3),
    }
