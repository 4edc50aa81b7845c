"""Enqueueing into the outbox (producers' side). The sender owns the rest of the life cycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
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
        .on_conflict_do_nothing(
            index_elements=[OutboxMessage.hotel_id, OutboxMessage.idempotency_key]
        )
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


# --- the sender's side ---------------------------------------------------------------------
#
# Life cycle: pending --claim--> sending --HTTP 200--> sent
#                                   |--surely not sent (connect error, 429, 500/503,
#                                   |   instance not ready)--> pending (available_at later)
#                                   |--ambiguous (read timeout, 502/504)--> unknown
#                                   '--our request is wrong (other 4xx)--> failed
#             unknown --echo or journal match--> sent;  --no trace after the window--> pending
# Every transition out of `sending`/`unknown` is a compare-and-set on the state, so an echo
# that marked the row sent meanwhile is never overwritten.

FINAL_STATES = ("sent", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    hotel_id: int
    kind: str
    chat_id: str
    text: str
    state: str
    attempts: int
    available_at: datetime
    sending_started_at: datetime | None
    id_message: str | None
    last_error: str | None
    delivery_status: str | None
    created_at: datetime


_ITEM_COLUMNS = [
    OutboxMessage.id, OutboxMessage.hotel_id, OutboxMessage.kind, OutboxMessage.chat_id,
    OutboxMessage.text, OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.available_at,
    OutboxMessage.sending_started_at, OutboxMessage.id_message, OutboxMessage.last_error,
    OutboxMessage.delivery_status, OutboxMessage.created_at,
]  # fmt: skip


def _item(row: Any) -> OutboxItem:
    return OutboxItem(*row)


async def claim_due(
    conn: AsyncConnection, *, hotel_id: int, now: datetime, limit: int
) -> list[OutboxItem]:
    """Move up to `limit` due pending rows (available_at <= now, oldest first) to `sending`
    and return them. Commit before any HTTP call: a crash then leaves `sending`, which
    start-up treats as unknown. On PostgreSQL rows locked by another claimer are skipped."""
    if limit <= 0:
        return []
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.hotel_id == hotel_id,
            OutboxMessage.state == "pending",
            OutboxMessage.available_at <= now,
        )
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [int(r[0]) for r in await conn.execute(query)]
    if not ids:
        return []
    await conn.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.state == "pending")
        .values(
            state="sending",
            attempts=OutboxMessage.attempts + 1,
            sending_started_at=now,
            updated_at=now,
        )
    )
    rows = await conn.execute(
        select(*_ITEM_COLUMNS)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.state == "sending")
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
    )
    return [_item(r) for r in rows]


async def _transition(
    conn: AsyncConnection, outbox_id: int, from_states: tuple[str, ...], values: dict[str, Any]
) -> bool:
    result = await conn.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.state.in_(from_states))
        .values(**values)
    )
    return bool(result.rowcount)


async def mark_sent(
    conn: AsyncConnection, outbox_id: int, *, id_message: str, now: datetime
) -> bool:
    """The send was accepted (HTTP 200 or a reconciliation match). Also overrides an echo
    that matched this row first: our own idMessage is authoritative."""
    return await _transition(
        conn,
        outbox_id,
        ("sending", "unknown", "sent"),
        {"state": "sent", "id_message": id_message, "sent_at": now, "updated_at": now,
         "last_error": None},
    )  # fmt: skip


async def mark_retry(
    conn: AsyncConnection,
    outbox_id: int,
    *,
    available_at: datetime,
    error: str,
    now: datetime,
    count_attempt: bool = True,
    from_states: tuple[str, ...] = ("sending",),
) -> bool:
    """Back to pending, due at `available_at` (the request surely had no effect, or a
    reconciliation found no trace). `count_attempt=False` gives back the attempt (a hotel
    hold is not the message's fault)."""
    values: dict[str, Any] = {
        "state": "pending",
        "available_at": available_at,
        "last_error": error,
        "updated_at": now,
    }
    if not count_attempt:
        values["attempts"] = OutboxMessage.attempts - 1
    return await _transition(conn, outbox_id, from_states, values)


async def mark_unknown(conn: AsyncConnection, outbox_id: int, *, error: str, now: datetime) -> bool:
    """The request may have been applied: reconcile before any resend."""
    return await _transition(
        conn, outbox_id, ("sending",), {"state": "unknown", "last_error": error, "updated_at": now}
    )


async def mark_failed(
    conn: AsyncConnection,
    outbox_id: int,
    *,
    error: str,
    now: datetime,
    from_states: tuple[str, ...] = ("sending",),
) -> bool:
    return await _transition(
        conn, outbox_id, from_states, {"state": "failed", "last_error": error, "updated_at": now}
    )


async def mark_cancelled(
    conn: AsyncConnection, outbox_id: int, *, reason: str, now: datetime
) -> bool:
    """Not sent and never will be (e.g. the guest opted out after it was enqueued)."""
    return await _transition(
        conn,
        outbox_id,
        ("pending", "sending"),
        {"state": "cancelled", "last_error": reason, "updated_at": now},
    )


async def list_unknown(conn: AsyncConnection, *, hotel_id: int) -> list[OutboxItem]:
    rows = await conn.execute(
        select(*_ITEM_COLUMNS)
        .where(OutboxMessage.hotel_id == hotel_id, OutboxMessage.state == "unknown")
        .order_by(OutboxMessage.id)
    )
    return [_item(r) for r in rows]


async def known_id_messages(conn: AsyncConnection, *, hotel_id: int, ids: list[str]) -> set[str]:
    """Which of these idMessages already belong to an outbox row of the hotel."""
    if not ids:
        return set()
    rows = await conn.execute(
        select(OutboxMessage.id_message).where(
            OutboxMessage.hotel_id == hotel_id, OutboxMessage.id_message.in_(ids)
        )
    )
    return {str(r[0]) for r in rows}


async def recover_stale_sending(
    conn: AsyncConnection, *, started_before: datetime, now: datetime
) -> int:
    """Rows left in `sending` by a crash (started before `started_before`) become unknown.
    The age bound spares rows another live daemon is sending right now."""
    result = await conn.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.state == "sending",
            OutboxMessage.sending_started_at < started_before,
        )
        .values(state="unknown", last_error="interrupted while sending", updated_at=now)
    )
    return int(result.rowcount or 0)


async def list_outbox(
    conn: AsyncConnection,
    *,
    hotel_id: int | None = None,
    state: str | None = None,
    limit: int = 50,
) -> list[OutboxItem]:
    """Newest first."""
    query = select(*_ITEM_COLUMNS).order_by(OutboxMessage.id.desc()).limit(limit)
    if hotel_id is not None:
        query = query.where(OutboxMessage.hotel_id == hotel_id)
    if state is not None:
        query = query.where(OutboxMessage.state == state)
    return [_item(r) for r in await conn.execute(query)]


async def next_available_at(conn: AsyncConnection, *, hotel_id: int) -> datetime | None:
    """When the next pending row of the hotel becomes due (None: nothing pending)."""
    value = (
        await conn.execute(
            select(func.min(OutboxMessage.available_at)).where(
                OutboxMessage.hotel_id == hotel_id, OutboxMessage.state == "pending"
            )
        )
    ).scalar()
    return value if isinstance(value, datetime) else None
