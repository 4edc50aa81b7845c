"""Use case: staff send a message to a guest (`hotelbot send`).

A message staff write counts as a staff answer, exactly like one typed on the hotel phone:
the same unit of work queues it and runs `app.handled.mark_handled` for the guest's
conversation (open alerts acknowledged, counted messages dropped, automated messages paused).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hotelbot.app.handled import mark_handled
from hotelbot.app.unit_of_work import UnitsOfWork
from hotelbot.domain.acknowledgement import AckRoute
from hotelbot.domain.outbox import OutboxKind


async def send_as_staff(
    units: UnitsOfWork,
    hotel_id: int,
    chat_id: str,
    text: str,
    *,
    key: str,
    at: datetime,
    pause: timedelta,
) -> int | None:
    """Queue `text` to `chat_id` as a manual message under the idempotency `key` and mark the
    conversation handled at `at` (none yet: nothing to handle), in one unit of work of the
    hotel. Returns the outbox id, None when `key` was queued before (nothing else changes
    then: a retry of the same send is no second answer). Raises `LeaseLost` when fenced units
    do not hold the hotel."""
    async with units.begin({hotel_id}) as uow:
        outbox_id = await uow.outbox.enqueue(
            hotel_id=hotel_id,
            idempotency_key=key,
            kind=OutboxKind.MANUAL,
            chat_id=chat_id,
            text=text,
        )
        if outbox_id is None:
            return None
        conversation_id = await uow.conversations.id_of(hotel_id, chat_id)
        if conversation_id is not None:
            await mark_handled(
                uow.handling, conversation_id, at=at, route=AckRoute.SEND, pause=pause
            )
        return outbox_id
