"""Use case: staff handled a conversation (answered the guest or acknowledged an alert).

The one place where "staff are on it" takes effect, whatever the route: the processor
calls `mark_handled` inside its batch transaction for a staff reply from the hotel phone and
for an acknowledgement in the staff chat (a quote, a reaction, a "#12"); `hotelbot send`
calls it in the unit of work that queues the message (`app/staff_send.py`);
`hotelbot conversations handled` runs `handle_conversation`, the same use case as a unit of
work of its own. The rule itself is `domain.acknowledgement.handled`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from hotelbot.domain.acknowledgement import AckRoute, Handling, handled

if TYPE_CHECKING:
    from hotelbot.app.unit_of_work import UnitsOfWork


class HandlingStore(Protocol):
    """What the use case reads and writes, all in the caller's one transaction."""

    async def handling(self, conversation_id: int) -> Handling | None:
        """The conversation's handling state; None when there is no such conversation."""
        ...

    async def save_handling(self, conversation_id: int, state: Handling) -> None:
        """Store the new handling state of the conversation."""
        ...

    async def acknowledge_alerts(
        self, conversation_id: int, *, answered_at: datetime, route: AckRoute
    ) -> int:
        """Acknowledge the conversation's open alerts about messages sent at or before
        `answered_at` and withdraw their escalations still waiting; returns how many."""
        ...


@dataclass(frozen=True, slots=True)
class HandledOutcome:
    handling: Handling
    acknowledged: int  # alerts acknowledged now


async def mark_handled(
    store: HandlingStore,
    conversation_id: int,
    *,
    at: datetime,
    route: AckRoute,
    pause: timedelta,
    replace_pause: bool = False,
) -> HandledOutcome | None:
    """Staff handled the conversation at `at` by `route`: set `handled_at`, drop the alerts
    counted for a follow-up, pause automated messages for `pause` (exactly that with
    `replace_pause`), acknowledge its open alerts (stopping their escalation).

    Runs in the caller's transaction (the store is bound to it): either all of it commits
    or none. Idempotent: running it twice for the same `at` changes nothing more. Returns
    None when the conversation does not exist."""
    state = await store.handling(conversation_id)
    if state is None:
        return None
    new = handled(state, at, route=route, pause=pause, replace_pause=replace_pause)
    await store.save_handling(conversation_id, new)
    count = await store.acknowledge_alerts(conversation_id, answered_at=at, route=route)
    return HandledOutcome(new, count)


async def handle_conversation(
    units: UnitsOfWork,
    hotel_id: int,
    conversation_id: int,
    *,
    at: datetime,
    route: AckRoute,
    pause: timedelta,
    replace_pause: bool = False,
) -> HandledOutcome | None:
    """`mark_handled` in a unit of work of its own for the conversation's hotel (commits
    before returning). Raises `LeaseLost` when the units are fenced and the hotel is not
    held; None when the conversation does not exist."""
    async with units.begin({hotel_id}) as uow:
        return await mark_handled(
            uow.handling,
            conversation_id,
            at=at,
            route=route,
            pause=pause,
            replace_pause=replace_pause,
        )
