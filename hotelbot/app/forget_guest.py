"""Use case: forget a guest (the right to erasure, `hotelbot guest forget`).

The rule lives here, once: what is erased, what is blanked, what is kept, in which order, in
one transaction. What belongs to the guest, in every table, scoped to one hotel or all:

* their chats: messages, conversations, stays (and their trigger fires), guest rows, outbox
  messages to them, raw notifications of those chats;
* what they wrote in group chats: messages whose sender is them, and the group
  notifications whose senderData.sender is them;
* staff alerts about their messages: the outbox rows keep their place but their text becomes
  `ERASED_TEXT`, the echoes of those alerts that came back from Green API (messages and
  notifications in the staff chat with the same idMessage) and the alert rows are deleted;
* any other text that quotes their number or chat id exactly (`GuestScope.quotes`): outbox
  texts and message texts of other chats are blanked, processed notifications and dead
  letters deleted (an unprocessed notification of another chat is still someone's message).

Kept: a STOP. Before the guest rows that say "opted out" are deleted, their chats go on the
hotel's suppression list (an anonymous hash), so forgetting never undoes an opt-out.

Idempotent: a second run finds nothing and changes nothing. A dry run executes every step
and rolls back, so its counts are exactly what the real run would change at that moment.
Who the guest is (parsing the operator's input, what "quotes them" means) is
`domain.guest_identity`; the SQL of each step is `storage.guest_erasure.SqlGuestErasure`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from hotelbot.domain.erasure import PurgeResult
from hotelbot.domain.guest_identity import GuestIdentity, GuestScope, IdentityError

if TYPE_CHECKING:
    from hotelbot.app.unit_of_work import UnitsOfWork

Counts = Mapping[str, int]  # rows changed per "table[.what]", e.g. {"messages.in_groups": 1}


class GuestErasure(Protocol):
    """The guest's rows, read and erased step by step in the unit's one transaction. Each
    erasing step is idempotent and returns the rows it changed per key."""

    async def hotel_ids(self, slug: str | None) -> list[int]:
        """The hotel with `slug` (empty when there is none), or every hotel for None."""
        ...

    async def linked_chats(self, hotel_ids: Iterable[int], phones: Iterable[str]) -> set[str]:
        """Chats that guest rows of those hotels link to one of the numbers."""
        ...

    async def opted_out_chats(self, scope: GuestScope) -> set[tuple[int, str]]:
        """(hotel id, chat id) of the guest's rows that say "opted out"."""
        ...

    async def suppress(self, pairs: Iterable[tuple[int, str]], *, now: datetime) -> int:
        """Put the chats on their hotels' suppression lists; how many were new."""
        ...

    async def erase_staff_alerts(self, scope: GuestScope) -> Counts:
        """Alerts about their messages: outbox text blanked, echoes and alert rows deleted."""
        ...

    async def erase_messages(self, scope: GuestScope) -> Counts:
        """Messages of their chats and theirs in groups deleted; others quoting them blanked."""
        ...

    async def erase_outbox(self, scope: GuestScope) -> Counts:
        """Outbox rows to their chats deleted; other texts quoting them blanked."""
        ...

    async def erase_chat_rows(self, scope: GuestScope) -> Counts:
        """Their conversations, stays (with trigger fires) and guest rows deleted."""
        ...

    async def erase_notifications(self, scope: GuestScope) -> Counts:
        """Raw notifications of their chats, group ones they sent, processed ones quoting
        them deleted."""
        ...

    async def erase_dead_letters(self, scope: GuestScope) -> Counts:
        """Dead letters quoting them deleted."""
        ...


class _DryRun(Exception):
    """Raised inside the unit of a dry run so that it rolls back."""


async def forget_guest(
    units: UnitsOfWork,
    identity: GuestIdentity,
    *,
    now: datetime,
    hotel_slug: str | None = None,
    dry_run: bool = False,
) -> PurgeResult:
    """Erase everything about the guest (module docstring) in one unit of work, at one hotel
    (`hotel_slug`) or all; with `dry_run` count it and roll back. Returns the rows changed
    per key (keys with no change left out). Raises IdentityError for an unknown hotel.

    An operator's command, not a daemon's: the unit is opened for no hotel's lease (the
    CLI's units are unfenced), and the hotels are resolved inside its transaction so the
    scope and the erasure see the same rows."""
    result = PurgeResult()
    try:
        async with units.begin(()) as uow:
            store = uow.guest_erasure
            hotel_ids = await store.hotel_ids(hotel_slug)
            if hotel_slug is not None and not hotel_ids:
                raise IdentityError(f"no hotel with slug {hotel_slug!r}")
            linked = await store.linked_chats(hotel_ids, identity.phones) if identity.phones else ()
            scope = GuestScope.of(identity, hotel_ids, linked)
            # The STOP first: the guest rows that hold it go in `erase_chat_rows`.
            opted = await store.opted_out_chats(scope)
            pairs = {(hotel, c) for hotel, chat in opted for c in {chat, *scope.chats}}
            if pairs:
                result.add({"optout_suppressions": await store.suppress(pairs, now=now)})
            # Alerts before messages: they are found through the guest's message rows.
            result.add(await store.erase_staff_alerts(scope))
            result.add(await store.erase_messages(scope))
            result.add(await store.erase_outbox(scope))
            result.add(await store.erase_chat_rows(scope))
            result.add(await store.erase_notifications(scope))
            result.add(await store.erase_dead_letters(scope))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    result.changed = {k: v for k, v in result.changed.items() if v}
    return result
