"""Stays: phone numbers to chat ids, CSV row validation, idempotent upserts, current_stay."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hotelbot.domain.fire_times import StayStatus
from hotelbot.domain.stay_input import (
    StayInput,
    StayInputError,
    check_columns,
    parse_stay_row,
    phone_to_chat_id,
)
from hotelbot.storage.db import Database
from hotelbot.storage.stays import current_stay, list_stays, update_stay, upsert_stay
from tests.scheduling_helpers import make_hotel


@pytest.mark.parametrize(
    ("phone", "chat_id"),
    [
        ("+371 2000 0000", "37120000000@c.us"),
        ("+1 (212) 555-0100", "12125550100@c.us"),
        ("0037120000000", "37120000000@c.us"),
        ("37120000000@c.us", "37120000000@c.us"),
        ("7.916.123.45.67", "79161234567@c.us"),
    ],
)
def test_phone_forms_become_chat_ids(phone: str, chat_id: str) -> None:
    assert phone_to_chat_id(phone) == chat_id


@pytest.mark.parametrize("phone", ["", "12345", "+371 2000 0000 0000 0000", "call me", "+37a1"])
def test_bad_phones_are_rejected(phone: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        phone_to_chat_id(phone)


def test_a_bad_row_lists_all_its_problems() -> None:
    with pytest.raises(StayInputError) as info:
        parse_stay_row(
            {
                "phone": "+371 2000 0000",
                "name": "A",
                "check_in": "2026-06-02",
                "check_out": "2026-06-01",
                "check_in_time": "25:00",
                "language": "english",
                "status": "gone",
            }
        )
    assert len(info.value.problems) == 4
    assert check_columns(["Phone", "name", "check_in", "check_out", "room"]) == []


async def test_upsert_is_idempotent_by_ref_and_by_chat_and_check_in(db: Database) -> None:
    hotel = await make_hotel(db)
    with_ref = StayInput(
        "37120000001@c.us", "Anna", date(2026, 6, 1), date(2026, 6, 3), external_ref="B-1"
    )
    without = StayInput("37120000002@c.us", "Ivan", date(2026, 6, 1), date(2026, 6, 4))
    async with db.write() as conn:
        first = [await upsert_stay(conn, hotel, s) for s in (with_ref, without)]
        again = [await upsert_stay(conn, hotel, s) for s in (with_ref, without)]
        moved = await upsert_stay(
            conn,
            hotel,
            StayInput(
                "37120000001@c.us", "Anna", date(2026, 6, 2), date(2026, 6, 3), external_ref="B-1"
            ),
        )
    assert [o for _, o in first] == ["added", "added"]
    assert [o for _, o in again] == ["unchanged", "unchanged"]
    assert moved == (first[0][0], "updated")  # same booking id: the dates moved, same stay
    async with db.read() as conn:
        assert len(await list_stays(conn, hotel_id=hotel)) == 2


async def test_current_stay_links_a_message_to_the_nearest_live_stay(db: Database) -> None:
    hotel = await make_hotel(db)
    chat = "37120000001@c.us"
    async with db.write() as conn:
        old, _ = await upsert_stay(
            conn, hotel, StayInput(chat, "A", date(2026, 5, 1), date(2026, 5, 3))
        )
        now_stay, _ = await upsert_stay(
            conn, hotel, StayInput(chat, "A", date(2026, 6, 1), date(2026, 6, 5))
        )
        next_stay, _ = await upsert_stay(
            conn, hotel, StayInput(chat, "A", date(2026, 6, 5), date(2026, 6, 8))
        )
        cancelled, _ = await upsert_stay(
            conn, hotel, StayInput(chat, "A", date(2026, 7, 1), date(2026, 7, 3))
        )
        await update_stay(conn, cancelled, {"status": StayStatus.CANCELLED.value})

    async def at(day: int, month: int = 6) -> int | None:
        async with db.read() as conn:
            # 21:30 UTC is already the next day in Riga (UTC+3): the hotel's date counts.
            found = await current_stay(
                conn, hotel, chat, datetime(2026, month, day, 21, 30, tzinfo=UTC)
            )
        return None if found is None else found.id

    assert await at(2) == now_stay
    assert await at(4) == next_stay  # Jun 5 local: check-out of one, check-in of the next
    assert await at(25, 5) == now_stay  # a week before arrival: already linked
    assert await at(2, 5) == old
    assert await at(29) is None  # the July stay is cancelled
    async with db.read() as conn:
        assert await current_stay(conn, hotel, "37199999999@c.us", datetime.now(UTC)) is None
