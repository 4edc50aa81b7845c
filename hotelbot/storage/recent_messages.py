"""A hotel's recent guest messages, read again by the runtime after the processor stored
them: a chat's earlier messages for the unreadable review (`earlier_guest_messages`,
daemon/unreadable.py) and the questions the LLM fact answerer looks at (`recent_questions`,
daemon/fact_answers.py). Read-only."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.models_messaging import Message


async def earlier_guest_messages(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    chat_id: str,
    since: datetime,
    before: datetime,
    excluding: str,
) -> dict[str, datetime]:
    """The chat's messages from the guest sent in [since, before), other than the one with
    idMessage `excluding`: idMessage -> sent at."""
    query = select(Message.id_message, Message.sent_at).where(
        Message.hotel_id == hotel_id,
        Message.chat_id == chat_id,
        Message.direction == "in",
        Message.sent_at >= since,
        Message.sent_at < before,
        Message.id_message != excluding,
    )
    return {str(r[0]): r[1] for r in await conn.execute(query)}


@dataclass(frozen=True, slots=True)
class GuestQuestion:
    """A guest's text message that may be a question for the hotel's facts."""

    chat_id: str
    id_message: str
    text: str
    language: str | None  # as the processor detected it (None: not known)


async def recent_questions(
    conn: AsyncConnection, *, hotel_id: int, kinds: Collection[str], since: datetime
) -> list[GuestQuestion]:
    """The hotel's messages from guests of one of `kinds`, with text, sent at or after
    `since`, that the processor analysed and found not to need staff; in the order they were
    stored."""
    rows = await conn.execute(
        select(Message.chat_id, Message.id_message, Message.text, Message.language)
        .where(
            Message.hotel_id == hotel_id,
            Message.direction == "in",
            Message.kind.in_(kinds),
            Message.text.is_not(None),
            Message.analysed_at.is_not(None),
            Message.requires_attention.is_(False),
            Message.sent_at >= since,
        )
        .order_by(Message.id)
    )
    return [GuestQuestion(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]


@dataclass(frozen=True, slots=True)
class AnalysedMessage:
    """A guest's message with the analysis the processor stored (`analyser`: who answered,
    "rules", "llm", "signal"...)."""

    id: int
    hotel_id: int
    sentiment: str
    requires_attention: bool
    analyser: str | None
    reason: str | None


async def analysed_guest_messages(conn: AsyncConnection) -> list[AnalysedMessage]:
    """Every message from a guest (direction "in") of every hotel that has a sentiment, in
    the order they were stored. Read-only; raises what the driver raises."""
    query = (
        select(
            Message.id,
            Message.hotel_id,
            Message.sentiment,
            Message.requires_attention,
            Message.analyser,
            Message.reason,
        )
        .where(Message.sentiment.is_not(None), Message.direction == "in")
        .order_by(Message.id)
    )
    return [
        AnalysedMessage(int(r[0]), int(r[1]), str(r[2]), bool(r[3]), r[4], r[5])
        for r in await conn.execute(query)
    ]
