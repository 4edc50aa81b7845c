"""Guest signals in the processing transaction: who may raise an alert, what the digest counts.

Both run on the caller's connection and only read; see domain/signals.py for the rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.events import Event, IncomingMessage, MessageKind
from hotelbot.domain.sentiment import Verdict
from hotelbot.domain.signals import (
    ANALYSER,
    SignalKind,
    SignalMode,
    kind_of_reason,
    without_attention,
)
from hotelbot.storage.models_messaging import Guest, Message
from hotelbot.storage.stays import StayRecord, current_stay


class SignalWork(Protocol):
    """What these functions read and change of a processor work item."""

    hotel_id: int
    received_at: datetime
    event: Event | None
    signal: SignalKind | None
    verdict: Verdict | None


async def withdraw_without_stay(conn: AsyncConnection, works: Sequence[SignalWork]) -> None:
    """Signals that would alert, from someone without a current stay, alert nobody: their
    verdict stops requiring attention (the message is still stored). A missed call carries
    no name: from a guest we know only by the booking it takes the stay's guest name, so
    staff read "Anna (+371...), room 101" rather than a bare number. One stay lookup per
    chat and batch; only reads; may run twice (a replay decides the same)."""
    stays: dict[tuple[int, str], StayRecord | None] = {}
    named: set[tuple[int, str]] = set()  # chats whose guest gave a name earlier in the batch
    for work in works:
        event, verdict = work.event, work.verdict
        if isinstance(event, IncomingMessage) and (event.sender_name or event.contact_name):
            named.add((work.hotel_id, event.chat_id))
        if work.signal is None or verdict is None or not verdict.requires_attention:
            continue
        if not isinstance(event, IncomingMessage):
            continue
        key = (work.hotel_id, event.chat_id)
        if key not in stays:
            at = event.timestamp or work.received_at
            stays[key] = await current_stay(conn, work.hotel_id, event.chat_id, at)
        stay = stays[key]
        if stay is None:
            work.verdict = without_attention(verdict)
        elif (
            event.kind is MessageKind.CALL
            and key not in named
            and not await _known_name(conn, work.hotel_id, event.chat_id)
        ):
            work.event = replace(event, sender_name=stay.guest_name)


async def _known_name(conn: AsyncConnection, hotel_id: int, chat_id: str) -> bool:
    query = select(Guest.name).where(Guest.hotel_id == hotel_id, Guest.chat_id == chat_id)
    return bool((await conn.execute(query)).scalar())


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
