"""Answers from the hotel's facts: a processor message hook.

For each incoming guest message, inside the processor's transaction (no network I/O):
when the hotel's facts are on (`mode = "rules"`), the message is an information question
about exactly one topic the hotel has a fact for (domain.facts.match_question), it needs no
staff (the sentiment stage's verdict: never a complaint or a request), the guest has not
opted out, it is not STOP/START, and no keyword trigger of the hotel answers it already,
the fact's text is queued in the outbox (lane "requested": sent at once, quiet hours do not
apply to an answer the guest is waiting for). Language: the question's, else the guest's,
else the hotel's default, whichever the fact has a text in first.

Exactly once: the outbox key is "answer:<chat>:<idMessage>", inserted with ON CONFLICT DO
NOTHING, so a replayed notification or a crash and restart of the processor never answers
twice. Anything not answered is simply left to staff, as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.facts import FactsMode, match_question, question_language
from hotelbot.domain.outbox import OutboxKind
from hotelbot.domain.triggers import EventKind, EventTrigger, keyword_matches
from hotelbot.storage.facts import current_facts
from hotelbot.storage.hotels import get_hotel_by_id
from hotelbot.storage.outbox import enqueue
from hotelbot.storage.triggers import list_triggers
from hotelbot.storage.understanding import GuestMessageInfo


def answer_key(chat_id: str, id_message: str) -> str:
    """The outbox idempotency key of the answer to one guest message."""
    return f"answer:{chat_id}:{id_message}"


async def answer_from_facts(conn: AsyncConnection, info: GuestMessageInfo) -> str | None:
    """Queue the answer to `info` when the rules in the module docstring allow it; returns
    the topic answered (None: left to staff). Idempotent; call it in the processor's
    transaction."""
    if info.keyword is not None or info.needs_staff or info.opted_out or not info.text:
        return None
    topic = match_question(info.text)
    if topic is None:
        return None
    facts = await current_facts(conn, info.hotel_id)
    if facts is None or facts.facts.mode is FactsMode.OFF:
        return None
    hotel = await get_hotel_by_id(conn, info.hotel_id)
    if hotel is None or not hotel.enabled:
        return None
    languages = tuple(
        code
        for code in (question_language(info.text), info.language, hotel.default_language)
        if code
    )
    answer = facts.facts.answer(topic, languages)
    if answer is None:
        return None  # the hotel has no text for this topic: staff answer it
    for trigger in await list_triggers(conn, hotel_id=info.hotel_id, enabled_only=True):
        spec = trigger.spec
        if (
            isinstance(spec, EventTrigger)
            and spec.event is EventKind.KEYWORD
            and keyword_matches(spec, info.text)
        ):
            return None  # the hotel's own keyword answer goes out instead: never both
    await enqueue(
        conn,
        hotel_id=info.hotel_id,
        idempotency_key=answer_key(info.chat_id, info.id_message),
        kind=OutboxKind.ANSWER,
        chat_id=info.chat_id,
        text=answer[1],
    )
    return topic.value


def facts_hook() -> Callable[[AsyncConnection, GuestMessageInfo], Awaitable[None]]:
    """The processor hook (`Processor.add_message_hook(facts_hook())`)."""

    async def hook(conn: AsyncConnection, info: GuestMessageInfo) -> None:
        await answer_from_facts(conn, info)

    return hook
