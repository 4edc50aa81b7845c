"""The manager's scheduled digest through a real daemon and the fake Green API (both
databases): due once per scheduled moment, in the staff language, never twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotelbot.daemon.app import Daemon
from hotelbot.domain.report_schedule import last_due, parse_schedule
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.storage.db import Database
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.helpers import add_hotels, fast_settings, wait_for

RIGA = ZoneInfo("Europe/Riga")
MANAGER = "37129990000@c.us"


def _to_manager(inst: FakeInstance) -> list[str]:
    return [m.message for m in inst.sent if m.chat_id == MANAGER]


async def test_digests_go_to_the_manager_once_in_the_staff_language(db_url: str) -> None:
    two_minutes_ago = datetime.now(RIGA) - timedelta(minutes=2)
    schedule = f"daily {two_minutes_ago:%H:%M}"
    db = Database.open(db_url, create=True)
    async with FakeGreenApi() as fake:
        ru = fake.add_instance("1101000001", "tok-ru")
        en = fake.add_instance("1101000002", "tok-en")
        try:
            await upgrade(db)
            await add_hotels(
                db,
                fake.url,
                [("1101000001", "tok-ru")],
                staff_language="ru",
                report_schedule=schedule,
                manager_chat_id=MANAGER,
            )
            await add_hotels(
                db,
                fake.url,
                [("1101000002", "tok-en")],
                staff_language="en",
                report_schedule=schedule,
                manager_chat_id=MANAGER,
            )
        finally:
            await db.dispose()
        settings = fast_settings(db_url, daemon={"scheduler_tick_s": 0.5})
        for run in range(2):  # the second run (a restart) must send nothing new
            daemon = Daemon(settings, environ={}, install_signal_handlers=False)
            task = asyncio.create_task(daemon.run())
            try:
                await asyncio.wait_for(daemon.ready.wait(), 20)
                if run == 0:
                    ru.push(shapes.incoming_text("1101000001", "37120000001@c.us", "Hello!"))

                    async def both_sent() -> bool:
                        return bool(_to_manager(ru)) and bool(_to_manager(en))

                    await wait_for(both_sent, 30)
                else:
                    await asyncio.sleep(2.0)  # several ticks
            finally:
                daemon.request_stop()
                assert await asyncio.wait_for(task, 30) == 0
        assert len(_to_manager(ru)) == 1 and len(_to_manager(en)) == 1
        assert "сообщения гостей" in _to_manager(ru)[0] and "h1101000001" in _to_manager(ru)[0]
        assert "guest messages" in _to_manager(en)[0]


def test_schedules_and_their_last_moment() -> None:
    daily = parse_schedule("daily 08:00")
    weekly = parse_schedule("Weekly MON 08:30")
    assert daily is not None and weekly is not None and parse_schedule("off") is None
    now = datetime(2026, 3, 27, 7, 0, tzinfo=RIGA)  # a Friday, before 08:00
    assert last_due(daily, now) == datetime(2026, 3, 26, 8, 0, tzinfo=RIGA)
    assert last_due(weekly, now) == datetime(2026, 3, 23, 8, 30, tzinfo=RIGA)
    assert last_due(daily, now.replace(hour=9)) == datetime(2026, 3, 27, 8, 0, tzinfo=RIGA)
    for bad in ("hourly", "daily 25:00", "weekly xyz 08:00"):
        with pytest.raises(ValueError, match="daily 08:00"):
            parse_schedule(bad)
