"""Per-chat state the processor reads and writes in its transaction: guests, conversations.

One batch = at most four statements to load (two SELECTs for chats already known) and two
executemany UPDATEs to write back, whatever the number of messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.chats import ConvState, GuestState, Key
from hotelbot.domain.alerts import phone_of
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models_messaging import Conversation, Guest

_GUEST_COLUMNS = (
    Guest.hotel_id, Guest.chat_id, Guest.id, Guest.name, Guest.language, Guest.opted_out,
    Guest.first_message_at, Guest.opted_out_at, Guest.language_source, Guest.language_candidate,
)  # fmt: skip
_CONV_COLUMNS = (
    Conversation.hotel_id, Conversation.chat_id, Conversation.id, Conversation.guest_id,
    Conversation.last_message_at, Conversation.last_guest_message_at,
    Conversation.last_staff_reply_at, Conversation.handled_by_staff_until,
    Conversation.last_alert_at, Conversation.open_alert_id, Conversation.suppressed_alerts,
    Conversation.last_suppressed_message_id, Conversation.handled_at,
)  # fmt: skip


async def _read_guests(conn: AsyncConnection, keys: list[Key]) -> dict[Key, GuestState]:
    query = select(*_GUEST_COLUMNS).where(tuple_(Guest.hotel_id, Guest.chat_id).in_(keys))
    return {
        (r[0], r[1]): GuestState(r[2], r[3], r[4], bool(r[5]), r[6], False, r[7], r[8], r[9])
        for r in await conn.execute(query)
    }


async def _read_convs(conn: AsyncConnection, keys: list[Key]) -> dict[Key, ConvState]:
    query = select(*_CONV_COLUMNS).where(
        tuple_(Conversation.hotel_id, Conversation.chat_id).in_(keys)
    )
    return {
        (r[0], r[1]): ConvState(
            r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], handled_at=r[12]
        )
        for r in await conn.execute(query)
    }


async def load_states(
    conn: AsyncConnection,
    keys: Mapping[Key, bool],
    guest_keys: Sequence[Key],
    now: datetime,
) -> tuple[dict[Key, GuestState], dict[Key, ConvState]]:
    """Read the conversations of `keys` (chat -> is_group) and the guests of `guest_keys`;
    create the missing ones (ON CONFLICT DO NOTHING, so a concurrent creator is harmless)
    and read those. Chats already known cost two SELECTs."""
    guest_keys = list(guest_keys)
    guests = await _read_guests(conn, guest_keys) if guest_keys else {}
    missing = [k for k in guest_keys if k not in guests]
    if missing:
        stmt = insert_for(conn, Guest).on_conflict_do_nothing(
            index_elements=[Guest.hotel_id, Guest.chat_id]
        )
        await conn.execute(
            stmt,
            [
                {
                    "hotel_id": h,
                    "chat_id": c,
                    "phone": phone_of(c),
                    "created_at": now,
                    "updated_at": now,
                }
                for h, c in missing
            ],
        )
        guests.update(await _read_guests(conn, missing))
    convs = await _read_convs(conn, list(keys))
    missing = [k for k in keys if k not in convs]
    if missing:
        stmt = insert_for(conn, Conversation).on_conflict_do_nothing(
            index_elements=[Conversation.hotel_id, Conversation.chat_id]
        )
        await conn.execute(
            stmt,
            [
                {
                    "hotel_id": h,
                    "chat_id": c,
                    "guest_id": guests[(h, c)].id if (h, c) in guests else None,
                    "is_group": keys[(h, c)],
                    "created_at": now,
                    "updated_at": now,
                }
                for h, c in missing
            ],
        )
        convs.update(await _read_convs(conn, missing))
    return guests, convs


async def write_states(
    conn: AsyncConnection,
    guests: Mapping[Key, GuestState],
    convs: Mapping[Key, ConvState],
    now: datetime,
) -> None:
    dirty = [g for g in guests.values() if g.dirty]
    if dirty:
        guest_cols = [
            "name",
            "language",
            "opted_out",
            "opted_out_at",
            "first_message_at",
            "language_source",
            "language_candidate",
        ]
        await _update_many(
            conn,
            Guest,
            guest_cols,
            [(g.id, [getattr(g, n) for n in guest_cols]) for g in dirty],
            now,
        )
    touched = [c for c in convs.values() if c.touched]
    if touched:
        conv_cols = [
            "last_message_at",
            "last_guest_message_at",
            "last_staff_reply_at",
            "handled_by_staff_until",
            "last_alert_at",
            "open_alert_id",
            "suppressed_alerts",
            "last_suppressed_message_id",
            "handled_at",
        ]
        await _update_many(
            conn,
            Conversation,
            conv_cols,
            [(c.id, [getattr(c, n) for n in conv_cols]) for c in touched],
            now,
        )


async def _update_many(
    conn: AsyncConnection,
    model: type[Guest] | type[Conversation],
    columns: list[str],
    rows: list[tuple[int, list[Any]]],
    now: datetime,
) -> None:
    """One executemany UPDATE by primary key. Parameter names get a "p_" prefix: a
    bindparam named like a column is reserved by SQLAlchemy for the SET clause."""
    stmt = (
        update(model)
        .where(model.id == bindparam("p_id"))
        .values({**{n: bindparam(f"p_{n}") for n in columns}, "updated_at": bindparam("p_u")})
    )
    params = [
        {"p_id": row_id, "p_u": now, **{f"p_{n}": v for n, v in zip(columns, values, strict=True)}}
        for row_id, values in rows
    ]
    await conn.execute(stmt, params)
