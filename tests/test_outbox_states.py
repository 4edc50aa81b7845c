"""The outbox life cycle as a typed state machine: the allowed moves (domain/outbox.py), and
the storage refusing any other before a statement runs, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hotelbot.domain.outbox import (
    FINAL_STATES,
    OPEN_STATES,
    TRANSITIONS,
    DeliveryStatus,
    IllegalTransition,
    Lane,
    OutboxState,
    delivery_status_changes,
)
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.outbox import (
    LaneBacklog,
    enqueue,
    mark_cancelled,
    mark_unknown,
    move,
    open_by_lane,
)
from hotelbot.storage.types import utcnow
from tests.scheduling_helpers import make_hotel


def test_every_state_has_its_moves_and_open_and_final_states_partition_them() -> None:
    assert set(TRANSITIONS) == set(OutboxState)
    assert set(OutboxState) == OPEN_STATES | FINAL_STATES
    assert not OPEN_STATES & FINAL_STATES
    assert all(s.final for s in FINAL_STATES) and not any(s.final for s in OPEN_STATES)


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        (OutboxState.PENDING, OutboxState.SENDING, True),  # claim
        (OutboxState.SENDING, OutboxState.UNKNOWN, True),  # ambiguous send
        (OutboxState.UNKNOWN, OutboxState.PENDING, True),  # no trace in time: send again
        (OutboxState.SENT, OutboxState.FAILED, True),  # Green API reports it failed
        (OutboxState.PENDING, OutboxState.UNKNOWN, False),  # never sent: nothing to settle
        (OutboxState.UNKNOWN, OutboxState.CANCELLED, False),  # may be out already
        (OutboxState.SENT, OutboxState.PENDING, False),  # never send a sent message again
        (OutboxState.FAILED, OutboxState.PENDING, False),
        (OutboxState.CANCELLED, OutboxState.SENDING, False),
    ],
)
def test_allowed_moves(source: OutboxState, target: OutboxState, allowed: bool) -> None:
    assert source.may_become(target) is allowed


def test_a_forbidden_move_is_refused_before_any_sql() -> None:
    with pytest.raises(IllegalTransition, match="sent"):
        move((OutboxState.PENDING, OutboxState.SENT), OutboxState.PENDING)
    with pytest.raises(IllegalTransition):
        move((), OutboxState.SENT)


async def test_states_are_stored_as_the_same_strings_and_moves_are_compare_and_set(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db)
    async with db.write() as conn:
        outbox_id = await enqueue(
            conn,
            hotel_id=hotel_id,
            idempotency_key="k1",
            kind="manual",
            chat_id="37120000001@c.us",
            text="hello",
        )
    assert outbox_id is not None
    async with db.write() as conn:
        # pending -> unknown is not a move of the life cycle: refused, the row untouched.
        with pytest.raises(IllegalTransition):
            await conn.execute(move((OutboxState.PENDING,), OutboxState.UNKNOWN))
        # A compare-and-set from the wrong state changes nothing.
        assert await mark_unknown(conn, outbox_id, error="x", now=utcnow()) is False
        assert await mark_cancelled(conn, outbox_id, reason="guest opted out", now=utcnow())
    async with db.read() as conn:
        state = (
            await conn.execute(select(OutboxMessage.state).where(OutboxMessage.id == outbox_id))
        ).scalar_one()
    assert state == "cancelled" and type(state) is str  # the column keeps plain strings


def test_delivery_status_only_moves_forward() -> None:
    assert delivery_status_changes(None, DeliveryStatus.SENT)
    assert delivery_status_changes(DeliveryStatus.SENT, DeliveryStatus.READ)
    assert not delivery_status_changes(DeliveryStatus.READ, DeliveryStatus.DELIVERED)
    assert not delivery_status_changes(DeliveryStatus.READ, DeliveryStatus.READ)
    assert delivery_status_changes(DeliveryStatus.READ, DeliveryStatus.FAILED)
    assert not delivery_status_changes(DeliveryStatus.NO_ACCOUNT, DeliveryStatus.READ)
    assert delivery_status_changes(DeliveryStatus.SENT, "someNewStatus")  # stored as it comes


async def test_open_rows_are_counted_per_hotel_and_lane_with_the_oldest_due(
    db: Database,
) -> None:
    """The metrics snapshot's read (storage.outbox.open_by_lane): open rows only, per hotel
    and lane; the oldest due time ignores rows not due yet."""
    riga = await make_hotel(db)
    other = await make_hotel(db, "tallinn", instance_id="1101000002")
    now = utcnow()
    earlier, later = now - timedelta(minutes=5), now + timedelta(minutes=5)

    async def add(hotel_id: int, key: str, lane: Lane, at: datetime) -> int:
        async with db.write() as conn:
            outbox_id = await enqueue(
                conn,
                hotel_id=hotel_id,
                idempotency_key=key,
                kind="manual",
                chat_id="37120000001@c.us",
                text="hello",
                lane=lane,
                available_at=at,
            )
        assert outbox_id is not None
        return outbox_id

    await add(riga, "a1", Lane.ALERT, earlier)
    await add(riga, "a2", Lane.ALERT, later)  # open, not due yet
    await add(riga, "g1", Lane.REQUESTED, later)
    cancelled = await add(riga, "g2", Lane.REQUESTED, earlier)
    await add(other, "o1", Lane.ALERT, now)
    async with db.write() as conn:
        assert await mark_cancelled(conn, cancelled, reason="guest opted out", now=now)
    async with db.read() as conn:
        backlog = await open_by_lane(conn, now)
    assert set(backlog) == {(riga, "alert"), (riga, "requested"), (other, "alert")}
    assert backlog[(riga, "alert")].count == 2
    assert backlog[(riga, "alert")].oldest_due == earlier
    assert backlog[(riga, "requested")] == LaneBacklog(1, None)  # the due one was cancelled
    assert backlog[(other, "alert")] == LaneBacklog(1, now)
