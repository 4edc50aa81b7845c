"""The processor: turns committed notifications into conversations, verdicts and alerts.

It runs from the database, after the poller has committed and deleted a notification, so a
slow LLM never holds a hotel's Green API queue. Rows with `processed_at IS NULL` are the
work list: after a crash or restart the next processor simply finds them again.

Flow per notification: interpret (pure) -> sentiment (outside any transaction, at most
`max_concurrency` analyses at once) -> one short write transaction per batch that writes
message rows, alerts, outbox rows and marks the notifications processed. Because those are
one transaction, nothing is applied twice and nothing is lost between the steps.

Order: notifications of one chat are committed in the order they were stored, even when a
later one finishes its analysis first; other chats never wait for a slow one (only the
concurrency bound limits them).

Fast path (domain/alert_path.py): with an LLM configured, the rules read every text first
(microseconds, no I/O). A concrete finding (a named problem, a request, an emergency) is
committed at once with the rules' verdict, so its alert waits for no LLM; the LLM's answer
refines the stored verdict afterwards (`refine_verdicts`; it never withdraws the alert). Any
other text waits for the LLM as before, which may raise an alert the rules missed. Earlier
messages of the same chat still waiting for the LLM are committed with the fast one (per-chat
order is kept) on a provisional verdict (domain.alert_path.provisional); their LLM answers
are refinements too, and one that needs staff is counted into the chat's next alert. A crash
between the fast commit and the refinement leaves the rules' verdict stored: the alert is
unaffected.

Latency of staff alerts: of the works ready to commit, the chats with a message that
requires attention go first, in their own transaction, so a complaint is not queued behind
hundreds of ordinary messages of other chats. The rest is committed one transaction of at
most `commit_batch_size` works per loop round: between two of them the loop fetches and
analyses what arrived meanwhile, so a complaint in a backlog of thousands is found and
committed before the backlog's ordinary messages are written, and no transaction holds the
SQLite write lock long (the outbox sender claiming the new alert gets it in between).

Failures: an item whose interpretation or analysis raises (a bug, not an LLM outage - the
sentiment stage falls back to rules by itself) gets `process_attempts`/`process_error`; it
is retried by the next periodic scan and given up (marked processed, error kept) after
`max_attempts`. If a whole batch transaction fails, its items are retried one per
transaction, so one poisonous item cannot block the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Collection, Coroutine, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from loguru import logger

from hotelbot.app.alerts import BatchResult, send_followups
from hotelbot.app.understand import Work, refine_verdicts, understand_batch
from hotelbot.crashpoints import crash_point
from hotelbot.daemon.escalator import Escalator
from hotelbot.daemon.unreadable import UnreadableReview
from hotelbot.domain.alert_path import alert_now, attention_rank, provisional
from hotelbot.domain.alerts import is_negative_reaction, reaction_verdict
from hotelbot.domain.events import (
    IncomingMessage,
    MessageKind,
    OutgoingMessage,
)
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.llm_context import MessageRef
from hotelbot.domain.optout import classify_keyword
from hotelbot.domain.sentiment import AnalyserName, Verdict
from hotelbot.domain.signals import as_guest_event, signal_of, signal_verdict
from hotelbot.error_text import describe
from hotelbot.greenapi.wire import interpret
from hotelbot.observability import metrics
from hotelbot.sentiment.fair_slots import FairSlots
from hotelbot.storage.alerts import hotels_with_counted_messages
from hotelbot.storage.db import Database
from hotelbot.storage.hotel_policy import load_hotel_policies
from hotelbot.storage.leases import LeaseView
from hotelbot.storage.notification_state import record_failures, unprocessed
from hotelbot.storage.types import utcnow
from hotelbot.storage.understanding import MessageHook, RoomLookup, SqlUnderstandingStore
from hotelbot.storage.unit_of_work import SqlUnitOfWork, SqlUnitsOfWork

Clock = Callable[[], datetime]


class Analyser(Protocol):
    """What the processor needs from sentiment: the SentimentStage, or any analyser.
    An object with `llm_configured = False` is trusted never to await I/O (run inline)."""

    async def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict: ...


@runtime_checkable
class FastPathAnalyser(Protocol):
    """An analyser that can answer with its rules alone first and refine later (the
    SentimentStage). With one, the processor alerts on concrete rule findings at once."""

    def rules_verdict(self, text: str, *, language_hint: str | None = None) -> Verdict: ...

    async def refine(
        self,
        text: str,
        rules_verdict: Verdict,
        *,
        language_hint: str | None = None,
        about: MessageRef | None = None,
    ) -> Verdict: ...


def _about(work: Work) -> MessageRef | None:
    """Which message the LLM judges (its chat's history is its context)."""
    event = work.event
    if not isinstance(event, IncomingMessage):
        return None
    sent_at = event.timestamp or work.received_at  # as app.understand stores it
    return MessageRef(work.hotel_id, event.chat_id, sent_at, event.id_message)


# Kinds whose text is a person's own words worth judging (captions and button labels too).
_NOT_ANALYSED = frozenset(
    {MessageKind.REACTION, MessageKind.DELETED, MessageKind.POLL_UPDATE, MessageKind.UNKNOWN}
)


class Processor:
    """Interprets, analyses and records stored notifications; alerts staff.

    `run()` until `stop()`; `run_once()` processes everything due now and returns how many
    notifications it completed (tests step it). `notify(ids)` is the IngestWriter's
    on_commit listener: a wake-up hint only, the database stays the truth.
    """

    def __init__(
        self,
        db: Database,
        analyser: Analyser,
        *,
        max_concurrency: int = 8,
        batch_size: int = 500,
        commit_batch_size: int = 64,
        max_in_flight: int = 5000,
        scan_interval_s: float = 5.0,
        max_attempts: int = 3,
        clock: Clock = utcnow,
        owned_hotels: Callable[[], Collection[int]] | None = None,
        lease: LeaseView | None = None,
    ) -> None:
        self._db = db
        self._analyser = analyser
        # A stage with no LLM answers without ever awaiting I/O: analyse inline then, it is
        # several times cheaper than a task per message.
        self._inline = getattr(analyser, "llm_configured", True) is False
        self._fast: FastPathAnalyser | None = None
        if not self._inline and isinstance(analyser, FastPathAnalyser):
            self._fast = analyser
        # (work, the LLM's refined verdict) of works committed on the fast path
        self._refinements: list[tuple[Work, Verdict]] = []
        # rules' verdicts of works waiting for the LLM; works committed before their answer
        self._waiting_quick: dict[int, Verdict] = {}
        self._promoted: set[int] = set()
        # served round-robin by hotel: a flood from one hotel cannot delay another's messages
        self._slots = FairSlots(max_concurrency)
        self._batch_size = batch_size
        self._commit_batch_size = max(1, commit_batch_size)
        self._max_in_flight = max_in_flight
        self._scan_interval_s = scan_interval_s
        self._max_attempts = max_attempts
        self._clock = clock
        # With several daemons on one PostgreSQL, each should interpret only the hotels it
        # holds the lease of (cooldown decisions assume one writer per conversation).
        # None = every hotel (one daemon per database, the SQLite case).
        self._owned_hotels = owned_hotels
        # Fencing (several daemons): every write opens a unit of work for the hotels in it,
        # which locks and checks this daemon's lease epochs, like every other writer's.
        self._units = SqlUnitsOfWork(db, lease)
        self._hooks: list[MessageHook] = []
        self._room_lookup: RoomLookup | None = None
        self._escalator: Escalator | None = None
        self._commit_listeners: list[Callable[[set[int]], None]] = []
        self._chains: dict[tuple[int, str], deque[Work]] = {}
        self._in_flight: dict[int, Work] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._cursor = 0  # highest notification id dispatched in the current sweep
        self._more = True  # the last fetch was full, or a hint arrived: fetch again
        self._wake = asyncio.Event()
        self._stopping = False
        self._hotels: dict[int, HotelPolicy] = {}
        self._warned_no_staff_chat: set[int] = set()
        # Languages the rules cannot read: alert on signs of trouble (domain/unreadable.py).
        self._unreadable = UnreadableReview(db)
        self.processed_total = 0
        self.failed_total = 0
        self.alerts_total = 0
        self.fast_path_total = 0  # messages committed on the rules' verdict, LLM afterwards

    # -- public API ---------------------------------------------------------------------
    @property
    def analyses_waiting(self) -> int:
        """Messages waiting for an analysis slot (all hotels; served round-robin by hotel)."""
        return self._slots.waiting

    def add_message_hook(self, hook: MessageHook) -> None:
        """Run `await hook(conn, info)` for every incoming guest message, inside the
        transaction that records it (`hotelbot.storage.understanding.MessageHook`)."""
        self._hooks.append(hook)

    def set_room_lookup(self, lookup: RoomLookup | None) -> None:
        """Let staff alerts name the guest's room: `await lookup(conn, hotel_id, guest_id,
        chat_id)` runs in the processing transaction when an alert is written."""
        self._room_lookup = lookup

    def set_escalator(self, escalator: Escalator | None) -> None:
        """Escalate open alerts at every periodic scan (and in `run_once`), with this
        processor's clock; the commit listeners hear of the hotels that got escalations."""
        self._escalator = escalator

    def on_commit(self, listener: Callable[[set[int]], None]) -> None:
        """Call `listener(hotel_ids)` after each committed batch that raised alerts (e.g. to
        wake the outbox sender of those hotels at once instead of at its next poll)."""
        self._commit_listeners.append(listener)

    def notify(self, notification_ids: Sequence[int]) -> None:
        """Wake-up hint from the ingest writer: these rows were inserted or changed."""
        if notification_ids:
            lowest = min(notification_ids)
            if lowest <= self._cursor:
                # A row we passed was replaced (e.g. the real text after {{SWE001}}).
                self._cursor = lowest - 1
        self._more = True
        self._wake.set()

    def stop(self) -> None:
        """Ask run() to return after committing what has been analysed; analyses still
        running are cancelled (their notifications stay unprocessed for the next start)."""
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """Process everything due now (a full sweep) and wait for it; send due follow-ups.
        Returns the number of notifications completed (processed or given up)."""
        self._cursor, self._more = 0, True
        done = 0
        while True:
            fetched = await self._fetch_and_dispatch()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            done += await self._commit_ready()
            if fetched == 0 and not self._in_flight:
                break
        await self._followups()
        await self._escalate()
        return done

    async def run(self) -> None:
        """Process continuously until stop(): hints wake it at once, a periodic scan picks
        up anything else (rows left by a crash, retries, follow-ups due)."""
        next_scan = 0.0
        while not self._stopping:
            try:
                now = time.monotonic()
                if now >= next_scan:
                    self._cursor, self._more = 0, True
                    await self._followups()
                    await self._escalate()
                    next_scan = now + self._scan_interval_s
                if self._more and len(self._in_flight) < self._max_in_flight:
                    await self._fetch_and_dispatch()
                await self._commit_ready()
            except Exception as exc:  # database briefly unavailable: keep going
                logger.warning("processor: {}: retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
            if self._more and len(self._in_flight) < self._max_in_flight:
                continue
            self._wake.clear()
            if self._ready_exists():
                continue
            timeout_s = max(0.0, next_scan - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout_s)
        await self._drain()

    # -- fetching and analysis --------------------------------------------------------------
    async def _fetch_and_dispatch(self) -> int:
        async with self._db.read() as conn:
            self._hotels = await load_hotel_policies(conn)
            owned = None if self._owned_hotels is None else self._owned_hotels()
            self._more = False  # a hint arriving during the read sets it again
            rows = await unprocessed(
                conn, after_id=self._cursor, limit=self._batch_size, hotel_ids=owned
            )
        if len(rows) == self._batch_size:
            self._more = True
        fresh = 0
        for row in rows:
            nid = row.id
            self._cursor = max(self._cursor, nid)
            if nid in self._in_flight:
                continue
            work = Work(nid, row.hotel_id, row.receipt_id, row.received_at, row.attempts)
            self._in_flight[nid] = work
            fresh += 1
            await self._dispatch(work, row.body)
            if fresh % 64 == 0:
                await asyncio.sleep(0)  # let pollers run between slices of a big batch
        return fresh

    async def _dispatch(self, work: Work, body: str) -> None:
        try:
            # A missed call becomes the guest's entry in the conversation (a signal).
            work.event = as_guest_event(interpret(body), work.received_at)
            text = self._text_to_analyse(work)
        except Exception as exc:  # a bug in interpretation: count it, never block others
            work.error, work.done = f"interpret: {describe(exc)}", True
            self._chain(work, str(work.notification_id))
            return
        event = work.event
        chat = event.chat_id if isinstance(event, IncomingMessage | OutgoingMessage) else None
        self._chain(work, chat or f"#{work.notification_id}")
        if text is None:
            work.done = True
        elif self._inline:
            await self._analyse(work, text)
        elif self._fast is not None:
            quick = self._fast.rules_verdict(text)
            if alert_now(quick):
                # The rules name the problem: commit (and alert) now, refine afterwards.
                work.verdict, work.done = quick, True
                self.fast_path_total += 1
                self._promote_earlier(work, chat or "")
                self._spawn(self._refine_bounded(work, text, quick))
            else:
                self._waiting_quick[work.notification_id] = quick
                self._spawn(self._analyse_bounded(work, text, quick))
        else:
            self._spawn(self._analyse_bounded(work, text))

    def _promote_earlier(self, work: Work, chat: str) -> None:
        """Earlier messages of `work`'s chat still with the LLM would hold its alert back
        (a chat is committed in order): commit them now on a provisional verdict
        (domain.alert_path.provisional); their LLM answers arrive as refinements, and one
        that needs staff is counted into the conversation's next alert (the chat is being
        alerted right now, so the cooldown would count it anyway)."""
        for earlier in self._chains.get((work.hotel_id, chat), ()):
            if earlier is work:
                break
            quick = self._waiting_quick.pop(earlier.notification_id, None)
            if earlier.done or earlier.error is not None or quick is None:
                continue
            earlier.verdict, earlier.done = provisional(quick), True
            self._promoted.add(earlier.notification_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _chain(self, work: Work, chat: str) -> None:
        self._chains.setdefault((work.hotel_id, chat), deque()).append(work)

    def _text_to_analyse(self, work: Work) -> str | None:
        """The text to judge, or None; also sets the keyword and reaction verdicts."""
        event = work.event
        if not isinstance(event, IncomingMessage) or event.undecryptable:
            return None
        hotel = self._hotels.get(work.hotel_id)
        if hotel is None or not hotel.is_guest_chat(event.chat_id):
            return None
        if event.kind is MessageKind.REACTION:
            if event.text and is_negative_reaction(event.text):
                work.verdict = reaction_verdict()
            return None
        signal = signal_of(event)
        if signal is not None:
            # No words to judge: the hotel's setting for this kind decides (domain.signals).
            work.signal = signal
            work.verdict = signal_verdict(signal, hotel.signal_mode(signal))
            return None
        if event.kind in _NOT_ANALYSED or not event.text or not event.text.strip():
            return None
        work.keyword = classify_keyword(event.text)
        return None if work.keyword is not None else event.text

    async def _analyse_bounded(self, work: Work, text: str, quick: Verdict | None = None) -> None:
        async with self._slots.slot(work.hotel_id):
            await self._analyse(work, text, quick)
        self._wake.set()

    async def _refine_bounded(self, work: Work, text: str, quick: Verdict) -> None:
        """The LLM's verdict for a work committed on the fast path, kept for
        `_apply_refinements`. Best effort: on any failure the rules' verdict stays."""
        assert self._fast is not None
        async with self._slots.slot(work.hotel_id):
            try:
                refined = await self._fast.refine(text, quick, about=_about(work))
            except Exception as exc:  # the stage falls back by itself: this is a bug
                logger.warning("processor: refining a verdict failed: {}", type(exc).__name__)
                return
        if refined != quick:
            self._refinements.append((work, refined))
            self._wake.set()

    async def _analyse(self, work: Work, text: str, quick: Verdict | None = None) -> None:
        try:
            if quick is not None and self._fast is not None:
                refined = await self._fast.refine(text, quick, about=_about(work))
                self._waiting_quick.pop(work.notification_id, None)
                if work.notification_id in self._promoted:
                    # committed meanwhile on its provisional verdict: this is a refinement
                    self._promoted.discard(work.notification_id)
                    self._refinements.append((work, refined))
                    return
                work.verdict = refined
            else:
                work.verdict = await self._analyser.analyse(text)
            work.verdict = await self._unreadable.review(work, work.verdict, text)
        except Exception as exc:  # the stage falls back to rules itself: this is a bug
            self._waiting_quick.pop(work.notification_id, None)
            if work.notification_id in self._promoted:  # committed: keep what was stored
                self._promoted.discard(work.notification_id)
                return
            work.error = f"analyse: {type(exc).__name__}"
        work.done = True

    # -- committing ---------------------------------------------------------------------------
    def _ready_exists(self) -> bool:
        return bool(self._refinements) or any(
            chain and chain[0].done for chain in self._chains.values()
        )

    def _take_ready(self, rest_limit: int | None) -> tuple[list[Work], list[Work]]:
        """Works whose analysis is done and whose earlier same-chat works are done too, as
        (urgent, rest), each in notification order and removed from their chains. `urgent`
        holds every ready work of the chats where one of them requires attention; `rest`
        at most `rest_limit` (None: all) ready works of the other chats, each chat's taken
        from its head, so what stays behind is always later than what was taken and
        per-chat order holds whatever is committed first."""
        urgent: list[tuple[int, int, Work]] = []  # (the chat's rank, id, work)
        calm: list[tuple[int, tuple[int, str], int]] = []  # (oldest id, chain, ready count)
        for key in list(self._chains):
            chain = self._chains[key]
            ready = 0
            while ready < len(chain) and chain[ready].done:
                ready += 1
            if any(_requires_attention(chain[i]) for i in range(ready)):
                # Emergencies, then named problems, then the rest (domain.alert_path):
                # in a burst, a guess of the model does not delay a complaint.
                rank = min(attention_rank(chain[i].verdict) for i in range(ready))
                for _ in range(ready):
                    work = chain.popleft()
                    urgent.append((rank, work.notification_id, work))
                if not chain:
                    del self._chains[key]
            elif ready:
                calm.append((chain[0].notification_id, key, ready))
        rest: list[Work] = []
        for _, key, ready in sorted(calm):  # the chats waiting longest first
            if rest_limit is not None:
                ready = min(ready, rest_limit - len(rest))
                if ready <= 0:
                    break
            chain = self._chains[key]
            rest.extend(chain.popleft() for _ in range(ready))  # a chain's head first
            if not chain:
                del self._chains[key]
        urgent.sort(key=lambda item: item[:2])  # a chat's works share its rank: order kept
        rest.sort(key=lambda w: w.notification_id)
        return [work for _, _, work in urgent], rest

    async def _commit_ready(self, *, everything: bool = False) -> int:
        """Commit the urgent ready works, then one transaction of the others (all of them
        when `everything`). Returns how many were completed."""
        size = self._commit_batch_size
        urgent, rest = self._take_ready(None if everything else size)
        done = 0
        for ready, priority in ((urgent, True), (rest, False)):
            for start in range(0, len(ready), size):
                if done:
                    # Let the tasks this commit woke (the outbox sender of a new alert)
                    # queue for the write lock before the next transaction takes it.
                    await asyncio.sleep(0)
                done += await self._commit(ready[start : start + size], priority=priority)
        if self._refinements:
            await self._apply_refinements()
        return done

    async def _apply_refinements(self) -> None:
        """Store the LLM's verdicts of fast-path works already committed (one transaction).
        Works still in flight keep theirs for a later round. Failure loses only the
        refinement (logged): the rules' verdict and the alert stay."""
        ready = [(w, v) for w, v in self._refinements if w.notification_id not in self._in_flight]
        if not ready:
            return
        self._refinements = [
            (w, v) for w, v in self._refinements if w.notification_id in self._in_flight
        ]
        try:
            hotels = {w.hotel_id for w, _ in ready}
            async with self._units.begin(hotels, partial=True) as uow:
                ready = [(w, v) for w, v in ready if w.hotel_id in uow.held]
                await refine_verdicts(self._store(uow), ready, now=self._clock())
        except Exception as exc:
            logger.warning(
                "processor: storing {} refined verdicts failed: {}", len(ready), type(exc).__name__
            )

    async def _commit(self, works: list[Work], *, priority: bool = False) -> int:
        """Write `works` (one transaction; one per work if that fails). `priority`: the
        works raise alerts, so the transaction jumps the queue of background writers
        (SQLite's write gate; an alert must not wait behind routine writes)."""
        failed = [w for w in works if w.error is not None]
        good = [w for w in works if w.error is None]
        try:
            if good:
                await self._write(good, priority=priority)
        except Exception as exc:
            logger.warning(
                "processor: batch of {} failed ({}): retrying one by one",
                len(good),
                type(exc).__name__,
            )
            for work in good:
                try:
                    await self._write([work], priority=priority)
                except Exception as item_exc:
                    # Stored and logged: the class and a safe description, never the
                    # exception's own text (drivers quote the values, i.e. guest text).
                    work.error = f"apply: {describe(item_exc)}"
                    failed.append(work)
        if failed:
            await self._record_failures(failed)
        for work in works:
            self._in_flight.pop(work.notification_id, None)
        return len(works)

    async def _write(self, works: list[Work], *, priority: bool = False) -> None:
        hotels = {w.hotel_id for w in works}
        async with self._units.begin(hotels, priority=priority, partial=True) as uow:
            works = _leave_to_owner(works, uow.lost)
            if not works:
                return
            result = await understand_batch(
                self._store(uow), works, self._hotels, now=self._clock()
            )
            crash_point("processor_before_commit")  # fault tests: all of it rolls back
        crash_point("processor_after_commit")
        self._account(result)
        self._count_verdicts(works)
        self.processed_total += result.processed
        if result.alerts and self._commit_listeners:
            hotel_ids = {
                w.hotel_id for w in works if w.verdict is not None and w.verdict.requires_attention
            }
            for listener in self._commit_listeners:
                listener(hotel_ids)

    async def _record_failures(self, works: list[Work]) -> None:
        try:
            hotels = {w.hotel_id for w in works}
            async with self._units.begin(hotels, partial=True) as uow:
                works = _leave_to_owner(works, uow.lost)
                given_up = await record_failures(
                    uow.conn, works, now=self._clock(), max_attempts=self._max_attempts
                )
        except Exception as exc:
            logger.warning("processor: cannot record failures: {}", type(exc).__name__)
            return
        for work in works:
            # Only the error class in the log: exception messages may quote guest text
            # (database errors include the statement parameters). The row keeps the detail.
            logger.warning(
                "notification {} not processed (attempt {}): {}",
                work.notification_id,
                work.attempts + 1,
                _error_class(work.error),
            )
        self.failed_total += len(given_up)
        for work in given_up:
            logger.error(
                "notification {} given up after {} attempts",
                work.notification_id,
                self._max_attempts,
            )

    async def _followups(self) -> None:
        """Send follow-up alerts that are due. Reads first, so an idle daemon does not take
        the SQLite write lock every scan."""
        async with self._db.read() as conn:
            if not self._hotels:
                self._hotels = await load_hotel_policies(conn)
            hotels = await hotels_with_counted_messages(conn)
        if self._owned_hotels is not None:
            hotels &= set(self._owned_hotels())
        if not hotels:
            return
        async with self._units.begin(hotels, partial=True) as uow:
            ours = {h: p for h, p in self._hotels.items() if h in uow.held}
            result = await send_followups(self._store(uow), ours, now=self._clock())
        self._account(result)

    def _store(self, uow: SqlUnitOfWork) -> SqlUnderstandingStore:
        """The storage of the use cases, on the unit's transaction, with this processor's
        message hooks and room lookup."""
        return SqlUnderstandingStore(uow.conn, hooks=self._hooks, room_lookup=self._room_lookup)

    def _count_verdicts(self, works: list[Work]) -> None:
        """Committed verdicts into the metrics (label values are fixed sets: analyser
        names and sentiment labels; the hotel by slug)."""
        for work in works:
            verdict = work.verdict
            if verdict is None:
                continue
            hotel = self._hotels.get(work.hotel_id)
            slug = hotel.slug if hotel is not None else str(work.hotel_id)
            analyser = metrics.bounded(verdict.analyser, _ANALYSERS)
            metrics.SENTIMENT_VERDICTS.labels(slug, analyser, verdict.sentiment.value).inc()
            if verdict.requires_attention:
                metrics.ATTENTION.labels(slug, analyser).inc()

    async def _escalate(self) -> None:
        """Escalate the alerts nobody acknowledged in time (daemon/escalator.py)."""
        if self._escalator is None:
            return
        report = await self._escalator.run_once(self._clock())
        if report.hotels:
            for listener in self._commit_listeners:
                listener(set(report.hotels))

    def _account(self, result: BatchResult) -> None:
        self.alerts_total += result.alerts
        for hotel_id in result.unsent_alert_hotels - self._warned_no_staff_chat:
            self._warned_no_staff_chat.add(hotel_id)
            hotel = self._hotels.get(hotel_id)
            logger.bind(hotel=hotel.slug if hotel else hotel_id).warning(
                "a guest needs attention but the hotel has no staff_chat_id: alert recorded, "
                "not sent (set staff_chat_id in the hotels file)"
            )

    async def _drain(self) -> None:
        """On stop: cancel running analyses, commit what is complete."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        try:
            await self._commit_ready(everything=True)
        except Exception as exc:
            logger.warning("processor: final commit failed: {}", type(exc).__name__)
        self._chains.clear()
        self._in_flight.clear()
        self._waiting_quick.clear()
        self._promoted.clear()


_ANALYSERS: frozenset[str] = frozenset(AnalyserName)


def _leave_to_owner(works: list[Work], lost: Collection[int]) -> list[Work]:
    """The works of the hotels still held; the others stay unprocessed (not failed) for the
    hotel's new owner, whose processor handles them."""
    if not lost:
        return works
    left = [w for w in works if w.hotel_id in lost]
    logger.warning(
        "processor: lease lost for hotel(s) {}: {} notification(s) left to their owner",
        sorted(lost),
        len(left),
    )
    return [w for w in works if w.hotel_id not in lost]


def _requires_attention(work: Work) -> bool:
    return work.error is None and work.verdict is not None and work.verdict.requires_attention


def _error_class(error: str | None) -> str:
    """ "apply: IntegrityError" out of "apply: IntegrityError: <details>"."""
    return ":".join((error or "unknown").split(":", 2)[:2])
