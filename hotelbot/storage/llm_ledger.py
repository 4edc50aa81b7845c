"""LlmLedger: the database side of the LLM's limits, cache and context (tables llm_usage,
llm_cache, messages, guests). Used by the SentimentStage.

Per LLM-judged message the ledger costs one read transaction (`prepare`: the guest's
language, the chat's context and the cache entry) and, as a rule, no write: counters and
cache entries are written behind (`flush`, at most once per FLUSH_EVERY_S), and the daily call
budget is claimed from the database in blocks (`reserve_call`). On SQLite every write queues
on the one write lock with the ingest writer, the processor and the sender (staff alerts), so
a burst of LLM answers must not turn into a burst of small write transactions.

Increments are `INSERT ... ON CONFLICT DO UPDATE SET n = n + :k`, so concurrent daemons and
a restart never lose or reset a count. They count what was spent: a message analysed twice
(at-least-once processing) cost two calls and is counted twice, which is what a budget is for.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
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
MAX_CALL_BLOCK = 20  # calls of the daily budget claimed from the database at once
REFUSED_FOR_S = 30.0  # after the budget refused a claim, no new claim for this long


def call_block(limits: LlmLimits) -> int:
    """How many calls `reserve_call` claims from the database at once: 1% of the daily call
    budget, between 1 and MAX_CALL_BLOCK. A crash loses at most the unused part of one
    block per hotel (counted as spent for that day: the budget errs towards fewer calls)."""
    if limits.daily_calls is None:
        return MAX_CALL_BLOCK
    return max(1, min(MAX_CALL_BLOCK, limits.daily_calls // 100))


@dataclass(frozen=True, slots=True)
class _HotelInfo:
    slug: str
    default_language: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the stage needs before an LLM call, read in one transaction (`prepare`)."""

    context: MessageContext
    key: str  # the cache key of the question (domain.llm_context.cache_key)
    cached: Verdict | None  # today's stored answer to the same question, if any


@dataclass(slots=True)
class _Grant:
    """Calls of one hotel's daily budget claimed in the database and not used yet, and the
    tokens known to be spent that day (stored when claimed + counted here since)."""

    calls_left: int
    tokens: int
    refused_until_s: float = 0.0  # after a refused claim: no new claim before (monotonic)


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
        # At most that long of counts is lost by a crash (the call budget itself is claimed
        # ahead of the calls by reserve_call).
        self._pending: dict[tuple[int, date], list[int]] = {}
        self._pending_cache: dict[str, tuple[int, date, Verdict, datetime]] = {}
        self._last_flush_s = time.monotonic()
        # The daily call budget is claimed in blocks (`call_block`) and spent from memory,
        # so most calls write nothing. A block is taken from the stored count atomically, so
        # two daemons (or a restarted one) together never exceed the budget; unused calls
        # go back on `flush(release=True)` (shutdown) and when the day has changed.
        self._grants: dict[tuple[int, date], _Grant] = {}
        self._over_budget_seen: set[tuple[int, date]] = set()
        self._claiming: dict[int, asyncio.Lock] = {}  # hotel -> held while claiming a block
        # Reads for the LLM (context, cache, language) may take at most this many of the
        # pool's connections: with dozens of analyses in flight they would otherwise queue
        # the processor's and the sender's reads (staff alerts) behind them.
        self._read_slots = asyncio.Semaphore(MAX_READ_CONNECTIONS)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._read_slots, self._db.read() as conn:
            yield conn

    async def _hotel(self, hotel_id: int, conn: AsyncConnection | None = None) -> _HotelInfo:
        info = self._hotels.get(hotel_id)
        if info is None:
            if conn is None:
                async with self._read() as own:
                    return await self._hotel(hotel_id, own)
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
        grant = self._grants.get((hotel_id, day))
        if grant is not None and len(numbers) >= 3:
            grant.tokens += numbers[1] + numbers[2]

    async def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush_s >= FLUSH_EVERY_S:
            await self.flush()

    async def flush(self, *, release: bool = False) -> None:
        """Write what waits (counters, cache entries) in one transaction, and give back the
        unused calls of budget blocks claimed for an earlier day (all of them with
        `release`: call it so on shutdown, before the database closes). Idempotent; on a
        database error the entries stay pending and the error propagates."""
        self._last_flush_s = time.monotonic()
        today = max((day for _, day in self._grants), default=None)
        returned = {
            hotel_day: grant.calls_left
            for hotel_day, grant in self._grants.items()
            if grant.calls_left > 0 and (release or hotel_day[1] != today)
        }
        if not self._pending and not self._pending_cache and not returned:
            return
        pending, cache = self._pending, self._pending_cache
        self._pending, self._pending_cache = {}, {}
        for hotel_day in returned:
            self._grants[hotel_day].calls_left = 0
        try:
            async with self._db.write() as conn:
                for (hotel_id, day), (c, p, q, h, lim) in pending.items():
                    await _add(
                        conn,
                        hotel_id,
                        day,
                        calls=c,
                        prompt_tokens=p,
                        completion_tokens=q,
                        cache_hits=h,
                        limited=lim,
                    )
                for (hotel_id, day), unused in returned.items():
                    await _add(conn, hotel_id, day, calls=-unused)
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
                counts_here = self._pending.setdefault((hotel_id, day), [0, 0, 0, 0, 0])
                for i, n in enumerate(counts):
                    counts_here[i] += n
            for key, entry in cache.items():
                self._pending_cache.setdefault(key, entry)
            for hotel_day, unused in returned.items():
                self._grants[hotel_day].calls_left += unused
            raise
        for hotel_day in [k for k in self._grants if k[1] != today or release]:
            if self._grants[hotel_day].calls_left == 0:
                del self._grants[hotel_day]

    async def reserve_call(self, hotel_id: int, day: date, limits: LlmLimits) -> LimitDecision:
        """Count one call against the hotel's daily budget before it is made. ALLOWED when
        counted, else why not (DAILY_CALLS or DAILY_TOKENS).

        The calls are claimed from the stored count in blocks of `call_block(limits)`: one
        `INSERT ... ON CONFLICT DO UPDATE SET calls = calls + :block WHERE <the block fits
        the budget>`, so what all daemons claimed together never exceeds the budget; the
        next calls of the block need no I/O. Near the end of the budget the claims shrink to
        one call. The token budget is checked on the tokens known so far (stored when the
        block was claimed plus those counted here since; a call's tokens are known only
        after it)."""
        key = (hotel_id, day)
        decision = self._spend(key, limits)
        if decision is not None:
            return decision
        # one claim per hotel at a time: the analyses waiting for it spend its block
        lock = self._claiming.setdefault(hotel_id, asyncio.Lock())
        async with lock:
            decision = self._spend(key, limits)
            if decision is not None:
                return decision
            block = call_block(limits)
            claimed = await self._claim(hotel_id, day, limits, block)
            if claimed is None and block > 1:
                block = 1
                claimed = await self._claim(hotel_id, day, limits, block)
            waiting = self._pending.get(key, [0, 0, 0])
            if claimed is not None:
                self._grants[key] = _Grant(block - 1, claimed + waiting[1] + waiting[2])
                return LimitDecision.ALLOWED
            usage = await self.usage(hotel_id, day)
            # over the budget: the next messages are refused from memory for a while (calls
            # given back by another daemon's shutdown are seen after REFUSED_FOR_S)
            self._grants[key] = _Grant(0, usage.tokens, time.monotonic() + REFUSED_FOR_S)
        decision = budget_decision(limits, usage)
        return decision if decision.over_budget else LimitDecision.DAILY_CALLS

    def _spend(self, key: tuple[int, date], limits: LlmLimits) -> LimitDecision | None:
        """A decision from the claimed block alone, or None when a claim is needed."""
        grant = self._grants.get(key)
        if grant is None:
            return None
        if limits.daily_tokens is not None and grant.tokens >= limits.daily_tokens:
            return LimitDecision.DAILY_TOKENS
        if grant.calls_left > 0:
            grant.calls_left -= 1
            return LimitDecision.ALLOWED
        if time.monotonic() < grant.refused_until_s:
            return LimitDecision.DAILY_CALLS
        return None

    async def _claim(self, hotel_id: int, day: date, limits: LlmLimits, block: int) -> int | None:
        """Add `block` calls to the stored count if they fit the budget (one statement, one
        transaction): the tokens stored, or None when they do not fit."""
        t = LlmUsageRow.__table__.c
        guard = []
        if limits.daily_calls is not None:
            if block > limits.daily_calls:
                return None
            guard.append(t.calls + block <= limits.daily_calls)
        if limits.daily_tokens is not None:
            guard.append(t.prompt_tokens + t.completion_tokens < limits.daily_tokens)
        async with self._db.write() as conn:
            stmt = insert_for(conn, LlmUsageRow).values(
                hotel_id=hotel_id,
                day=day.isoformat(),
                calls=block,
                prompt_tokens=0,
                completion_tokens=0,
                cache_hits=0,
                limited=0,
            )
            row = (
                await conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[t.hotel_id, t.day],
                        set_={"calls": t.calls + block},
                        where=and_(*guard) if guard else None,
                    ).returning(t.prompt_tokens + t.completion_tokens)
                )
            ).first()
        return None if row is None else int(row[0])

    async def first_over_budget(self, hotel_id: int, day: date) -> bool:
        """True exactly once per hotel and day (across restarts and daemons): the caller
        logs "budget reached" then. Flips `over_budget_logged` with a guarded UPDATE, once
        per hotel and day in this process (later calls answer False without I/O)."""
        if (hotel_id, day) in self._over_budget_seen:
            return False
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
        self._over_budget_seen = {k for k in self._over_budget_seen if k[1] == day}
        self._over_budget_seen.add((hotel_id, day))
        return bool(result.rowcount == 1)

    async def prepare(
        self,
        ref: MessageRef,
        detected_language: str,
        day: date,
        key_of: Callable[[MessageContext], str],
    ) -> Prepared:
        """Everything the stage needs before a call, in one read transaction: the chat's
        context (`_context`, with the reason language of `_reply_language`), the cache key
        `key_of(context)` and today's cached verdict under it (from memory while it waits to
        be written)."""
        async with self._read() as conn:
            language = await self._reply_language(conn, ref, detected_language)
            context = await _context(conn, ref, language)
            key = key_of(context)
            waiting = self._pending_cache.get(key)
            if waiting is not None and waiting[1] == day:
                return Prepared(context, key, waiting[2])
            row = (
                await conn.execute(
                    select(LlmCacheRow.verdict).where(
                        LlmCacheRow.key == key, LlmCacheRow.day == day.isoformat()
                    )
                )
            ).first()
        return Prepared(context, key, _verdict_from_json(row[0]) if row else None)

    async def _reply_language(self, conn: AsyncConnection, ref: MessageRef, detected: str) -> str:
        """The language to write the reason in: the guest's (guests.language, set by
        detection over two messages or by an operator), else this message's detected
        language, else the hotel's default."""
        stored = (
            await conn.execute(
                select(Guest.language).where(
                    Guest.hotel_id == ref.hotel_id, Guest.chat_id == ref.chat_id
                )
            )
        ).scalar()
        if stored:
            return str(stored)
        if detected and detected != "und":
            return detected
        return (await self._hotel(ref.hotel_id, conn)).default_language or "en"


async def _context(conn: AsyncConnection, ref: MessageRef, reply_language: str) -> MessageContext:
    """Up to MAX_CONTEXT_MESSAGES messages of the chat before `ref` (text only, deleted ones
    left out), oldest first, and whether staff wrote after the guest's last one."""
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
