"""A hotel whose time zone this host does not know (older tzdata, a direct edit) keeps
working in UTC: its complaints still reach staff, its room lookup and triggers do not fail,
and `hotelbot status` and `doctor` warn. Daemon in-process, real HTTP, both backends."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text

from hotelbot.domain.zones import unknown_zone_warning, zone_or_utc
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.ops.doctor import run_doctor
from hotelbot.storage.db import Database
from hotelbot.storage.models import Notification
from hotelbot.storage.models_messaging import Alert
from tests import shapes
from tests.helpers import fast_settings, running_daemon, wait_for
from tests.processor_helpers import INSTANCE, STAFF_CHAT, make_hotel
from tests.test_doctor_privacy import _cli, _env

GUEST = "79001234568@c.us"
MARS = "Mars/Olympus_Mons"


def test_zone_or_utc_never_raises() -> None:
    for name in (MARS, "", None, "../etc/passwd", "Europe/Riga\x00", "UTC"):
        zone, _ = zone_or_utc(name)
        assert str(zone) in ("UTC", "Europe/Riga")
    assert zone_or_utc("Europe/Riga")[1] and not zone_or_utc(MARS)[1]
    assert unknown_zone_warning("Europe/Riga") is None
    assert "use UTC" in (unknown_zone_warning(MARS) or "")


async def test_an_unknown_zone_still_alerts_and_warns(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with FakeGreenApi(long_poll_scale=0.02) as fake:
        inst = fake.add_instance(INSTANCE, "tok")
        hotel = await make_hotel(db, api_url=fake.url, api_token="tok")
        async with db.write() as conn:  # a row edited in the database: no validation
            await conn.execute(
                text("UPDATE hotels SET timezone = :z WHERE id = :h"), {"z": MARS, "h": hotel}
            )
        inst.push(shapes.incoming_text(INSTANCE, GUEST, "The shower is broken!", id_message="Z"))

        async def alert_sent() -> bool:
            return any(m.chat_id == STAFF_CHAT for m in inst.sent)

        async with running_daemon(fast_settings(db_url)):
            await wait_for(alert_sent, 30)
        async with db.read() as conn:
            error = (
                await conn.execute(
                    select(Notification.process_error).where(Notification.id_message == "Z")
                )
            ).scalar_one()
            alerts = len((await conn.execute(select(Alert.id))).all())
        assert error is None and alerts == 1
        env = _env(db_url, tmp_path)
        code, out = await _cli(env, "status")
        assert code == 0 and f"WARNING: unknown time zone '{MARS}'" in out
        lines: list[str] = []
        await run_doctor(env, lambda check: lines.extend(check.lines()))
        assert any(line.startswith("WARN hotel seaside: unknown time zone") for line in lines)


async def test_triggers_of_a_hotel_with_an_unknown_zone_fire_in_utc(db: Database) -> None:
    from datetime import UTC, date, datetime

    from hotelbot.daemon.scheduler import Scheduler
    from tests.scheduling_helpers import make_stay, make_trigger

    hotel = await make_hotel(db)
    async with db.write() as conn:
        await conn.execute(
            text("UPDATE hotels SET timezone = :z, quiet_hours = '' WHERE id = :h"),
            {"z": MARS, "h": hotel},
        )
    await make_stay(db, hotel, check_in=date(2026, 3, 27), check_out=date(2026, 3, 31))
    await make_trigger(db, hotel, "noon", "daily at 12:00 grace 1h")
    report = await Scheduler(db).run_once(datetime(2026, 3, 29, 12, 1, tzinfo=UTC))
    assert report.outcomes["enqueued"] == 1  # decided (in UTC), not "cannot schedule"
