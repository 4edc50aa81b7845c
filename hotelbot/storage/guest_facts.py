"""The two guest facts the send policy needs that other parts of hotelbot own.

* opted out: the guest sent STOP (and not START since);
* staff pause: staff answered the guest recently, so automated messages hold off until then.

Both are recorded by the message processor (guests.opted_out and
conversations.handled_by_staff_until, branch `understanding`). Until that branch is merged
this module is the single seam: `load_guest_facts` is the function the scheduler and the
sender call, and the only one to adapt at merge time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class GuestPolicyFacts:
    opted_out: bool = False
    staff_paused_until: datetime | None = None


NO_FACTS = GuestPolicyFacts()

GuestFactsSource = Callable[
    [AsyncConnection, int, Sequence[str]], Awaitable[Mapping[str, GuestPolicyFacts]]
]
"""(connection, hotel id, chat ids) -> facts per chat id; chats not in the result have
NO_FACTS. Called inside the caller's transaction; must not do network I/O."""


async def load_guest_facts(
    conn: AsyncConnection, hotel_id: int, chat_ids: Sequence[str]
) -> Mapping[str, GuestPolicyFacts]:
    """Opt-out and staff-pause facts for these chats.

    MERGE POINT (understanding branch): replace the body with one query joining
    guests(hotel_id, chat_id, opted_out) and conversations(hotel_id, chat_id,
    handled_by_staff_until) for `chat_ids`. Until then nobody is opted out or paused.
    """
    del conn, hotel_id, chat_ids
    return {}
