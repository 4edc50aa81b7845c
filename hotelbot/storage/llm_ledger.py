"""LlmLedger: the database side of the LLM's limits, cache and context (tables llm_usage,
llm_cache, messages). Used by the SentimentStage; every method is one short transaction.

Increments are `INSERT ... ON CONFLICT DO UPDATE SET n = n + :k`, so concurrent daemons and
a restart never lose or reset a count. They count what was spent: a message analysed twice
(at-least-once processing) cost two calls and is counted twice, which is what a budget is for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.llm_context import (
    MAX_CONTEXT_CHARS,
    MAX_CONTEXT_MESSAGES,
    ContextLine,
    MessageContext,
    MessageRef,
    Speaker,
    age_label,
)
from hotelbot.domain.llm_limits import LimitDecision, LlmLimits, UsageToday, budget_decision
from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.storage.db import Database
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models import Hotel
from hotelbot.storage.models_llm import LlmCacheRow, LlmUsageRow
from hotelbot.storage.models_messaging import Guest, Message


@dataclass(frozen=True, slots=True)
class _HotelInfo:
    slug: str
    default_language: str


class LlmLedger:
    """`limits_by_slug` overrides `default_limits` for the hotels it names."""

    def __init__(
        self,
        db: Database,
        default_limits: LlmLimits,
        limits_by_slug: Mapping[str, LlmLimits] | None = None,
    ) -> None:
        self._db = db
        self._default = default_limits
        self._by_slug = dict(limits_by_slug or {})
        self._hotels: dict[int, _HotelInfo] = {}
        self._purged: dict[int, date] = {}  # hotel -> day whose older cache rows are gone

    async def _hotel(self, hotel_id: int) -> _HotelInfo:
        info = self._hotels.get(hotel_id)
        if info is None:
            async with self._db.read() as conn:
                row = (
                    await conn.execute(
                        select(Hotel.slug, Hotel.default_language).where(Hotel.id == hotel_id)
                    )
                ).first()
            info = _HotelInfo(row[0], row[1]) if row else _HotelInfo("", "en")
            self._hotels[hotel_id] = info
        return info

    async def limits_for(self, hotel_id: int) -> LlmLimits:
        """The hotel's limits (its override by slug, else the defaults)."""
        return self._by_slug.get((await self._hotel(hotel_id)).slug, self._default)

    async def usage(self, hotel_id: int, day: date) -> UsageToday:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(
                        LlmUsageRow.calls, LlmUsageRow.prompt_tokens, LlmUsageRow.completion_tokens
                    ).where(LlmUsageRow.hotel_id == hotel_id, LlmUsageRow.day == day.isoformat())
                )
            ).first()
        return UsageToday(int(row[0]), int(row[1]), int(row[2])) if row else UsageToday()

    async def add(
        self,
        hotel_id: int,
        day: date,
        *,
        calls: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cache_hits: int = 0,
        limited: int = 0,
    ) -> None:
        """Add to the hotel's counters of `day` (creates the row). Not idempotent by design:
        each call of this method is one event that happened."""
        async with self._db.write() as conn:
            await _add(conn, hotel_id, day, calls=calls, prompt_tokens=prompt_tokens,
                       completion_tokens=completion_tokens, cache_hits=cache_hits,
                       limited=limited)  # fmt: skip

    async def record_call(
        self,
        hotel_id: int,
        day: date,
        *,
        key: str,
        verdict: Verdict,
        extra_calls: int,
        prompt_tokens: int,
        completion_tokens: int,
        now: datetime,
    ) -> None:
        """After a call: its tokens (and any call beyond the reserved one) and the verdict
        for the cache, in one transaction (fewer writes queue beside the processor's on
        SQLite). The cache insert is idempotent (the first stored verdict wins)."""
        async with self._db.write() as conn:
            await _add(conn, hotel_id, day, calls=extra_calls, prompt_tokens=prompt_tokens,
                       completion_tokens=completion_tokens)  # fmt: skip
            await _remember(conn, key, hotel_id, day, verdict, now)
            if self._purged.get(hotel_id) != day:
                # yesterday's entries can never match again (the key's day differs)
                await conn.execute(
                    delete(LlmCacheRow).where(
                        LlmCacheRow.hotel_id == hotel_id, LlmCacheRow.day < day.isoformat()
                    )
                )
                self._purged[hotel_id] = day

    async def reserve_call(self, hotel_id: int, day: date, limits: LlmLimits) -> LimitDecision:
        """Count one call against the hotel's daily budget before it is made, atomically:
        one `INSERT (calls=1) ON CONFLICT DO UPDATE SET calls = calls + 1 WHERE <under the
        budget>`, so concurrent analyses (and daemons) cannot overshoot the call budget.
        ALLOWED when counted, else why not (domain.llm_limits.budget_decision on the stored
        usage). The token budget is checked on the tokens counted so far (a call's tokens
        are known only after it). One statement in one transaction."""
        t = LlmUsageRow.__table__.c
        guard = []
        if limits.daily_calls is not None:
            guard.append(t.calls < limits.daily_calls)
        if limits.daily_tokens is not None:
            guard.append(t.prompt_tokens + t.completion_tokens < limits.daily_tokens)
        async with self._db.write() as conn:
            stmt = insert_for(conn, LlmUsageRow).values(
                hotel_id=hotel_id, day=day.isoformat(), calls=1, prompt_tokens=0,
                completion_tokens=0, cache_hits=0, limited=0,
            )  # fmt: skip
            result = await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.hotel_id, t.day],
                    set_={"calls": t.calls + 1},
                    where=and_(*guard) if guard else None,
                )
            )
        if result.rowcount == 1:
            return LimitDecision.ALLOWED
        decision = budget_decision(limits, await self.usage(hotel_id, day))
        return decision if decision.over_budget else LimitDecision.DAILY_CALLS

    async def first_over_budget(self, hotel_id: int, day: date) -> bool:
        """True exactly once per hotel and day (across restarts and daemons): the caller
        logs "budget reached" then. Flips `over_budget_logged` with a guarded UPDATE."""
        async with self._db.write() as conn:
            await _add(conn, hotel_id, day)
            result = await conn.execute(
                update(LlmUsageRow)
                .where(
                    LlmUsageRow.hotel_id == hotel_id,
                    LlmUsageRow.day == day.isoformat(),
                    LlmUsageRow.over_budget_logged.is_(False),
                )
                .values(over_budget_logged=True)
            )
        return bool(result.rowcount == 1)

    async def cached(self, key: str, day: date) -> Verdict | None:
        """The LLM verdict stored under `key` today, or None."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(LlmCacheRow.verdict).where(
                        LlmCacheRow.key == key, LlmCacheRow.day == day.isoformat()
                    )
                )
            ).first()
        return _verdict_from_json(row[0]) if row else None

    async def context(self, ref: MessageRef, reply_language: str) -> MessageContext:
        """Up to MAX_CONTEXT_MESSAGES messages of the chat before `ref` (text only, deleted
        ones left out), oldest first, and whether staff wrote after the guest's last one."""
        m = Message
        query = (
            select(m.direction, m.from_staff, m.from_api, m.text, m.sent_at)
            .where(
                m.hotel_id == ref.hotel_id,
                m.chat_id == ref.chat_id,
                m.sent_at <= ref.sent_at,
                m.text.is_not(None),
                m.deleted.is_(False),
                m.kind.in_(("text", "extended_text", "quoted")),
            )
            .order_by(m.sent_at.desc(), m.id.desc())
            .limit(MAX_CONTEXT_MESSAGES + 1)
        )
        if ref.id_message is not None:
            query = query.where(m.id_message != ref.id_message)
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
        rows = rows[:MAX_CONTEXT_MESSAGES]
        rows.reverse()
        lines: list[ContextLine] = []
        staff_answered = False
        for direction, from_staff, from_api, text, sent_at in rows:
            if direction == "in":
                speaker = Speaker.GUEST
                staff_answered = False
            else:
                speaker = Speaker.BOT if from_api and not from_staff else Speaker.STAFF
                staff_answered = staff_answered or speaker is Speaker.STAFF
            age_s = (ref.sent_at - sent_at).total_seconds()
            lines.append(ContextLine(speaker, str(text)[:MAX_CONTEXT_CHARS], age_label(age_s)))
        return MessageContext(tuple(lines), staff_answered, reply_language)

    async def reply_language(self, hotel_id: int, chat_id: str, detected: str) -> str:
        """The language to write the reason in: the guest's (guests.language, set by
        detection over two messages or by an operator), else this message's detected
        language, else the hotel's default."""
        async with self._db.read() as conn:
            stored = (
                await conn.execute(
                    select(Guest.language).where(
                        Guest.hotel_id == hotel_id, Guest.chat_id == chat_id
                    )
                )
            ).scalar()
        if stored:
            return str(stored)
        if detected and detected != "und":
            return detected
        return (await self._hotel(hotel_id)).default_language or "en"


async def _add(
    conn: AsyncConnection,
    hotel_id: int,
    day: date,
    *,
    calls: int = 0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cache_hits: int = 0,
    limited: int = 0,
) -> None:
    stmt = insert_for(conn, LlmUsageRow).values(
        hotel_id=hotel_id,
        day=day.isoformat(),
        calls=calls,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cache_hits=cache_hits,
        limited=limited,
    )
    t = LlmUsageRow.__table__.c
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.hotel_id, t.day],
            set_={
                "calls": t.calls + calls,
                "prompt_tokens": t.prompt_tokens + prompt_tokens,
                "completion_tokens": t.completion_tokens + completion_tokens,
                "cache_hits": t.cache_hits + cache_hits,
                "limited": t.limited + limited,
            },
        )
    )


async def _remember(
    conn: AsyncConnection, key: str, hotel_id: int, day: date, verdict: Verdict, now: datetime
) -> None:
    stmt = insert_for(conn, LlmCacheRow).values(
        key=key,
        hotel_id=hotel_id,
        day=day.isoformat(),
        verdict=json.dumps(verdict.as_dict(), ensure_ascii=False),
        created_at=now,
    )
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


def _verdict_from_json(body: str) -> Verdict | None:
    try:
        data = json.loads(body)
        category = data.get("category")
        return Verdict(
            sentiment=Sentiment(data["sentiment"]),
            score=float(data["score"]),
            requires_attention=bool(data["requires_attention"]),
            reason=str(data["reason"]),
            language=str(data["language"]),
            analyser=str(data["analyser"]),
            categories=tuple(str(c) for c in data.get("categories", ())),
            category=AttentionCategory(category) if category else None,
        )
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable entry is a miss, never an error
