"""The trigger scheduler: turns due (trigger, stay, instant) fires into outbox rows, once.

The database is the source of truth; APScheduler 3.x (`AsyncIOScheduler`, in-memory job
store only) is just the clock: an interval job every `tick_s` plus a one-off date job at the
next fire due before the following tick. Each tick (`run_once`) re-reads hotels, triggers and
stays, so CLI edits apply on the next tick without a restart. One query first finds the hotels
with an enabled trigger and a current or upcoming stay; only those are read further, and a
write transaction is opened only when a fire is due, so idle hotels cost nothing per tick.

Exactly once. Per hotel, one write transaction (PostgreSQL: under a transaction-scoped
advisory lock for that hotel; SQLite: BEGIN IMMEDIATE) decides every new fire with the pure
send policy and inserts the fire-log row (UNIQUE trigger, stay, scheduled_for; ON CONFLICT DO
NOTHING) together with the outbox row (idempotency key
"trigger:<trigger>:<stay>:<scheduled_for ISO>"). A restart, a double start, a clock jump back
or two daemons on one PostgreSQL can only find the fire decided already. A fire is decided
once: a deferral (quiet hours, daily cap, staff pause) is an outbox row whose
`available_at` is the deferral time.

Catch-up: each tick looks back `lookback_s` (default 2 days). A fire older than its grace is
recorded as "missed" and never sent; fires older than the lookback are ignored.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from loguru import logger

from hotelbot.app import trigger_fire
from hotelbot.app.trigger_fire import FireDecision
from hotelbot.crashpoints import pause_point
from hotelbot.domain.fire_times import fire_times
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.send_policy import FireOutcome
from hotelbot.domain.triggers import STATUS_EVENTS, EventKind, EventTrigger, keyword_matches
from hotelbot.domain.zones import unknown_zone_warning
from hotelbot.error_text import describe
from hotelbot.storage.db import Connection
from hotelbot.storage.guest_facts import NO_FACTS, GuestFactsSource, load_guest_facts
from hotelbot.storage.hotel_policy import hotel_policy
from hotelbot.storage.hotels import HotelRecord, get_hotel_by_id, list_hotels
from hotelbot.storage.stays import (
    StayRecord,
    current_stay,
    get_stay,
    list_stays,
)
from hotelbot.storage.triggers import (
    SqlFireStore,
    TriggerRecord,
    decided_fires,
    list_fires,
    list_triggers,
    lock_fire_decisions,
    record_fire,
    schedulable_hotel_ids,
)
from hotelbot.storage.types import utcnow
from hotelbot.storage.unit_of_work import SqlUnitsOfWork

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from hotelbot.storage.db import Database
from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.storage.leases import LeaseView

DEFAULT_TICK_S = 20.0
DEFAULT_LOOKBACK_S = 2 * 86_400
_CHUNK = 200  # fires decided per write transaction


@dataclass
class TickReport:
    """Outcome counts of one `run_once` ("enqueued", "deferred:quiet_hours", "missed", ...),
    and the earliest fire expected after it (None: none within the look-ahead)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    next_due: datetime | None = None

    def merge(self, other: TickReport) -> None:
        self.outcomes.update(other.outcomes)
        if other.next_due is not None and (self.next_due is None or other.next_due < self.next_due):
            self.next_due = other.next_due


def due_fires(
    policy: HotelPolicy,
    triggers: Iterable[TriggerRecord],
    stays: Iterable[StayRecord],
    decided: set[tuple[int, int, datetime]],
    *,
    now: datetime,
    since: datetime,
    ahead: datetime,
) -> tuple[list[tuple[datetime, TriggerRecord, StayRecord]], datetime | None]:
    """The fires a scheduler tick at `now` decides, oldest first, and the earliest fire after
    `now` (before `ahead`). Pure. A trigger acts from its creation on, less its grace (one
    added at 09:05 still catches the 09:00 fire), and never before `since` (the look-back):
    no "missed" records from before it existed. Fires in `decided` are left out."""
    due: list[tuple[datetime, TriggerRecord, StayRecord]] = []
    next_due: datetime | None = None
    window_end = now + timedelta(microseconds=1)
    stays = list(stays)
    facts_by_stay = {
        stay.id: stay.facts(policy.tz, default_language=policy.default_language) for stay in stays
    }
    for trigger in triggers:
        start = max(since, trigger.created_at - timedelta(seconds=trigger.grace_s))
        if start >= ahead:
            continue
        for stay in stays:
            for at in fire_times(
                trigger.spec,
                facts_by_stay[stay.id],
                window_start=start,
                window_end=ahead,
                default_check_in=policy.default_check_in,
                default_check_out=policy.default_check_out,
            ):
                if at >= window_end:
                    if next_due is None or at < next_due:
                        next_due = at
                elif (trigger.id, stay.id, at) not in decided:
                    due.append((at, trigger, stay))
    due.sort(key=lambda item: (item[0], item[1].id, item[2].id))
    return due, next_due


@dataclass(frozen=True, slots=True)
class DueNow:
    """One fire a trigger decides at once: for which stay, when it was scheduled, and what
    was decided (see `decide_trigger_now`)."""

    stay: StayRecord
    scheduled_for: datetime
    decision: FireDecision


NOT_CAUGHT_UP = FireOutcome.SKIPPED_NOT_CAUGHT_UP


async def decide_trigger_now(
    conn: Connection,
    policy: HotelPolicy,
    trigger: TriggerRecord,
    *,
    now: datetime,
    lookback_s: float = DEFAULT_LOOKBACK_S,
    decided_by: str | None = None,
    catch_up: bool = True,
) -> list[DueNow]:
    """Decide, in the caller's write transaction, every fire of `trigger` that the next
    scheduler tick would decide at `now`: the same window, send policy, texts and fire log
    as the scheduler, so what an operator is shown (roll the transaction back) is what gets
    queued (commit it), exactly once (a later tick finds these fires decided).
    `catch_up=False` records the fires as skipped ("skipped:not_caught_up") instead: the
    trigger then starts with the next fire. Use for a trigger that is (about to be) added,
    enabled or re-timed; the trigger row must be in the transaction already."""
    since = now - timedelta(seconds=lookback_s)
    first_day = since.astimezone(policy.tz).date() - timedelta(days=1)
    stays = await list_stays(conn, hotel_id=policy.id, check_out_from=first_day)
    decided = await decided_fires(conn, policy.id, since=since)
    due, _ = due_fires(policy, [trigger], stays, decided, now=now, since=since, ahead=now)
    if not due:
        return []
    await lock_fire_decisions(conn, policy.id)
    chats = sorted({stay.chat_id for _, _, stay in due})
    facts_by_chat = await load_guest_facts(conn, policy.id, chats)
    done: list[DueNow] = []
    for at, _, stay in due:
        if not catch_up:
            fire_id = await record_fire(
                conn,
                hotel_id=policy.id,
                trigger_id=trigger.id,
                stay_id=stay.id,
                scheduled_for=at,
                outcome=NOT_CAUGHT_UP,
                trigger_version=trigger.version,
                decided_at=now,
                decided_by=decided_by,
            )
            if fire_id is not None:
                done.append(DueNow(stay, at, FireDecision(NOT_CAUGHT_UP, None, now)))
            continue
        guest = facts_by_chat.get(stay.chat_id, NO_FACTS)
        decision = await trigger_fire.decide_fire(
            SqlFireStore(conn),
            policy=policy,
            trigger=trigger,
            stay=stay,
            scheduled_for=at,
            now=now,
            facts_opted_out=guest.opted_out,
            facts_paused_until=guest.staff_paused_until,
            facts_language=guest.language,
            decided_by=decided_by,
        )
        if decision is not None:
            done.append(DueNow(stay, at, decision))
    return done


class Scheduler:
    """Decides trigger fires for every enabled hotel. `run_once(now)` is one step (tests call
    it with their own clock); `start()`/`stop()` run it from an APScheduler clock.

    Safe to run in several processes against one database (see the module docstring).
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        name: str | None = None,
        tick_s: float = DEFAULT_TICK_S,
        lookback_s: float = DEFAULT_LOOKBACK_S,
        guest_facts: GuestFactsSource = load_guest_facts,
        hotel_ids: Callable[[], Iterable[int]] | None = None,
        lease: LeaseView | None = None,
    ) -> None:
        self.db = db
        # Fencing (several daemons): each decision transaction is a unit of work for the
        # hotel, which checks and locks this daemon's lease epoch, so a daemon that was paused
        # past its lease cannot commit a decision after another daemon took the hotel over.
        self._units = SqlUnitsOfWork(db, lease)
        self.clock = clock
        self.name = name
        self.tick_s = tick_s
        self.lookback = timedelta(seconds=lookback_s)
        self.guest_facts = guest_facts
        self._hotel_ids = hotel_ids
        self._lock = asyncio.Lock()
        self._zone_warned: set[tuple[int, str]] = set()
        self._aps: AsyncIOScheduler | None = None
        self.last_report: TickReport | None = None
        self.ticks = 0

    def _warn_unknown_zone(self, hotel: HotelRecord) -> None:
        """Once per hotel and zone name: scheduling runs in UTC for a zone unknown here."""
        warning = unknown_zone_warning(hotel.timezone)
        key = (hotel.id, hotel.timezone)
        if warning is not None and key not in self._zone_warned:
            self._zone_warned.add(key)
            logger.bind(hotel=hotel.slug).warning("{}; fix with `hotelbot hotel edit`", warning)

    # -- one step ----------------------------------------------------------------------------
    async def run_once(self, now: datetime | None = None) -> TickReport:
        """Decide every fire scheduled in [now - lookback, now] that nobody decided yet.

        Idempotent and safe to run concurrently with other schedulers on the same database.
        Raises database errors (the caller logs and retries on the next tick)."""
        now = (now or self.clock()).astimezone(UTC)
        report = TickReport()
        wanted = None if self._hotel_ids is None else set(self._hotel_ids())
        # _run_hotel reads stays from (since in the hotel's zone) - 1 day; a zone is at most
        # 14 h from UTC, so two days before the UTC date covers every zone.
        check_out_from = (now - self.lookback).date() - timedelta(days=2)
        async with self.db.read() as conn:
            candidates = await schedulable_hotel_ids(conn, check_out_from=check_out_from)
            if wanted is not None:
                candidates &= wanted
            hotels = await list_hotels(conn, enabled_only=True) if candidates else []
        for hotel in hotels:
            if hotel.id not in candidates:
                continue
            try:
                policy = hotel_policy(hotel)
            except Exception as exc:  # one hotel's bad row must not stop the others
                logger.bind(hotel=hotel.slug).error("cannot schedule: {}", describe(exc))
                continue
            self._warn_unknown_zone(hotel)
            try:
                report.merge(await self._run_hotel(policy, now))
            except Exception as exc:  # one hotel's bad data must not stop the others
                logger.bind(hotel=hotel.slug).error(
                    "scheduler failed for this hotel: {}", describe(exc)
                )
                report.outcomes["error"] += 1
        self.last_report = report
        self.ticks += 1
        return report

    async def _run_hotel(self, policy: HotelPolicy, now: datetime) -> TickReport:
        report = TickReport()
        since = now - self.lookback
        ahead = now + timedelta(seconds=max(self.tick_s, 1.0) * 2)
        async with self.db.read() as conn:
            triggers = await list_triggers(conn, hotel_id=policy.id, enabled_only=True)
            if not triggers:
                return report
            first_day = since.astimezone(policy.tz).date() - timedelta(days=1)
            stays = await list_stays(conn, hotel_id=policy.id, check_out_from=first_day)
            decided = await decided_fires(conn, policy.id, since=since)
        due, report.next_due = due_fires(
            policy, triggers, stays, decided, now=now, since=since, ahead=ahead
        )
        if not due:
            return report
        # Chunks keep each write transaction (and SQLite's write lock) short after a long
        # downtime; the fire log's unique key makes a chunk boundary harmless.
        for offset in range(0, len(due), _CHUNK):
            try:
                async with self._units.begin({policy.id}) as uow:
                    await self._decide(uow.conn, policy, due[offset : offset + _CHUNK], now, report)
            except LeaseLost:
                logger.bind(hotel=policy.slug).info("lease lost: not deciding its triggers")
                return report
        if report.outcomes:
            logger.bind(hotel=policy.slug).info(
                "trigger fires decided: {}", dict(sorted(report.outcomes.items()))
            )
        return report

    async def _decide(
        self,
        conn: Connection,
        policy: HotelPolicy,
        chunk: list[tuple[datetime, TriggerRecord, StayRecord]],
        now: datetime,
        report: TickReport,
    ) -> None:
        """Decide `chunk`'s fires in the caller's unit of work (the hotel's lease locked)."""
        await lock_fire_decisions(conn, policy.id)
        pause_point("scheduler_decision_locked")  # tests: frozen holding the lock
        chats = sorted({stay.chat_id for _, _, stay in chunk})
        facts_by_chat = await self.guest_facts(conn, policy.id, chats)
        for at, trigger, stay in chunk:
            guest = facts_by_chat.get(stay.chat_id, NO_FACTS)
            # Decided meanwhile by another scheduler: record_fire's ON CONFLICT makes this a
            # no-op returning None.
            decision = await trigger_fire.decide_fire(
                SqlFireStore(conn),
                policy=policy,
                trigger=trigger,
                stay=stay,
                scheduled_for=at,
                now=now,
                facts_opted_out=guest.opted_out,
                facts_paused_until=guest.staff_paused_until,
                facts_language=guest.language,
                decided_by=self.name,
            )
            if decision is not None:
                report.outcomes[decision.outcome] += 1

    # -- APScheduler clock -------------------------------------------------------------------
    def start(self) -> None:
        """Start ticking on the running event loop (interval job + next-due date jobs)."""
        import logging

        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        # APScheduler logs every job run at INFO; our own tick logs what matters.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        aps = AsyncIOScheduler(timezone=UTC)
        aps.add_job(
            self._tick,
            "interval",
            seconds=self.tick_s,
            id="scheduler-tick",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        aps.start()
        self._aps = aps

    async def _tick(self) -> None:
        async with self._lock:
            try:
                report = await self.run_once()
            except Exception as exc:  # database down: the next tick retries
                logger.warning("scheduler tick failed: {}", describe(exc))
                return
        if report.next_due is not None and self._aps is not None and self._aps.running:
            # The clock may be injected; APScheduler runs on real time. Convert the delay.
            delay_s = (report.next_due - self.clock()).total_seconds()
            if 0 <= delay_s < self.tick_s:
                self._aps.add_job(
                    self._tick,
                    "date",
                    run_date=datetime.now(UTC) + timedelta(seconds=delay_s + 0.05),
                    id="scheduler-next-due",
                    replace_existing=True,
                    misfire_grace_time=None,
                )

    async def stop(self) -> None:
        """Stop the clock and wait for a tick in progress. Idempotent."""
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None
        async with self._lock:
            pass


# --- event triggers (called by the message processor) --------------------------------------


async def fire_message_triggers(
    conn: Connection,
    *,
    hotel_id: int,
    chat_id: str,
    text: str | None,
    received_at: datetime,
    first_message: bool,
    needs_staff: bool = False,
    now: datetime | None = None,
    guest_facts: GuestFactsSource = load_guest_facts,
    decided_by: str | None = None,
) -> list[str]:
    """Decide "on first message" and "on keyword" triggers for one incoming guest message.

    Call it inside the processor's transaction that stores the message (no network I/O
    here). The message is linked to `current_stay`; without a stay nothing fires. The fire
    instant is `received_at`, so re-processing the same message decides nothing new; a
    first-message trigger fires at most once per stay. Returns the outcomes recorded.
    """
    now = (now or utcnow()).astimezone(UTC)
    # Cheapest check first: most hotels have no message triggers, and this runs for every
    # incoming message inside the processor's write transaction.
    events = [
        (trigger, trigger.spec)
        for trigger in await list_triggers(conn, hotel_id=hotel_id, enabled_only=True)
        if isinstance(trigger.spec, EventTrigger)
        and trigger.spec.event in (EventKind.FIRST_MESSAGE, EventKind.KEYWORD)
    ]
    if not events:
        return []
    hotel = await get_hotel_by_id(conn, hotel_id)
    if hotel is None or not hotel.enabled:
        return []
    stay = await current_stay(conn, hotel_id, chat_id, received_at)
    if stay is None:
        return []
    matching: list[TriggerRecord] = []
    for trigger, spec in events:
        if spec.event is EventKind.FIRST_MESSAGE and first_message:
            if await list_fires(conn, trigger_id=trigger.id, stay_id=stay.id):
                continue
            matching.append(trigger)
        elif (
            spec.event is EventKind.KEYWORD
            and text
            and not needs_staff  # "the wifi does not work" wants a person, not the password
            and keyword_matches(spec, text)
        ):
            matching.append(trigger)
    if not matching:
        return []
    policy = hotel_policy(hotel)
    await lock_fire_decisions(conn, hotel_id)
    facts = (await guest_facts(conn, hotel_id, [chat_id])).get(chat_id, NO_FACTS)
    outcomes: list[str] = []
    for trigger in matching:
        decision = await trigger_fire.decide_fire(
            SqlFireStore(conn),
            policy=policy,
            trigger=trigger,
            stay=stay,
            scheduled_for=received_at.astimezone(UTC),
            now=now,
            facts_opted_out=facts.opted_out,
            facts_paused_until=facts.staff_paused_until,
            facts_language=facts.language,
            decided_by=decided_by,
        )
        if decision is not None:
            outcomes.append(decision.outcome)
    return outcomes


async def fire_stay_status_triggers(
    conn: Connection,
    *,
    hotel_id: int,
    stay_id: int,
    old_status: str,
    new_status: str,
    now: datetime | None = None,
    guest_facts: GuestFactsSource = load_guest_facts,
    decided_by: str | None = None,
) -> list[tuple[str, str]]:
    """Decide the "on check-in" / "on check-out" / "on cancellation" triggers for a stay whose
    status just changed from `old_status` to `new_status`.

    Call it in the transaction that changes the status (`stay edit --status`, `stay
    cancel`, a CSV re-import). Each trigger fires at most once per stay (the fire log's key
    is the stay's creation instant): setting a status back and forth sends nothing twice.
    The send policy applies as for any automated message (quiet hours defer it, an opted-out
    guest is skipped), and so do the trigger's conditions. Returns (trigger name, outcome)
    for each fire decided now. No network I/O.
    """
    event = STATUS_EVENTS.get(new_status)
    if event is None or old_status == new_status:
        return []
    now = (now or utcnow()).astimezone(UTC)
    triggers = [
        trigger
        for trigger in await list_triggers(conn, hotel_id=hotel_id, enabled_only=True)
        if isinstance(trigger.spec, EventTrigger) and trigger.spec.event is event
    ]
    if not triggers:
        return []
    hotel = await get_hotel_by_id(conn, hotel_id)
    stay = await get_stay(conn, stay_id)
    if hotel is None or not hotel.enabled or stay is None or stay.hotel_id != hotel_id:
        return []
    policy = hotel_policy(hotel)
    await lock_fire_decisions(conn, hotel_id)
    facts = (await guest_facts(conn, hotel_id, [stay.chat_id])).get(stay.chat_id, NO_FACTS)
    decided: list[tuple[str, str]] = []
    for trigger in triggers:
        decision = await trigger_fire.decide_fire(
            SqlFireStore(conn),
            policy=policy,
            trigger=trigger,
            stay=stay,
            scheduled_for=now,
            now=now,
            facts_opted_out=facts.opted_out,
            facts_paused_until=facts.staff_paused_until,
            facts_language=facts.language,
            decided_by=decided_by,
            key_at=stay.created_at,
        )
        if decision is not None:
            decided.append((trigger.name, decision.outcome))
    return decided


class GuestMessage(Protocol):
    """The fields of the processor's GuestMessageInfo (branch `understanding`) this hook
    reads; any object with them works."""

    @property
    def hotel_id(self) -> int: ...
    @property
    def chat_id(self) -> str: ...
    @property
    def text(self) -> str | None: ...
    @property
    def sent_at(self) -> datetime: ...
    @property
    def is_first_message(self) -> bool: ...
    @property
    def keyword(self) -> str | None: ...
    @property
    def needs_staff(self) -> bool: ...


def message_hook(
    *,
    clock: Callable[[], datetime] = utcnow,
    guest_facts: GuestFactsSource = load_guest_facts,
    decided_by: str | None = None,
) -> Callable[[Connection, GuestMessage], Awaitable[None]]:
    """A processor message hook (`Processor.add_message_hook(message_hook())`) that decides
    the first-message and keyword triggers for each incoming guest message, inside the
    processor's transaction. STOP/START keyword messages trigger nothing."""

    async def hook(conn: Connection, info: GuestMessage) -> None:
        if info.keyword is not None:
            return
        await fire_message_triggers(
            conn,
            hotel_id=info.hotel_id,
            chat_id=info.chat_id,
            text=info.text,
            received_at=info.sent_at,
            first_message=info.is_first_message,
            needs_staff=info.needs_staff,
            now=clock(),
            guest_facts=guest_facts,
            decided_by=decided_by,
        )

    return hook
