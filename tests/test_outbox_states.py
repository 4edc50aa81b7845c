"""The outbox life cycle as a typed state machine: the allowed moves (domain/outbox.py), and
the storage refusing any other before a statement runs, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotelbot.domain.outbox import (
    FINAL_STATES,
    OPEN_STATES,
    TRANSITIONS,
    DeliveryStatus,
    IllegalTransition,
    OutboxState,
    delivery_status_changes,
)
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.outbox import enqueue, mark_cancelled, mark_unknown, move
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
