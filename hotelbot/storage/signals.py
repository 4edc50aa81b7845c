"""Guest signals in the processing transaction: who may raise an alert, what the digest counts.

Both run on the caller's connection and only read; see domain/signals.py for the rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.events import Event, IncomingMessage
from hotelbot.domain.sentiment import Verdict
from hotelbot.domain.signals import (
    ANALYSER,
    SignalKind,
    SignalMode,
    kind_of_reason,
    without_attention,
)
from hotelbot.storage.models_messaging import Message
from hotelbot.storage.stays import current_stay

# The digest of an alert counts the guest's signals since the conversation's previous alert,
# but not further back than this: a photo from last week is no news.
DIGEST_WINDOW = timedelta(days=1)


class SignalWork(Protocol):
    """What these functions read and change of a processor work item."""

    hotel_id: int
    received_at: datetime
    event: Event | None
    signal: SignalKind | None
    verdict: Verdict | None


async def withdraw_without_stay(conn: AsyncConnection, works: Sequence[SignalWork]) -> None:
    """Signals that would alert, from someone without a current stay, alert nobody: their
    verdict stops requiring attention (the message is still stored). One stay lookup per
    chat and batch; read-only; may run twice (a replay decides the same)."""
    staying: dict[tuple[int, str], bool] = {}
    for work in works:
        event, verdict = work.event, work.verdict
        if work.signal is None or verdict is None or not verdict.requires_attention:
            continue
        if not isinstance(event, IncomingMessage):
            continue
        key = (work.hotel_id, event.chat_id)
        if key not in staying:
            at = event.timestamp or work.received_at
            staying[key] = await current_stay(conn, work.hotel_id, event.chat_id, at) is not None
        if not staying[key]:
            work.verdict = without_attention(verdict)


def digest_since(last_alert_at: datetime | None, now: datetime) -> datetime:
    """Where the digest of an alert sent at `now` starts counting."""
    floor = now - DIGEST_WINDOW
    return floor if last_alert_at is None else max(last_alert_at, floor)


async def digest_counts(
    conn: AsyncConnection,
    conversation_id: int,
    since: datetime,
    modes: Mapping[SignalKind, SignalMode],
) -> dict[SignalKind, int]:
    """Per kind in DIGEST mode: the guest's signals in this conversation sent at or after
    `since` that raised no alert of their own. Read-only."""
    query = (
        select(Message.reason, func.count())
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "in",
            Message.analyser == ANALYSER,
            Message.requires_attention.is_(False),
            Message.sent_at >= since,
        )
        .group_by(Message.reason)
    )
    counts: dict[SignalKind, int] = {}
    for reason, count in await conn.execute(query):
        kind = kind_of_reason(reason)
        if kind is not None and modes.get(kind) is SignalMode.DIGEST:
            counts[kind] = counts.get(kind, 0) + int(count)
    return counts
