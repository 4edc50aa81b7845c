"""Answers from the hotel's facts: a processor message hook.

For each incoming guest message, inside the processor's transaction (no network I/O):
when the hotel's facts are on (`mode = "rules"`), the message is an information question
about topics the hotel has a fact for (domain.facts.match_questions: one topic, or one per
asking clause, "wifi password? and breakfast time?"), it needs no
staff (the sentiment stage's verdict: never a complaint or a request), the guest has not
opted out, it is not STOP/START, and no keyword trigger of the hotel answers it already,
the fact's text is queued in the outbox (lane "requested": sent at once, quiet hours do not
apply to an answer the guest is waiting for). Language: the question's, else the guest's,
else the hotel's default, whichever the fact has a text in first. Several topics: one message
with their texts one after the other, and only when the hotel has a text for every one of
them (else staff answer it all).

Exactly once: the outbox key is "answer:<chat>:<idMessage>", inserted with ON CONFLICT DO
NOTHING, so a replayed notification or a crash and restart of the processor never answers
twice. Anything not answered is simply left to staff, as before.

With `mode = "llm"` and an LLM configured, `LlmFactAnswerer` looks, every few seconds,
at recent guest questions the rules did not answer (analysed, not for staff, no answer
yet): it asks the LLM outside any transaction, with the hotel's facts as data, and queues
the reply under the same key only when the model gave an answer, named the fact it used,
did not ask for staff, and every value it quotes (times, prices, passwords, links:
domain.grounding) is in that fact.
Otherwise the question stays with staff. A restart may ask the LLM again about a recent
question; the key still lets at most one answer out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from loguru import logger

from hotelbot.app.understand import GuestMessageInfo
from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.crashpoints import crash_point
from hotelbot.domain.facts import (
    FactsMode,
    HotelFacts,
    Topic,
    has_problem_sign,
    looks_like_question,
    match_questions,
    question_language,
)
from hotelbot.domain.grounding import ungrounded_values
from hotelbot.domain.outbox import OutboxKind
from hotelbot.domain.triggers import EventKind, EventTrigger, keyword_matches
from hotelbot.storage.db import Connection
from hotelbot.storage.facts import current_facts
from hotelbot.storage.guest_facts import load_guest_facts
from hotelbot.storage.hotels import get_hotel_by_id, list_hotels
from hotelbot.storage.leases import LeaseView
from hotelbot.storage.outbox import enqueue, queued_keys
from hotelbot.storage.recent_messages import recent_questions
from hotelbot.storage.triggers import list_triggers
from hotelbot.storage.types import utcnow
from hotelbot.storage.understanding import MessageHook
from hotelbot.storage.unit_of_work import SqlUnitsOfWork

if TYPE_CHECKING:
    from hotelbot.sentiment.facts_llm import LlmFactReply
    from hotelbot.storage.db import Database


def answer_key(chat_id: str, id_message: str) -> str:
    """The outbox idempotency key of the answer to one guest message."""
    return f"answer:{chat_id}:{id_message}"


async def answer_from_facts(conn: Connection, info: GuestMessageInfo) -> str | None:
    """Queue the answer to `info` when the rules in the module docstring allow it; returns
    the topics answered, joined by "+" (None: left to staff). Idempotent; call it in the
    processor's transaction."""
    if info.keyword is not None or info.needs_staff or info.opted_out or not info.text:
        return None
    topics = match_questions(info.text)
    if not topics:
        return None
    facts = await current_facts(conn, info.hotel_id)
    if facts is None or facts.facts.mode is FactsMode.OFF:
        return None
    if await _staff_on_it(conn, info.hotel_id, info.chat_id, info.sent_at):
        return None  # staff are talking to this guest: a bot answer would cut in
    hotel = await get_hotel_by_id(conn, info.hotel_id)
    if hotel is None or not hotel.enabled:
        return None
    languages = tuple(
        code
        for code in (question_language(info.text), info.language, hotel.default_language)
        if code
    )
    answers = [facts.facts.answer(topic, languages) for topic in topics]
    texts = [answer[1] for answer in answers if answer is not None]
    if len(texts) != len(topics):
        return None  # the hotel has no text for a topic asked about: staff answer it
    if await _keyword_trigger_answers(conn, info.hotel_id, info.text):
        return None  # the hotel's own keyword answer goes out instead: never both
    key = answer_key(info.chat_id, info.id_message)
    await enqueue(
        conn,
        hotel_id=info.hotel_id,
        idempotency_key=key,
        kind=OutboxKind.ANSWER,
        chat_id=info.chat_id,
        text="\n\n".join(texts),
    )
    for topic in topics:
        file = facts.facts.files.get(topic)
        if file is None:
            continue
        # the menu, the map: its own row right after the answer (one topic: key ":file")
        file_key = key + (":file" if len(topics) == 1 else f":file:{topic.value}")
        await enqueue(
            conn,
            hotel_id=info.hotel_id,
            idempotency_key=file_key,
            kind=OutboxKind.ANSWER,
            chat_id=info.chat_id,
            text="",
            file_url=file.url,
            file_name=file.file_name,
        )
    return "+".join(topic.value for topic in topics)


def facts_hook() -> MessageHook:
    """The processor hook (`Processor.add_message_hook(facts_hook())`)."""

    async def hook(conn: Connection, info: GuestMessageInfo) -> None:
        await answer_from_facts(conn, info)

    return hook


async def _staff_on_it(conn: Connection, hotel_id: int, chat_id: str, at: datetime) -> bool:
    """Whether staff handle this conversation at `at` (a staff reply or `conversations
    handled` paused automated messages until a later time)."""
    facts = (await load_guest_facts(conn, hotel_id, [chat_id])).get(chat_id)
    paused = None if facts is None else facts.staff_paused_until
    return paused is not None and paused > at


async def _keyword_trigger_answers(conn: Connection, hotel_id: int, text: str) -> bool:
    for trigger in await list_triggers(conn, hotel_id=hotel_id, enabled_only=True):
        spec = trigger.spec
        if (
            isinstance(spec, EventTrigger)
            and spec.event is EventKind.KEYWORD
            and keyword_matches(spec, text)
        ):
            return True
    return False


class FactsAsker(Protocol):
    """What `LlmFactAnswerer` needs of the LLM (sentiment.facts_llm.FactsLlm)."""

    async def ask(
        self, question: str, facts: Mapping[str, str], language: str
    ) -> LlmFactReply | None: ...


_TEXT_KINDS = ("text", "extended_text", "quoted")


def _facts_for(facts: HotelFacts, languages: tuple[str, ...]) -> dict[str, str]:
    """One text per topic, in the first of `languages` the topic has (the model sees the
    hotel's own words; the grounding check compares against every language)."""
    chosen: dict[str, str] = {}
    for topic in facts.answers:
        found = facts.answer(topic, languages) or next(iter(facts.answers[topic].items()), None)
        if found is not None:
            chosen[topic.value] = found[1]
    return chosen


class LlmFactAnswerer:
    """Answers, with the LLM, recent questions the rules left (rules in the module
    docstring). `run_once()` is one pass (tests); `start()`/`stop()` run it every `poll_s`."""

    def __init__(
        self,
        db: Database,
        llm: FactsAsker,
        *,
        clock: Callable[[], datetime] = utcnow,
        window_s: float = 600.0,
        poll_s: float = 2.0,
        hotel_ids: Callable[[], list[int]] | None = None,
        lease: LeaseView | None = None,
    ) -> None:
        self._db = db
        self._units = SqlUnitsOfWork(db, lease)  # fenced: a stale daemon queues no answer
        self._llm = llm
        self._clock = clock
        self._window = timedelta(seconds=window_s)
        self._poll_s = poll_s
        self._hotel_ids = hotel_ids
        # (hotel, chat, idMessage) -> when asked; forgotten once outside the window
        self._asked: dict[tuple[int, str, str], datetime] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> Counter[str]:
        """One pass: "answered", "left_to_staff", "discarded_ungrounded" per question."""
        now = self._clock()
        report: Counter[str] = Counter()
        self._asked = {k: at for k, at in self._asked.items() if at >= now - self._window}
        wanted = None if self._hotel_ids is None else set(self._hotel_ids())
        async with self._db.read() as conn:
            hotels = [
                h
                for h in await list_hotels(conn, enabled_only=True)
                if wanted is None or h.id in wanted
            ]
            work: list[tuple[int, str, HotelFacts, list[tuple[str, str, str, str | None]]]] = []
            for hotel in hotels:
                current = await current_facts(conn, hotel.id)
                if current is None or current.facts.mode is not FactsMode.LLM:
                    continue
                questions = await recent_questions(
                    conn, hotel_id=hotel.id, kinds=_TEXT_KINDS, since=now - self._window
                )
                fresh = [
                    (q.chat_id, q.id_message, q.text, q.language)
                    for q in questions
                    if (hotel.id, q.chat_id, q.id_message) not in self._asked
                ]
                if fresh:
                    work.append((hotel.id, hotel.default_language, current.facts, fresh))
            for hotel_id, _, _, fresh in work:
                keys = [answer_key(chat, id_message) for chat, id_message, _, _ in fresh]
                answered = await queued_keys(conn, hotel_id=hotel_id, keys=keys)
                guests = await load_guest_facts(conn, hotel_id, [c for c, _, _, _ in fresh])
                fresh[:] = [
                    item
                    for item in fresh
                    if answer_key(item[0], item[1]) not in answered
                    and not (guests.get(item[0]) and guests[item[0]].opted_out)
                    and not await _staff_on_it(conn, hotel_id, item[0], now)
                    and not await _keyword_trigger_answers(conn, hotel_id, item[2])
                ]
        for hotel_id, default_language, facts, fresh in work:
            for chat_id, id_message, text, language in fresh:
                self._asked[(hotel_id, chat_id, id_message)] = now
                if not looks_like_question(text) or has_problem_sign(text):
                    continue  # not a question for the facts: staff as usual, no LLM call
                report[
                    await self._answer(
                        hotel_id, chat_id, id_message, text, language, default_language, facts
                    )
                ] += 1
        return report

    async def _answer(
        self,
        hotel_id: int,
        chat_id: str,
        id_message: str,
        text: str,
        language: str | None,
        default_language: str,
        facts: HotelFacts,
    ) -> str:
        asked_in = language if language and language != "und" else question_language(text)
        languages = (asked_in, default_language)
        reply = await self._llm.ask(text, _facts_for(facts, languages), asked_in)
        if reply is None or reply.needs_staff or reply.answer is None:
            return "left_to_staff"
        try:
            topic = Topic(reply.topic or "")
        except ValueError:
            topic = None
        if topic is None or topic not in facts.answers:
            return "discarded_ungrounded"  # it cannot say which fact it used: not grounded
        # Values are checked against the one topic the model says it used, in every
        # language: "breakfast until 11:00" fails even when 11:00 is the check-out time.
        missing = ungrounded_values(reply.answer, facts.answers[topic].values())
        if missing:
            # The model quoted something the hotel never wrote (a wrong password, a made-up
            # price): staff answer. Values only at DEBUG: they may echo guest text.
            logger.bind(hotel_id=hotel_id).info(
                "LLM fact answer discarded: {} value(s) not in the facts", len(missing)
            )
            logger.debug("ungrounded values: {}", missing)
            return "discarded_ungrounded"
        try:
            async with self._units.begin({hotel_id}) as uow:
                await uow.outbox.enqueue(
                    hotel_id=hotel_id,
                    idempotency_key=answer_key(chat_id, id_message),
                    kind=OutboxKind.ANSWER,
                    chat_id=chat_id,
                    text=reply.answer,
                )
                crash_point("llm_fact_answer_before_commit")  # fault tests: rolled back
        except LeaseLost:
            return "left_to_owner"  # the hotel's new owner asks again
        crash_point("llm_fact_answer_after_commit")  # queued; a restart asks again, key holds
        return "answered"

    def start(self) -> None:
        """Stand-alone use: `run()` as a task of this object (the daemon owns it instead)."""
        self._task = asyncio.create_task(self.run(), name="llm-fact-answers")

    async def run(self) -> None:
        """Pass after pass until `stop()`; database and LLM errors are logged and retried at
        the next pass."""
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # database briefly unavailable: next round
                logger.warning("LLM fact answers failed: {}", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._poll_s)

    async def stop(self) -> None:
        """Stop after the pass in progress (an LLM call may be cut short). Idempotent."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10.0)
            self._task = None
