"""A guest's language as the operator sets or reads it (guests.language / language_source /
language_candidate; the processor keeps them up to date from what the guest writes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.alerts import phone_of
from hotelbot.domain.guest_language import GuestLanguage, LanguageSource
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models_messaging import Guest
from hotelbot.storage.models_stays import Stay
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


@dataclass(frozen=True, slots=True)
class LanguageSwitch:
    """A guest whose detected language differs from the one their stay was booked in."""

    hotel_id: int
    chat_id: str
    guest_name: str | None
    language: str  # detected from what the guest writes
    booked: str  # the stay's


async def guests_writing_another_language(conn: AsyncConnection) -> list[LanguageSwitch]:
    """Guests of every hotel whose language was detected (not set by the operator, not a
    first guess) and differs from a stay's language (stays without one left out); one entry
    per such stay, by guest then stay. Read-only; raises what the driver raises."""
    query = (
        select(Guest.hotel_id, Guest.chat_id, Guest.name, Guest.language, Stay.language)
        .join(Stay, and_(Stay.hotel_id == Guest.hotel_id, Stay.chat_id == Guest.chat_id))
        .where(
            Guest.language_source == LanguageSource.DETECTED.value,
            Stay.language.is_not(None),
            Guest.language != Stay.language,
        )
        .order_by(Guest.id, Stay.id)
    )
    return [
        LanguageSwitch(int(r[0]), str(r[1]), r[2], str(r[3]), str(r[4]))
        for r in await conn.execute(query)
    ]
