"""The guest facts the send policy and the scheduler need that other parts of hotelbot own.

* opted out: the guest sent STOP (and not START since), also when the guest was forgotten
  since (the suppression list, storage/suppression.py);
* staff pause: staff answered the guest recently, so automated messages hold off until then;
* the guest's language (guests.language / language_source / language_candidate, kept by the
  processor from what the guest writes, or set by the operator): what messages are written in.

Both are recorded by the message processor (guests.opted_out and
conversations.handled_by_staff_until, branch `understanding`). This module is the single
seam: `load_guest_facts` is the function the scheduler and the sender call. It reads those
tables through lightweight table constructs, so this branch does not import their models.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    String,
    column,
    inspect,
    or_,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.guest_language import GuestLanguage
from hotelbot.storage.suppression import suppressed
from hotelbot.storage.types import UtcDateTime


@dataclass(frozen=True, slots=True)
class GuestPolicyFacts:
    opted_out: bool = False
    staff_paused_until: datetime | None = None
    # The guest's own language (domain.guest_language): what messages to them are written in.
    language: GuestLanguage = field(default_factory=GuestLanguage)


NO_FACTS = GuestPolicyFacts()

GuestFactsSource = Callable[
    [AsyncConnection, int, Sequence[str]], Awaitable[Mapping[str, GuestPolicyFacts]]
]
"""(connection, hotel id, chat ids) -> facts per chat id; chats not in the result have
NO_FACTS. Called inside the caller's transaction; must not do network I/O."""


_GUESTS = table(
    "guests",
    column("hotel_id", BigInteger()),
    column("chat_id", String()),
    column("opted_out", Boolean()),
    column("language", String()),
    column("language_source", String()),
    column("language_candidate", String()),
)
_CONVERSATIONS = table(
    "conversations",
    column("hotel_id", BigInteger()),
    column("chat_id", String()),
    column("handled_by_staff_until", UtcDateTime()),
)


def _present_tables(sync_conn: Connection) -> set[str]:
    inspector = inspect(sync_conn)
    return {name for name in ("guests", "conversations") if inspector.has_table(name)}


async def load_guest_facts(
    conn: AsyncConnection, hotel_id: int, chat_ids: Sequence[str]
) -> Mapping[str, GuestPolicyFacts]:
    """Opt-out and staff-pause facts for these chats, from guests.opted_out and
    conversations.handled_by_staff_until (tables of the `understanding` branch).

    MERGE POINT: until migration 0002_understanding is in the chain those tables may be
    absent; then nobody is opted out or paused. Once merged, the existence check can go.
    Read-only; one or two small queries.
    """
    chats = list(dict.fromkeys(chat_ids))
    if not chats:
        return {}
    present = await conn.run_sync(_present_tables)
    opted_out: set[str] = set()
    paused: dict[str, datetime] = {}
    languages: dict[str, GuestLanguage] = {}
    if "guests" in present:
        rows = await conn.execute(
            select(
                _GUESTS.c.chat_id,
                _GUESTS.c.opted_out,
                _GUESTS.c.language,
                _GUESTS.c.language_source,
                _GUESTS.c.language_candidate,
            ).where(
                _GUESTS.c.hotel_id == hotel_id,
                _GUESTS.c.chat_id.in_(chats),
                or_(_GUESTS.c.opted_out.is_(True), _GUESTS.c.language.is_not(None)),
            )
        )
        for chat, is_out, language, source, candidate in rows:
            if is_out:
                opted_out.add(str(chat))
            if language is not None:
                languages[str(chat)] = GuestLanguage.stored(language, source, candidate)
    # A guest who said STOP and was then forgotten has no guests row any more.
    opted_out |= await suppressed(conn, hotel_id, [c for c in chats if c not in opted_out])
    if "conversations" in present:
        rows = await conn.execute(
            select(_CONVERSATIONS.c.chat_id, _CONVERSATIONS.c.handled_by_staff_until).where(
                _CONVERSATIONS.c.hotel_id == hotel_id,
                _CONVERSATIONS.c.chat_id.in_(chats),
                _CONVERSATIONS.c.handled_by_staff_until.is_not(None),
            )
        )
        paused = {str(r[0]): r[1] for r in rows}
    return {
        chat: GuestPolicyFacts(
            opted_out=chat in opted_out,
            staff_paused_until=paused.get(chat),
            language=languages.get(chat, GuestLanguage()),
        )
        for chat in chats
        if chat in opted_out or chat in paused or chat in languages
    }
