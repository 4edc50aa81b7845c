"""Builders for scheduling tests: hotels, stays, triggers on a migrated database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from hotelbot.domain.stay_input import StayInput, phone_to_chat_id
from hotelbot.domain.templates import Template, validate
from hotelbot.domain.triggers import parse_trigger
from hotelbot.hotel_spec import HotelSpec
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import get_hotel, upsert_hotel
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_triggers import TriggerFire
from hotelbot.storage.stays import upsert_stay
from hotelbot.storage.triggers import add_trigger

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


async def make_hotel(db: Database, slug: str = "riga", **overrides: Any) -> int:
    values: dict[str, Any] = {
        "slug": slug,
        "name": "Grand " + slug.title(),
        "instance_id": overrides.pop("instance_id", "1101000001"),
        "api_token": "secret-token",
        "timezone": "Europe/Riga",
        "quiet_hours": "22:00-09:00",
        "max_automated_per_day": 3,
    }
    values.update(overrides)
    async with db.write() as conn:
        await upsert_hotel(conn, HotelSpec.model_validate(values))
        hotel = await get_hotel(conn, slug)
    assert hotel is not None
    return hotel.id


async def make_stay(
    db: Database,
    hotel_id: int,
    *,
    phone: str = "+371 2000 0001",
    name: str = "Anna Berzina",
    check_in: date,
    check_out: date,
    created_at: datetime = EPOCH,
    **fields: Any,
) -> int:
    stay = StayInput(
        chat_id=phone_to_chat_id(phone),
        guest_name=name,
        check_in=check_in,
        check_out=check_out,
        **fields,
    )
    async with db.write() as conn:
        stay_id, _ = await upsert_stay(conn, hotel_id, stay, now=created_at)
    return stay_id


async def make_trigger(
    db: Database,
    hotel_id: int,
    name: str,
    when: str,
    texts: dict[str, str] | None = None,
    *,
    created_at: datetime = EPOCH,
) -> int:
    template = Template(texts or {"en": f"{name} for {{first_name}}"})
    validate(template)
    async with db.write() as conn:
        return await add_trigger(
            conn,
            hotel_id=hotel_id,
            name=name,
            spec=parse_trigger(when),
            template=template,
            now=created_at,
        )


async def fires(db: Database) -> list[tuple[int, int, datetime, str, int | None]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(
                TriggerFire.trigger_id,
                TriggerFire.stay_id,
                TriggerFire.scheduled_for,
                TriggerFire.outcome,
                TriggerFire.outbox_id,
            ).order_by(TriggerFire.scheduled_for, TriggerFire.trigger_id, TriggerFire.stay_id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def outbox_rows(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await conn.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return [dict(r._mapping) for r in rows]
