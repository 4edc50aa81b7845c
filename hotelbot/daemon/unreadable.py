"""Gives `domain.unreadable.review_unreadable` what it needs inside the processor.

`UnreadableReview.review(work, verdict, text)` is the one call the processor makes after a
verdict: for text the rules answered alone in a language they do not read, it looks at the
chat's recent guest messages (those seen in this process, and when the text itself shows no
sign of trouble, those stored in the last 15 minutes) and returns the verdict to store. For
every other message it returns the verdict unchanged without I/O.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict, deque
from datetime import datetime
from typing import TYPE_CHECKING

from hotelbot.domain.events import IncomingMessage
from hotelbot.domain.sentiment import Verdict
from hotelbot.domain.unreadable import (
    REPEAT_COUNT,
    REPEAT_WINDOW,
    review_unreadable,
    rules_languages,
    trouble_signs,
    unreadable_language,
)
from hotelbot.storage.recent_messages import earlier_guest_messages

if TYPE_CHECKING:
    from hotelbot.app.understand import Work
    from hotelbot.storage.db import Database

_REMEMBERED_CHATS = 10_000


class UnreadableReview:
    """See the module docstring. Not shared between processes; safe to call concurrently."""

    def __init__(self, db: Database, covered: frozenset[str] | None = None) -> None:
        self._db = db
        self._covered = rules_languages() if covered is None else covered
        # (hotel, chat) -> (id_message, sent_at) of the latest guest messages analysed here.
        self._recent: OrderedDict[tuple[int, str], deque[tuple[str, datetime]]] = OrderedDict()

    @property
    def covered(self) -> frozenset[str]:
        return self._covered

    def _remember(self, key: tuple[int, str], id_message: str, sent_at: datetime) -> None:
        seen = self._recent.pop(key, None) or deque(maxlen=REPEAT_COUNT * 2)
        if all(known != id_message for known, _ in seen):
            seen.append((id_message, sent_at))
        self._recent[key] = seen
        while len(self._recent) > _REMEMBERED_CHATS:
            self._recent.popitem(last=False)

    async def review(self, work: Work, verdict: Verdict, text: str) -> Verdict:
        """The verdict to store for `work`'s message (see review_unreadable). Reads the
        database only for unreadable text without a sign of trouble of its own; a database
        error there keeps the verdict as it is (the alert decision must not fail the item)."""
        event = work.event
        if not isinstance(event, IncomingMessage):
            return verdict
        sent_at = event.timestamp or work.received_at
        key = (work.hotel_id, event.chat_id)
        self._remember(key, event.id_message, sent_at)
        if unreadable_language(verdict, text, self._covered) is None:
            return verdict
        earlier = {i: t for i, t in self._recent.get(key, ()) if i != event.id_message}
        if not trouble_signs(text, sent_at=sent_at, earlier=earlier.values()):
            # The database briefly unavailable: judge without the stored messages.
            with contextlib.suppress(Exception):
                earlier.update(await self._stored(key, event.id_message, sent_at))
        return review_unreadable(
            verdict, text, covered=self._covered, sent_at=sent_at, earlier=earlier.values()
        )

    async def _stored(
        self, key: tuple[int, str], id_message: str, sent_at: datetime
    ) -> dict[str, datetime]:
        async with self._db.read() as conn:
            return await earlier_guest_messages(
                conn,
                hotel_id=key[0],
                chat_id=key[1],
                since=sent_at - REPEAT_WINDOW,
                before=sent_at,
                excluding=id_message,
            )
