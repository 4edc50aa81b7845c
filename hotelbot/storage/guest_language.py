"""A guest's language as the operator sets or reads it (guests.language / language_source /
language_candidate; the processor keeps them up to date from what the guest writes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.alerts import phone_of
from hotelbot.domain.guest_language import GuestLanguage
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models_messaging import Guest
from hotelbot.storage.types import utcnow


async def get_guest_language(conn: AsyncConnection, hotel_id: int, chat_id: str) -> GuestLanguage:
    """The guest's stored language (empty when the guest is unknown)."""
    row = (
        await conn.execute(
            select(Guest.language, Guest.language_source, Guest.language_candidate).where(
                Guest.hotel_id == hotel_id, Guest.chat_id == chat_id
            )
        )
    ).first()
    return GuestLanguage() if row is None else GuestLanguage.stored(row[0], row[1], row[2])


async def set_guest_language(
    conn: AsyncConnection,
    hotel_id: int,
    chat_id: str,
    value: GuestLanguage,
    *,
    now: datetime | None = None,
) -> None:
    """Store the guest's language, creating the guest row if the guest never wrote yet.
    Idempotent (an upsert on the guest's unique key)."""
    now = now or utcnow()
    source = None if value.source is None else value.source.value
    insert = insert_for(conn, Guest)
    stmt = insert.values(
        hotel_id=hotel_id,
        chat_id=chat_id,
        phone=phone_of(chat_id),
        language=value.language,
        language_source=source,
        language_candidate=value.candidate,
        created_at=now,
        updated_at=now,
    ).on_conflict_do_update(
        index_elements=[Guest.hotel_id, Guest.chat_id],
        set_={
            "language": value.language,
            "language_source": source,
            "language_candidate": value.candidate,
            "updated_at": now,
        },
    )
    await conn.execute(stmt)
