"""The daemon end to end with the processor: fake Green API -> poller -> ingest -> processor."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from hotelbot.daemon.app import Daemon
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.settings import Settings
from hotelbot.storage.db import Database
from hotelbot.storage.models import Notification, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Message
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.processor_helpers import INSTANCE, make_hotel

GUEST = "79001234568@c.us"


async def test_daemon_interprets_and_alerts(sqlite_url: str) -> None:
    db = Database.open(sqlite_url)
    await upgrade(db)
    async with FakeGreenApi(long_poll_scale=0.02) as fake:
        fake.add_instance(INSTANCE, "tok")
        await make_hotel(db, api_url=fake.url, api_token="tok")
        await db.dispose()
        fake.instance(INSTANCE).push_many(
            [
                shapes.incoming_text(INSTANCE, GUEST, "Hello", id_message="D1"),
                shapes.incoming_text(INSTANCE, GUEST, "The shower is broken!", id_message="D2"),
            ]
        )
        settings = Settings.model_validate(
            {
                "database": {"url": sqlite_url},
                "greenapi": {"receive_timeout_s": 5},
                "metrics": {"listen": "127.0.0.1:0"},
            }
        )
        daemon = Daemon(settings, environ={}, install_signal_handlers=False)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 10)
            await fake.instance(INSTANCE).wait_drained(10)
            db = Database.open(sqlite_url)
            try:
                for _ in range(300):
                    async with db.read() as conn:
                        left = (
                            await conn.execute(
                                select(func.count())
                                .select_from(Notification)
                                .where(Notification.processed_at.is_(None))
                            )
                        ).scalar_one()
                    if left == 0:
                        break
                    await asyncio.sleep(0.02)
                async with db.read() as conn:
                    messages = (await conn.execute(select(func.count(Message.id)))).scalar_one()
                    alerts = (await conn.execute(select(func.count(Alert.id)))).scalar_one()
                    outbox = list(await conn.execute(select(OutboxMessage.kind)))
            finally:
                await db.dispose()
            assert (left, messages, alerts) == (0, 2, 1)
            assert [k for (k,) in outbox] == ["alert"]
        finally:
            daemon.request_stop()
            assert await asyncio.wait_for(task, 20) == 0
