"""End to end in the daemon: APScheduler clock -> scheduler -> outbox -> sender -> fake Green
API over HTTP, with real time (a trigger due at once), then an orderly shutdown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hotelbot.daemon.app import Daemon
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.settings import (
    DaemonSettings,
    DatabaseSettings,
    GreenApiSettings,
    MetricsSettings,
    Settings,
)
from hotelbot.storage.db import Database
from hotelbot.storage.schema import upgrade
from tests.scheduling_helpers import make_hotel, make_stay, make_trigger, outbox_rows


async def test_daemon_sends_a_due_trigger_message_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hb.sqlite3'}"
    db = Database.open(url)
    async with FakeGreenApi(long_poll_scale=0.02) as fake:
        instance = fake.add_instance("1101000001", "secret-token")
        try:
            await upgrade(db)
            hotel = await make_hotel(db, api_url=fake.url, quiet_hours="off")
            now = datetime.now(UTC)
            today = now.astimezone(ZoneInfo("Europe/Riga")).date()
            await make_stay(
                db,
                hotel,
                check_in=today - timedelta(days=1),
                check_out=today + timedelta(days=2),
                created_at=now,
            )
            await make_trigger(db, hotel, "booked", "on stay created grace 1h", created_at=now)
        finally:
            await db.dispose()
        settings = Settings(
            database=DatabaseSettings(url=url),
            greenapi=GreenApiSettings(receive_timeout_s=5, request_timeout_s=5),
            daemon=DaemonSettings(drain_timeout_s=2, name="test-daemon"),
            metrics=MetricsSettings(listen="127.0.0.1:0"),
        )
        daemon = Daemon(settings, environ={}, install_signal_handlers=False)
        task = asyncio.create_task(daemon.run())
        try:
            await instance.wait_sent(1, timeout_s=10)
            await asyncio.sleep(0.3)  # let the sender commit `sent`
        finally:
            daemon.request_stop()
            assert await asyncio.wait_for(task, timeout=15) == 0
    assert [s.message for s in instance.sent] == ["booked for Anna"]
    db = Database.open(url)
    try:
        [row] = await outbox_rows(db)
    finally:
        await db.dispose()
    assert (row["state"], row["id_message"]) == ("sent", instance.sent[0].id_message)
