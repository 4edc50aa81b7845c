"""LlmLedger: the database side of the LLM's limits, cache and context (tables llm_usage,
llm_cache, messages). Used by the SentimentStage; every method is one short transaction.

Increments are `INSERT ... ON CONFLICT DO UPDATE SET n = n + :k`, so concurrent daemons and
a restart never lose or reset a count. They count what was spent: a message analysed twice
(at-least-once processing) cost two calls and is counted twice, which is what a budget is for.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
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

FLUSH_EVERY_S = 1.0
MAX_READ_CONNECTIONS = 2


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
        # Write-behind: counters and cache entries wait here up to FLUSH_EVERY_S, then go in
        # one transaction, so a burst of LLM answers does not queue hundreds of small write
        # transactions beside the processor's and the sender's (staff alerts) on SQLite.
        # At most that long of counts is lost by a crash (the call budget itself is counted
        # at once by reserve_call).
        self._pending: dict[tuple[int, date], list[int]] = {}
        self._pending_cache: dict[str, tuple[int, date, Verdict, datetime]] = {}
        self._last_flush_s = time.monotonic()
        # Reads for the LLM (context, cache, language) may take at most this many of the
        # pool's connections: with dozens of analyses in flight they would otherwise queue
        # the processor's and the sender's reads (staff alerts) behind them.
        self._read_slots = asyncio.Semaphore(MAX_READ_CONNECTIONS)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._read_slots, self._db.read() as conn:
            yield conn

    async def _hotel(self, hotel_id: int) -> _HotelInfo:
        info = self._hotels.get(hotel_id)
        if info is None:
            async with self._read() as conn:
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
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(
                        LlmUsageRow.calls, LlmUsageRow.prompt_tokens, LlmUsageRow.completion_tokens
                    ).where(LlmUsageRow.hotel_id == hotel_id, LlmUsageRow.day == day.isoformat())
                )
            ).first()
        stored = (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
        waiting = self._pending.get((hotel_id, day), [0, 0, 0])
        return UsageToday(stored[0] + waiting[0], stored[1] + waiting[1], stored[2] + waiting[2])

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
        """Add to the hotel's counters of `day` (written within FLUSH_EVERY_S, see
        `flush`). Not idempotent by design: each call is one event that happened."""
        self._bump(hotel_id, day, calls, prompt_tokens, completion_tokens, cache_hits, limited)
        await self._maybe_flush()

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
        for the cache (served from memory until written; the insert is idempotent, the
        first stored verdict wins)."""
        self._bump(hotel_id, day, extra_calls, prompt_tokens, completion_tokens, 0, 0)
        self._pending_cache.setdefault(key, (hotel_id, day, verdict, now))
        await self._maybe_flush()

    def _bump(self, hotel_id: int, day: date, *numbers: int) -> None:
        counts = self._pending.setdefault((hotel_id, day), [0, 0, 0, 0, 0])
        for i, n in enumerate(numbers):
            counts[i] += n

    async def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush_s >= FLUSH_EVERY_S:
            await self.flush()

    async def flush(self) -> None:
        """Write what waits (counters, cache entries) in one transaction. Idempotent; on a
        database error the entries stay pending and the error propagates."""
        self._last_flush_s = time.monotonic()
        if not self._pending and not self._pending_cache:
            return
        pending, cache = self._pending, self._pending_cache
        self._pending, self._pending_cache = {}, {}
        try:
            async with self._db.write() as conn:
                for (hotel_id, day), (c, p, q, h, lim) in pending.items():
                    await _add(conn, hotel_id, day, calls=c, prompt_tokens=p,
                               completion_tokens=q, cache_hits=h, limited=lim)  # fmt: skip
                for key, (hotel_id, day, verdict, now) in cache.items():
                    await _remember(conn, key, hotel_id, day, verdict, now)
                    if self._purged.get(hotel_id) != day:
                        # yesterday's entries can never match again (the key's day differs)
                        await conn.execute(
                            delete(LlmCacheRow).where(
                                LlmCacheRow.hotel_id == hotel_id,
                                LlmCacheRow.day < day.isoformat(),
                            )
                        )
                        self._purged[hotel_id] = day
        except BaseException:
            for (hotel_id, day), counts in pending.items():
                self._bump(hotel_id, day, *counts)
            for key, entry in cache.items():
                self._pending_cache.setdefault(key, entry)
            raise

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
        waiting = self._pending_cache.get(key)
        if waiting is not None and waiting[1] == day:
            return waiting[2]
        async with self._read() as conn:
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
        async with self._read() as conn:
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
        async with self._read() as conn:
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
