"""The daemon in-process against the fake Green API over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.storage.db import Database
from hotelbot.storage.models import DeadLetter, HotelStatus, Notification
from tests import shapes
from tests.helpers import add_hotels, count, fast_settings, running_daemon


async def test_drains_several_hotels_each_message_stored_once(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        ids = [(f"110100000{i}", f"tok{i}") for i in range(4)]
        pushed = {}
        for instance, token in ids:
            inst = fake.add_instance(instance, token)
            bodies = [
                shapes.incoming_text(instance, f"3712000000{n % 3}@c.us", f"msg {n}")
                for n in range(25)
            ]
            inst.push_many(bodies)
            pushed[instance] = {b["idMessage"] for b in bodies}
        await add_hotels(db, fake.url, ids)
        async with running_daemon(fast_settings(db_url)):
            for instance, _ in ids:
                await fake.instance(instance).wait_drained(15)
        async with db.read() as conn:
            rows = list(await conn.execute(select(Notification.id_message, Notification.hotel_id)))
        assert len(rows) == 100
        assert {r[0] for r in rows} == set().union(*pushed.values())
        for instance, _ in ids:
            assert len(fake.instance(instance).deleted) == 25
        assert await count(db, HotelStatus) == 4


async def test_duplicate_delivery_is_stored_once(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        body = shapes.incoming_text("1101000001", "37120000001@c.us", "hello")
        inst.faults.redeliver_next(1)
        inst.push(body)
        inst.push(body)  # the service's own duplicate
        await add_hotels(db, fake.url, [("1101000001", "tok")])
        async with running_daemon(fast_settings(db_url)):
            await asyncio.sleep(0.2)
            await inst.wait_drained(10)
        assert len(inst.deleted) == 3  # two pushes + one redelivery, all deleted
        assert await count(db, Notification) == 1


async def test_wrong_token_does_not_stop_other_hotels(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        good = fake.add_instance("1101000001", "good")
        bad = fake.add_instance("1101000002", "real-token")
        good.push_many(
            [shapes.incoming_text("1101000001", "37120000001@c.us", f"m{i}") for i in range(5)]
        )
        bad.push(shapes.incoming_text("1101000002", "37120000001@c.us", "stuck"))
        await add_hotels(db, fake.url, [("1101000001", "good"), ("1101000002", "wrong-token")])
        async with running_daemon(fast_settings(db_url)) as daemon:
            await good.wait_drained(10)
            await asyncio.sleep(1.5)  # let the status writer run
            health = {h.slug: h for h in daemon.health.values()}
            assert not health["h1101000002"].healthy
            assert "Unauthorized" in (health["h1101000002"].unhealthy_reason or "")
            assert health["h1101000001"].healthy
            # Retried slowly (unhealthy_retry_s=5), not hammered.
            assert bad.request_counts.get("receiveNotification", 0) <= 2
        assert bad.pending_count == 1
        async with db.read() as conn:
            status = dict(
                list(await conn.execute(select(HotelStatus.hotel_id, HotelStatus.healthy)))
            )
        assert sorted(status.values()) == [False, True]


async def test_500_storm_makes_a_bounded_number_of_requests(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        inst.faults.fail_next(10_000, status=500)
        await add_hotels(db, fake.url, [("1101000001", "tok")])
        settings = fast_settings(db_url, greenapi={"backoff_min_s": 0.2, "backoff_max_s": 2.0})
        async with running_daemon(settings):
            await asyncio.sleep(3.0)
        calls = inst.request_counts.get("receiveNotification", 0)
        # Exponential backoff with full jitter from 0.2 s (floor 0.1 s) to 2 s: a handful of
        # calls in 3 s. The green-api chatbot made ~1,300 in the same time.
        assert 2 <= calls <= 20, calls


async def test_malformed_notification_is_dead_lettered_and_the_next_flows(
    db: Database, db_url: str
) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        inst.push_raw('{"typeWebhook": 42, "oops": true}', wrap=True)  # body without a valid type
        inst.push_raw('{"typeWebhook": "incomingMessage', wrap=True)  # not JSON at all
        inst.push(shapes.incoming_text("1101000001", "37120000001@c.us", "after the bad ones"))
        await add_hotels(db, fake.url, [("1101000001", "tok")])
        async with running_daemon(fast_settings(db_url)):
            await inst.wait_drained(10)
        assert await count(db, DeadLetter) == 2
        async with db.read() as conn:
            bodies = [json.loads(b) for (b,) in await conn.execute(select(Notification.body))]
        assert [b["messageData"]["textMessageData"]["textMessage"] for b in bodies] == [
            "after the bad ones"
        ]
        async with db.read() as conn:
            errors = [e for (e,) in await conn.execute(select(DeadLetter.error))]
        assert any("typeWebhook" in e for e in errors) and any("not JSON" in e for e in errors)


async def test_damaged_response_is_retried_not_dead_lettered(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        inst.faults.malformed_next(1, kind="truncated")
        inst.push(shapes.incoming_text("1101000001", "37120000001@c.us", "intact"))
        await add_hotels(db, fake.url, [("1101000001", "tok")])
        async with running_daemon(fast_settings(db_url)):
            await inst.wait_drained(10)
        assert await count(db, DeadLetter) == 0
        assert await count(db, Notification) == 1


async def test_5xx_on_delete_is_retried_and_stored_once(db: Database, db_url: str) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        inst.faults.fail_next(2, status=503, methods=["deleteNotification"])
        inst.faults.drop_next(1, methods=["deleteNotification"], after_effect=False)
        inst.push_many(
            [shapes.incoming_text("1101000001", "37120000001@c.us", f"m{i}") for i in range(3)]
        )
        await add_hotels(db, fake.url, [("1101000001", "tok")])
        async with running_daemon(fast_settings(db_url)):
            await inst.wait_drained(10)
        assert await count(db, Notification) == 3


async def test_head_that_survives_deletion_is_backed_off_not_spun(
    db: Database, db_url: str
) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        # Served verbatim with a receiptId that is not the real one: every delete says false.
        inst.push_raw('{"receiptId": 999, "body": {"nope": 1}}', wrap=False)
        await add_hotels(db, fake.url, [("1101000001", "tok")])
        async with running_daemon(fast_settings(db_url)):
            await asyncio.sleep(2.0)
        assert inst.request_counts.get("receiveNotification", 0) < 40
        assert await count(db, DeadLetter) == 1
