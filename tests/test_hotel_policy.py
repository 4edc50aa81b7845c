"""One parsed hotel value: storage builds `domain.hotel.HotelPolicy` once from the hotels row,
and values written into the row by hand (not through the validated import) never make it
fail open. Real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import time

from sqlalchemy import update

from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.quiet_hours import QuietHours
from hotelbot.domain.report_schedule import ReportSchedule
from hotelbot.domain.signals import DEFAULT_MODES, SignalKind, SignalMode
from hotelbot.storage.db import Database
from hotelbot.storage.hotel_policy import load_hotel_policies
from hotelbot.storage.models import Hotel
from tests.helpers import add_hotels


async def test_policy_is_parsed_from_the_row(db: Database) -> None:
    await add_hotels(
        db,
        "http://127.0.0.1:9",
        [("1101000001", "tok")],
        quiet_hours="23:00-07:30",
        max_automated_per_day=2,
        check_in_time="14:00",
        check_out_time="10:30",
        staff_chat_id="120363000000000001@g.us",
        signal_call="ignore",
        default_language="ru",
        report_schedule="weekly mon 08:00",
        manager_chat_id="79001230000@c.us",
    )
    async with db.read() as conn:
        policies = await load_hotel_policies(conn)
    (policy,) = policies.values()
    assert isinstance(policy, HotelPolicy)
    assert (policy.slug, policy.name, str(policy.tz)) == (
        "h1101000001",
        "Hotel 1101000001",
        "Europe/Riga",
    )
    assert policy.quiet_hours == QuietHours(time(23, 0), time(7, 30))
    assert policy.daily_cap == 2
    assert (policy.default_check_in, policy.default_check_out) == (time(14, 0), time(10, 30))
    assert policy.signal_mode(SignalKind.CALL) is SignalMode.IGNORE
    assert policy.staff_language == "ru"  # no staff_language: the hotel's default language
    assert policy.is_staff_chat("120363000000000001@g.us")
    assert not policy.is_guest_chat("120363000000000001@g.us")
    assert policy.is_guest_chat("79001234567@c.us")
    assert policy.report_schedule == ReportSchedule(0, time(8, 0))
    assert (policy.manager_chat_id, policy.report_schedule_problem) == ("79001230000@c.us", None)


async def test_hand_edited_values_fall_back_safely(db: Database) -> None:
    await add_hotels(db, "http://127.0.0.1:9", [("1101000002", "tok")])
    async with db.write() as conn:
        await conn.execute(
            update(Hotel).values(
                timezone="Mars/Olympus_Mons",
                quiet_hours="all night",
                max_automated_per_day=0,
                check_in_time="noon",
                check_out_time="25",
                signal_photo="shout",
                report_schedule="hourly",
            )
        )
    async with db.read() as conn:
        (policy,) = (await load_hotel_policies(conn)).values()
    assert str(policy.tz) == "UTC"
    assert policy.quiet_hours == QuietHours()  # the default window, never "no quiet hours"
    assert policy.daily_cap is None  # 0 means no cap
    assert (policy.default_check_in, policy.default_check_out) == (time(15, 0), time(11, 0))
    assert policy.signal_mode(SignalKind.PHOTO) is DEFAULT_MODES[SignalKind.PHOTO]
    assert policy.report_schedule is None  # no digest, and the digest sender warns why
    assert "weekly mon 08:00" in (policy.report_schedule_problem or "")
