"""Enqueueing into the outbox (producers' side). The sender owns the rest of the life cycle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.types import utcnow


async def enqueue(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    idempotency_key: str,
    kind: str,
    chat_id: str,
    text: str,
    available_at: datetime | None = None,
) -> int | None:
    """Add a message to send; returns its id, or None if that key was enqueued before.

    Idempotent by (hotel_id, idempotency_key): call it inside the transaction that makes the
    decision, so a crash/retry of the producer can never enqueue the same message twice.
    """
    now = utcnow()
    insert = (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(OutboxMessage)
    stmt = (
        insert.values(
            hotel_id=hotel_id,
            idempotency_key=idempotency_key,
            kind=kind,
            chat_id=chat_id,
            text=text,
            state="pending",
            available_at=available_at or now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[OutboxMessage.hotel_id, OutboxMessage.idempotency_key])
        .returning(OutboxMessage.id)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else int(row[0])


async def record_delivery_status(
    conn: AsyncConnection, *, hotel_id: int, id_message: str, status: str
) -> bool:
    """Apply an outgoingMessageStatus to the outbox row with that idMessage. Monotonic:
    sent < delivered < read never goes backwards; failed/noAccount are terminal.
    Returns True if a row changed. Idempotent (a duplicate status changes nothing)."""
    from sqlalchemy import select, update

    rank = {"sent": 1, "delivered": 2, "read": 3}
    row = (
        await conn.execute(
            select(OutboxMessage.id, OutboxMessage.delivery_status).where(
                OutboxMessage.hotel_id == hotel_id, OutboxMessage.id_message == id_message
            )
        )
    ).first()
    if row is None:
        return False
    current = row[1]
    if current == status or current in ("failed", "noAccount"):
        return False
    if status in rank and current in rank and rank[status] <= rank[current]:
        return False
    values: dict[str, object] = {"delivery_status": status, "updated_at": utcnow()}
    if status in ("failed", "noAccount"):
        values["state"] = "failed"
        values["last_error"] = f"Green API status {status}"
    await conn.execute(update(OutboxMessage).where(OutboxMessage.id == row[0]).values(**values))
    return True


async def record_echo(
    conn: AsyncConnection, *, hotel_id: int, chat_id: str, id_message: str, text: str | None
) -> int | None:
    """Apply an outgoingAPIMessageReceived (Green API confirming a message sent via the API).

    If a row already carries that idMessage it is confirmed sent. Otherwise a row whose send
    outcome is uncertain (state sending/unknown: e.g. a read timeout after the request left)
    with the same chat and text is the message that went out: it gets the idMessage and is
    marked sent, so the sender never sends it again. Returns the row id, or None.
    Idempotent: a duplicate echo matches the row by idMessage and changes nothing more.
    """
    from sqlalchemy import select, update

    now = utcnow()
    by_id = (
        await conn.execute(
            select(OutboxMessage.id, OutboxMessage.state).where(
                OutboxMessage.hotel_id == hotel_id, OutboxMessage.id_message == id_message
            )
        )
    ).first()
    if by_id is not None:
        if by_id[1] in ("sending", "unknown", "pending"):
            await conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == by_id[0])
                .values(state="sent", sent_at=now, updated_at=now)
            )
        return int(by_id[0])
    if text is None:
        return None
    candidate = (
        await conn.execute(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.hotel_id == hotel_id,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.text == text,
                OutboxMessage.state.in_(("sending", "unknown")),
                OutboxMessage.id_message.is_(None),
            )
            .order_by(OutboxMessage.id)
            .limit(1)
        )
    ).first()
    if candidate is None:
        return None
    await conn.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == candidate[0])
        .values(state="sent", id_message=id_message, sent_at=now, updated_at=now)
    )
    return int(candidate[0])
