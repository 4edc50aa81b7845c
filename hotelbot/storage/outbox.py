"""The outbox table: producers enqueue, the sender claims, sends and settles.

Producers call `enqueue` inside the transaction that makes the decision; the rest of the life
cycle (domain.outbox.OutboxState) belongs to the sender (daemon/sender.py) and to the
processor's evidence (`record_echo`, `record_delivery_status`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.outbox import (
    LANE_ORDER,
    OPEN_STATES,
    UNDELIVERABLE,
    IllegalTransition,
    Lane,
    OutboxState,
    default_lane,
    delivery_status_changes,
)
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.types import utcnow

_PENDING = OutboxState.PENDING
_SENDING = OutboxState.SENDING
_SENT = OutboxState.SENT
_UNKNOWN = OutboxState.UNKNOWN
_FAILED = OutboxState.FAILED
_CANCELLED = OutboxState.CANCELLED


def move(from_states: Iterable[OutboxState], to: OutboxState, **values: Any) -> Update:
    """`UPDATE outbox SET state = to, **values WHERE state IN from_states`: the one way a
    row changes state (a compare-and-set; add the row filter with `.where()`). Raises
    IllegalTransition when the life cycle (domain.outbox.TRANSITIONS) forbids a move: a bug,
    refused before any SQL runs."""
    sources = tuple(from_states)
    forbidden = [s for s in sources if not s.may_become(to)]
    if forbidden or not sources:
        raise IllegalTransition(f"outbox state {sorted(forbidden)} -> {to} is not allowed")
    return update(OutboxMessage).where(OutboxMessage.state.in_(sources)).values(state=to, **values)


async def enqueue(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    idempotency_key: str,
    kind: str,
    chat_id: str,
    text: str,
    available_at: datetime | None = None,
    lane: Lane | None = None,
    urgent: bool = False,
    file_url: str | None = None,
    file_name: str | None = None,
    quoted_message_id: str | None = None,
) -> int | None:
    """Add a message to send; returns its id, or None if that key was enqueued before.

    With `quoted_message_id` (an idMessage of the same chat) a text is sent as a reply to it.

    With `file_url` and `file_name` (checked by domain.attachments before) the row is a file
    sent with sendFileByUrl and `text` is its caption ("" for none).

    Idempotent by (hotel_id, idempotency_key): call it inside the transaction that makes the
    decision, so a crash/retry of the producer can never enqueue the same message twice.
    `lane` defaults to the kind's lane (domain.outbox.default_lane); `urgent` rows go first
    within their lane (emergencies).
    """
    now = utcnow()
    insert = insert_for(conn, OutboxMessage)
    stmt = (
        insert.values(
            hotel_id=hotel_id,
            idempotency_key=idempotency_key,
            kind=kind,
            lane=(lane or default_lane(kind)).value,
            urgent=urgent,
            chat_id=chat_id,
            text=text,
            file_url=file_url,
            file_name=file_name,
            quoted_message_id=quoted_message_id,
            state=_PENDING,
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


async def cancel_pending(conn: AsyncConnection, outbox_ids: list[int], *, reason: str) -> int:
    """Cancel these rows if they are still pending (e.g. the escalation of an alert that was
    acknowledged meanwhile). Rows already sending or sent are left alone. Idempotent."""
    if not outbox_ids:
        return 0
    now = utcnow()
    result = await conn.execute(
        move((_PENDING,), _CANCELLED, last_error=reason, updated_at=now).where(
            OutboxMessage.id.in_(outbox_ids)
        )
    )
    return int(result.rowcount or 0)


async def record_delivery_status(
    conn: AsyncConnection, *, hotel_id: int, id_message: str, status: str
) -> bool:
    """Apply an outgoingMessageStatus to the outbox row with that idMessage. Monotonic:
    sent < delivered < read never goes backwards; failed/noAccount are terminal.
    Returns True if a row changed. Idempotent (a duplicate status changes nothing)."""
    row = (
        await conn.execute(
            select(OutboxMessage.id, OutboxMessage.delivery_status).where(
                OutboxMessage.hotel_id == hotel_id, OutboxMessage.id_message == id_message
            )
        )
    ).first()
    if row is None or not delivery_status_changes(row[1], status):
        return False
    now = utcnow()
    await conn.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row[0])
        .values(delivery_status=status, updated_at=now)
    )
    if status in UNDELIVERABLE:
        await conn.execute(
            move(
                (_SENT, _SENDING, _UNKNOWN),
                _FAILED,
                last_error=f"Green API status {status}",
                updated_at=now,
            ).where(OutboxMessage.id == row[0])
        )
    return True


async def record_echo(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    chat_id: str,
    id_message: str,
    text: str | None,
    is_file: bool = False,
) -> int | None:
    """Apply an outgoingAPIMessageReceived (Green API confirming a message sent via the API).

    If a row already carries that idMessage it is confirmed sent. Otherwise a row whose send
    outcome is uncertain (state sending/unknown: e.g. a read timeout after the request left)
    with the same chat and text is the message that went out: it gets the idMessage and is
    marked sent, so the sender never sends it again. For a file echo (`is_file`, `text` =
    its caption) only file rows match, and only text rows for a text echo. Returns the row
    id, or None.
    Idempotent: a duplicate echo matches the row by idMessage and changes nothing more.
    """
    now = utcnow()
    by_id = (
        await conn.execute(
            select(OutboxMessage.id, OutboxMessage.state).where(
                OutboxMessage.hotel_id == hotel_id, OutboxMessage.id_message == id_message
            )
        )
    ).first()
    if by_id is not None:
        if by_id[1] in (_SENDING, _UNKNOWN, _PENDING):
            await conn.execute(
                move((_SENDING, _UNKNOWN, _PENDING), _SENT, sent_at=now, updated_at=now).where(
                    OutboxMessage.id == by_id[0]
                )
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
                OutboxMessage.state.in_((_SENDING, _UNKNOWN)),
                OutboxMessage.id_message.is_(None),
                OutboxMessage.file_url.is_not(None)
                if is_file
                else OutboxMessage.file_url.is_(None),
            )
            .order_by(OutboxMessage.id)
            .limit(1)
        )
    ).first()
    if candidate is None:
        return None
    await conn.execute(
        move((_SENDING, _UNKNOWN), _SENT, id_message=id_message, sent_at=now, updated_at=now).where(
            OutboxMessage.id == candidate[0]
        )
    )
    return int(candidate[0])


# --- the sender's side ---------------------------------------------------------------------
#
# Life cycle (domain.outbox.OutboxState): pending --claim--> sending --HTTP 200--> sent
#                                   |--surely not sent (connect error, 429, 500/503,
#                                   |   instance not ready)--> pending (available_at later)
#                                   |--ambiguous (read timeout, 502/504)--> unknown
#                                   '--our request is wrong (other 4xx)--> failed
#             unknown --echo or journal match--> sent;  --no trace in time--> pending
# Every transition out of `sending`/`unknown` is a compare-and-set on the state, so an echo
# that marked the row sent meanwhile is never overwritten.


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
    lane: Lane = Lane.AUTOMATED
    urgent: bool = False
    file_url: str | None = None
    file_name: str | None = None
    quoted_message_id: str | None = None  # sent as a reply to this message of the chat

    @property
    def is_file(self) -> bool:
        """A file (sendFileByUrl, `text` is its caption) rather than a text message."""
        return self.file_url is not None


_ITEM_COLUMNS = [
    OutboxMessage.id, OutboxMessage.hotel_id, OutboxMessage.kind, OutboxMessage.chat_id,
    OutboxMessage.text, OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.available_at,
    OutboxMessage.sending_started_at, OutboxMessage.id_message, OutboxMessage.last_error,
    OutboxMessage.delivery_status, OutboxMessage.created_at, OutboxMessage.lane,
    OutboxMessage.urgent, OutboxMessage.file_url, OutboxMessage.file_name,
    OutboxMessage.quoted_message_id,
]  # fmt: skip


def _item(row: Any) -> OutboxItem:
    values = list(row)
    try:
        values[13] = Lane(values[13])
    except ValueError:
        values[13] = Lane.AUTOMATED
    values[14] = bool(values[14])
    return OutboxItem(*values)


async def claim_due(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    now: datetime,
    limits: Mapping[Lane, int],
) -> list[OutboxItem]:
    """Move due pending rows (available_at <= now) to `sending` and return them: at most
    `limits[lane]` per lane, lanes in LANE_ORDER, within a lane urgent rows first, then the
    oldest. Commit before any HTTP call: a crash then leaves `sending`, which recovery treats
    as ambiguous. On PostgreSQL rows locked by another claimer are skipped. One hotel's
    `claim_due_many`."""
    claimed = await claim_due_many(conn, limits={hotel_id: limits}, now=now)
    return claimed.get(hotel_id, [])


async def claim_due_many(
    conn: AsyncConnection,
    *,
    limits: Mapping[int, Mapping[Lane, int]],
    now: datetime,
) -> dict[int, list[OutboxItem]]:
    """`claim_due` for several hotels at once (hotel id -> its lane limits), in two
    statements whatever the number of hotels: one ranks each (hotel, lane)'s due rows
    (urgent first, then the oldest) with a window function, one moves the chosen rows
    `pending -> sending` (compare-and-set) and returns them. Hotels that claimed nothing are
    absent from the result; each hotel's items are in the order `claim_due` gives. On
    PostgreSQL rows locked by another transaction are skipped, as in `claim_due`."""
    wanted = {
        (hotel_id, lane.value): limit
        for hotel_id, per_lane in limits.items()
        for lane, limit in per_lane.items()
        if limit > 0
    }
    if not wanted:
        return {}
    order = (OutboxMessage.urgent.desc(), OutboxMessage.available_at, OutboxMessage.id)
    rank = (
        func.row_number()
        .over(partition_by=(OutboxMessage.hotel_id, OutboxMessage.lane), order_by=order)
        .label("rank")
    )
    ranked = (
        select(OutboxMessage.id, OutboxMessage.hotel_id, OutboxMessage.lane, rank)
        .where(
            OutboxMessage.hotel_id.in_(sorted({hotel_id for hotel_id, _ in wanted})),
            OutboxMessage.lane.in_(sorted({lane for _, lane in wanted})),
            OutboxMessage.state == _PENDING,
            OutboxMessage.available_at <= now,
        )
        .subquery()
    )
    candidates = await conn.execute(
        select(ranked.c.id, ranked.c.hotel_id, ranked.c.lane, ranked.c.rank).where(
            ranked.c.rank <= max(wanted.values())
        )
    )
    ids = [
        int(row_id)
        for row_id, hotel_id, lane, position in candidates
        if position <= wanted.get((int(hotel_id), str(lane)), 0)
    ]
    if not ids:
        return {}
    chosen: Any = OutboxMessage.id.in_(ids)
    if conn.dialect.name == "postgresql":
        chosen = OutboxMessage.id.in_(
            select(OutboxMessage.id).where(chosen).with_for_update(skip_locked=True)
        )
    rows = await conn.execute(
        move(
            (_PENDING,),
            _SENDING,
            attempts=OutboxMessage.attempts + 1,
            sending_started_at=now,
            updated_at=now,
        )
        .where(chosen)
        .returning(*_ITEM_COLUMNS)
    )
    lane_rank = {lane: index for index, lane in enumerate(LANE_ORDER)}
    claimed: dict[int, list[OutboxItem]] = {}
    for item in sorted(
        (_item(r) for r in rows),
        key=lambda i: (lane_rank[i.lane], not i.urgent, i.available_at, i.id),
    ):
        claimed.setdefault(item.hotel_id, []).append(item)
    return claimed


async def _transition(
    conn: AsyncConnection,
    outbox_id: int,
    from_states: tuple[OutboxState, ...],
    to: OutboxState,
    values: dict[str, Any],
) -> bool:
    result = await conn.execute(
        move(from_states, to, **values).where(OutboxMessage.id == outbox_id)
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
        (_SENDING, _UNKNOWN, _SENT),
        _SENT,
        {"id_message": id_message, "sent_at": now, "updated_at": now, "last_error": None},
    )


async def mark_retry(
    conn: AsyncConnection,
    outbox_id: int,
    *,
    available_at: datetime,
    error: str,
    now: datetime,
    count_attempt: bool = True,
    from_states: tuple[OutboxState, ...] = (_SENDING,),
) -> bool:
    """Back to pending, due at `available_at` (the request surely had no effect, or a
    reconciliation found no trace). `count_attempt=False` gives back the attempt (a hotel
    hold is not the message's fault)."""
    values: dict[str, Any] = {
        "available_at": available_at,
        "last_error": error,
        "updated_at": now,
    }
    if not count_attempt:
        values["attempts"] = OutboxMessage.attempts - 1
    return await _transition(conn, outbox_id, from_states, _PENDING, values)


async def mark_unknown(conn: AsyncConnection, outbox_id: int, *, error: str, now: datetime) -> bool:
    """The request may have been applied: reconcile before any resend."""
    return await _transition(
        conn, outbox_id, (_SENDING,), _UNKNOWN, {"last_error": error, "updated_at": now}
    )


async def mark_failed(
    conn: AsyncConnection,
    outbox_id: int,
    *,
    error: str,
    now: datetime,
    from_states: tuple[OutboxState, ...] = (_SENDING,),
) -> bool:
    return await _transition(
        conn, outbox_id, from_states, _FAILED, {"last_error": error, "updated_at": now}
    )


async def mark_cancelled(
    conn: AsyncConnection, outbox_id: int, *, reason: str, now: datetime
) -> bool:
    """Not sent and never will be (e.g. the guest opted out after it was enqueued)."""
    return await _transition(
        conn,
        outbox_id,
        (_PENDING, _SENDING),
        _CANCELLED,
        {"last_error": reason, "updated_at": now},
    )


async def list_unknown(
    conn: AsyncConnection, *, hotel_ids: Iterable[int]
) -> dict[int, list[OutboxItem]]:
    """The `unknown` rows of these hotels (one query), oldest first; hotels without any are
    absent."""
    wanted = sorted(set(hotel_ids))
    if not wanted:
        return {}
    rows = await conn.execute(
        select(*_ITEM_COLUMNS)
        .where(OutboxMessage.hotel_id.in_(wanted), OutboxMessage.state == _UNKNOWN)
        .order_by(OutboxMessage.id)
    )
    found: dict[int, list[OutboxItem]] = {}
    for row in rows:
        item = _item(row)
        found.setdefault(item.hotel_id, []).append(item)
    return found


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


async def queued_keys(conn: AsyncConnection, *, hotel_id: int, keys: Iterable[str]) -> set[str]:
    """Which of these idempotency keys already belong to an outbox row of the hotel, in any
    state (a key, once queued, is never queued again). Read-only."""
    wanted = list(keys)
    if not wanted:
        return set()
    rows = await conn.execute(
        select(OutboxMessage.idempotency_key).where(
            OutboxMessage.hotel_id == hotel_id, OutboxMessage.idempotency_key.in_(wanted)
        )
    )
    return {str(r[0]) for r in rows}


@dataclass(frozen=True, slots=True)
class WaitingAlert:
    """A staff alert still to be sent (or settled) although it is due."""

    id: int
    hotel_id: int
    text: str
    available_at: datetime  # due since (naive UTC on SQLite)


async def waiting_alerts(conn: AsyncConnection, *, now: datetime, limit: int) -> list[WaitingAlert]:
    """Up to `limit` rows of the alert lane, of every hotel, in an open state
    (domain.outbox.OPEN_STATES) and due at `now`, longest waiting first. Read-only."""
    rows = await conn.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.hotel_id,
            OutboxMessage.text,
            OutboxMessage.available_at,
        )
        .where(
            OutboxMessage.lane == Lane.ALERT.value,
            OutboxMessage.state.in_(OPEN_STATES),
            OutboxMessage.available_at <= now,
        )
        .order_by(OutboxMessage.available_at)
        .limit(limit)
    )
    return [WaitingAlert(int(i), int(h), t, at) for i, h, t, at in rows]


async def recover_stale_sending(
    conn: AsyncConnection, *, now: datetime, stale_after: Mapping[Lane, timedelta]
) -> int:
    """Rows left in `sending` by a crash become unknown once `stale_after[lane]` old
    (measured from sending_started_at). The age bound spares rows a live sender (this
    process, or another daemon) is sending right now; it must exceed the lane's send
    timeout. Returns how many rows changed. Idempotent."""
    conditions = [
        and_(
            OutboxMessage.lane == lane.value,
            OutboxMessage.sending_started_at < now - stale_after[lane],
        )
        for lane in LANE_ORDER
        if lane in stale_after
    ]
    if not conditions:
        return 0
    result = await conn.execute(
        move((_SENDING,), _UNKNOWN, last_error="interrupted while sending", updated_at=now).where(
            or_(*conditions)
        )
    )
    return int(result.rowcount or 0)


async def has_stale_sending(conn: AsyncConnection, *, started_before: datetime) -> bool:
    """Whether any row has been `sending` since before `started_before` (cheap pre-check of
    `recover_stale_sending`)."""
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.state == _SENDING, OutboxMessage.sending_started_at < started_before)
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def hotels_with_work(conn: AsyncConnection, *, now: datetime) -> set[int]:
    """Hotels with outbox rows a sender step could act on now: pending rows that are due,
    rows in `sending` (recovery) or `unknown` (reconciliation). Rows deferred to later
    (quiet hours, daily cap) do not wake anyone until they are due."""
    rows = await conn.execute(
        select(OutboxMessage.hotel_id)
        .where(
            or_(
                and_(OutboxMessage.state == _PENDING, OutboxMessage.available_at <= now),
                OutboxMessage.state.in_((_SENDING, _UNKNOWN)),
            )
        )
        .distinct()
    )
    return {int(row[0]) for row in rows}


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
                OutboxMessage.hotel_id == hotel_id, OutboxMessage.state == _PENDING
            )
        )
    ).scalar()
    return value if isinstance(value, datetime) else None


class SqlOutcomeLog:
    """`hotelbot.app.outbox_step.OutcomeLog` on a write transaction's connection: the
    sender's outcome transitions above, from `sending`."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def mark_sent(self, outbox_id: int, *, id_message: str, now: datetime) -> bool:
        return await mark_sent(self.conn, outbox_id, id_message=id_message, now=now)

    async def mark_retry(
        self,
        outbox_id: int,
        *,
        available_at: datetime,
        error: str,
        now: datetime,
        count_attempt: bool = True,
    ) -> bool:
        return await mark_retry(
            self.conn,
            outbox_id,
            available_at=available_at,
            error=error,
            now=now,
            count_attempt=count_attempt,
        )

    async def mark_unknown(self, outbox_id: int, *, error: str, now: datetime) -> bool:
        return await mark_unknown(self.conn, outbox_id, error=error, now=now)

    async def mark_failed(self, outbox_id: int, *, error: str, now: datetime) -> bool:
        return await mark_failed(self.conn, outbox_id, error=error, now=now)


class SqlUnknownSends:
    """`hotelbot.app.outbox_step.UnknownSends` on a unit of work's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def known_id_messages(self, hotel_id: int, ids: Sequence[str]) -> set[str]:
        return await known_id_messages(self.conn, hotel_id=hotel_id, ids=list(ids))

    async def mark_sent(self, outbox_id: int, *, id_message: str, now: datetime) -> bool:
        return await mark_sent(self.conn, outbox_id, id_message=id_message, now=now)

    async def resend(self, outbox_id: int, *, error: str, now: datetime) -> bool:
        return await mark_retry(
            self.conn, outbox_id, available_at=now, error=error, now=now, from_states=(_UNKNOWN,)
        )

    async def give_up(self, outbox_id: int, *, error: str, now: datetime) -> bool:
        return await mark_failed(
            self.conn, outbox_id, error=error, now=now, from_states=(_UNKNOWN,)
        )


@dataclass(frozen=True, slots=True)
class LaneBacklog:
    """Open outbox rows (`domain.outbox.OPEN_STATES`) of one hotel and lane."""

    count: int
    oldest_due: datetime | None  # the earliest available_at not after `now`; None: none due


async def open_by_lane(conn: AsyncConnection, now: datetime) -> dict[tuple[int, str], LaneBacklog]:
    """Open rows per (hotel id, lane value), in one grouped query whatever the number of
    hotels (the metrics snapshot). Pairs without open rows are absent. Read-only."""
    rows = await conn.execute(
        select(
            OutboxMessage.hotel_id,
            OutboxMessage.lane,
            func.count(),
            func.min(OutboxMessage.available_at).filter(OutboxMessage.available_at <= now),
        )
        .where(OutboxMessage.state.in_(OPEN_STATES))
        .group_by(OutboxMessage.hotel_id, OutboxMessage.lane)
    )
    return {
        (int(hotel_id), str(lane)): LaneBacklog(int(count), oldest_due)
        for hotel_id, lane, count, oldest_due in rows
    }


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """A pending outbox row that is not due yet (`available_at`: when it becomes due)."""

    id: int
    hotel_id: int
    kind: str  # domain.outbox.OutboxKind
    chat_id: str
    available_at: datetime


async def pending_until_after(conn: AsyncConnection, *, after: datetime) -> list[HeldMessage]:
    """The pending rows of every hotel that become due only after `after` (held back by the
    send policy: quiet hours, caps; or scheduled later), by id. Read-only; raises what the
    driver raises."""
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.hotel_id,
            OutboxMessage.kind,
            OutboxMessage.chat_id,
            OutboxMessage.available_at,
        )
        .where(OutboxMessage.state == _PENDING, OutboxMessage.available_at > after)
        .order_by(OutboxMessage.id)
    )
    return [
        HeldMessage(int(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4])
        for r in await conn.execute(query)
    ]
