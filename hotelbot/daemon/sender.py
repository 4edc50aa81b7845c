"""The outbox sender: delivers outbox rows through each hotel's Green API instance.

Lanes (domain/outbox.py): staff alerts, then messages a person asked for, then automated
messages. Each hotel has one token bucket per lane, so the hotel's pace limits the automated
lane and never the alert lane, and a flood in one lane cannot starve another.

Per hotel and step (`run_once`):

1. Held? A hotel whose instance is known not to be authorized (hotels.instance_state), or
   that answered "not authorized"/401/403/466 recently, sends nothing until `hold_s` passes;
   its rows wait as they are (no attempts spent).
2. Reconcile `unknown` rows (see below).
3. Claim due `pending` rows, lane by lane, at most the tokens of each lane's bucket ->
   `sending`, committed before the HTTP call. Automated rows are cancelled instead when,
   since they were decided, the guest opted out, the stay was cancelled or the trigger was
   disabled.
4. `send_message` each (`send_file_by_url` for a row with a file, its text being the
   caption), alerts first (with the lane's send timeout):
   * 200 -> `sent` with the idMessage;
   * the request surely had no effect (NetworkError.request_sent False, 429, 500, 503, other
     5xx except 502/504) -> `pending` again, due after the lane's exponential backoff (a
     429's Retry-After is a floor and also pauses every lane of the hotel); after the lane's
     `max_attempts` -> `failed`;
   * ambiguous (NetworkError.request_sent True, 502, 504, an unreadable 200) -> `unknown`;
   * instance not ready / 401 / 403 / 466 -> `pending` without spending the attempt, hotel
     held; other 4xx -> `failed` (our request is wrong, repeating it cannot help).
5. One write transaction records every outcome of the step.

Steps 4 and 5 are the use case `app/outbox_step.py` (`send_claimed`, `record_outcomes`): the
rule per row lives there once, with `greenapi/messenger.py` telling what a Green API answer
means; this module schedules the steps, batches their reads, claims and commits across
hotels, and keeps each hotel's buckets and hold (`_Gate`).

Reconciling an `unknown` row (rule, timings from the row's lane policy):
   a. the processor's `record_echo` (outgoingAPIMessageReceived) may mark it `sent` at any
      time (CAS on the state, never overwritten);
   b. once the row is `reconcile_after_s` old (measured from sending_started_at), the sender
      reads `lastOutgoingMessages` (at most one call per hotel per `journal_interval_s`, or
      per second when a row is due for its resend decision: Green API allows 1 request/s)
      and marks the row `sent` when an entry has the same chat and text (for a file: the
      same file name and caption), a timestamp no earlier than sending_started_at -
      `clock_slack_s`, and an idMessage no other outbox row owns;
   c. when no entry matched and the row is `resend_after_s` old, it goes back to `pending`
      and is sent again (after `max_attempts` ambiguous attempts without trace: `failed`).
   The trade-off, per lane: the alert lane decides after ~15 s (staff may read an alert twice
   when Green API accepted it but neither the echo nor the journal shows it yet); the guest
   lanes wait 180 s (the journal may lag up to ~2 min; a guest must never get a message
   twice). Rows left in `sending` by a crash become `unknown` once the lane's
   `stale_sending_s` old (`recover`, run at start-up and every few seconds): 10 s for alerts,
   90 s for guest messages.

Quiet hours are not applied here: producers set `available_at` (the scheduler defers
automated messages). Alerts are due at once, whatever the hour; urgent ones (emergencies) go
first within the alert lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import anyio
from loguru import logger

from hotelbot.app.outbox_step import (
    SendOutcome,
    SendResult,
    cancel_withdrawn,
    record_outcomes,
    send_claimed,
    settle_unknown_sends,
    started,
)
from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.crashpoints import fail_point, pause_point
from hotelbot.daemon.batching import GroupCall
from hotelbot.domain.events import SENDABLE_STATES
from hotelbot.domain.outbox import (
    DEFAULT_POLICIES,
    LANE_ORDER,
    Lane,
    LanePolicy,
    OutboxKind,
    OutboxState,
    journal_due,
)
from hotelbot.domain.token_bucket import TokenBucket
from hotelbot.greenapi.errors import GreenApiError
from hotelbot.greenapi.messenger import GreenApiMessenger
from hotelbot.greenapi.retry import JOURNAL_READ, RetryPolicy, outbox_policy
from hotelbot.observability import metrics
from hotelbot.storage.alerts import alerted_message_times
from hotelbot.storage.db import Connection
from hotelbot.storage.guest_facts import GuestFactsSource, load_guest_facts
from hotelbot.storage.hotels import instance_states
from hotelbot.storage.leases import LeaseView
from hotelbot.storage.outbox import (
    OutboxItem,
    SqlOutcomeLog,
    claim_due_many,
    has_stale_sending,
    hotels_with_work,
    list_unknown,
    recover_stale_sending,
)
from hotelbot.storage.triggers import SqlWithdrawals
from hotelbot.storage.types import utcnow
from hotelbot.storage.unit_of_work import SqlUnitsOfWork

if TYPE_CHECKING:
    from hotelbot.greenapi.client import GreenApiClient
    from hotelbot.storage.db import Database

_KINDS = frozenset(k.value for k in OutboxKind)
_UNKNOWN = OutboxState.UNKNOWN


@dataclass
class _HotelState:
    buckets: dict[Lane, TokenBucket]
    held_until: datetime | None = None
    journal_at: datetime | None = None


@dataclass
class SendReport:
    """Counts of one step: sent, retry, unknown, failed, cancelled, reconciled, requeued,
    held (rows left waiting because the hotel is held), not_ours (lease lost: nothing
    claimed); `sent:<lane>` per lane."""

    counts: Counter[str] = field(default_factory=Counter)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


@dataclass(frozen=True, slots=True)
class _StepView:
    """What a step reads before it acts: the hotel's instance state, its `unknown` rows."""

    instance_state: str | None
    unknown: list[OutboxItem]


@dataclass(frozen=True, slots=True)
class _ClaimRequest:
    """One hotel's claim in a round: lane limits, the lease epoch its step acts under."""

    hotel_id: int
    epoch: int
    limits: Mapping[Lane, int]
    now: datetime
    priority: bool


@dataclass(frozen=True, slots=True)
class _Claimed:
    """A claim's result: the rows to send (None: the lease is not ours), cancelled count."""

    ready: list[OutboxItem] | None
    cancelled: int = 0


@dataclass(frozen=True, slots=True)
class _Recording:
    """One step's outcomes waiting for the next group-committed write (`_record`)."""

    outcomes: list[SendOutcome]
    now: datetime
    report: SendReport
    done: asyncio.Future[None]


class _Gate:
    """`app.outbox_step.StepGate` for one step of one hotel: this daemon's lease view, the
    hotel's token buckets and hold, and the log lines of the step's outcomes."""

    def __init__(
        self, sender: OutboxSender, hotel_id: int, epoch: int, state: _HotelState, now: datetime
    ) -> None:
        self.sender, self.hotel_id, self.epoch = sender, hotel_id, epoch
        self.state, self.now, self.now_s = state, now, now.timestamp()

    def still_held(self) -> bool:
        return self.sender._units.still_held(self.hotel_id, self.epoch)

    def take(self, lane: Lane) -> bool:
        return self.state.buckets[lane].take(self.now_s)

    def pause(self, retry_after_s: float | None) -> None:
        for lane, bucket in self.state.buckets.items():
            bucket.drain_until(self.now_s, retry_after_s or self.sender.policies[lane].retry_base_s)

    def hold(self, reason: str) -> None:
        self.state.held_until = self.now + self.sender.hold
        logger.bind(hotel_id=self.hotel_id).warning(
            "hotel cannot send ({}): holding its outbox", reason
        )

    def observe(self, outcome: SendOutcome) -> None:
        log = logger.bind(hotel_id=self.hotel_id, outbox_id=outcome.item.id)
        if outcome.result is SendResult.UNKNOWN:
            log.warning("send outcome unknown ({}): will reconcile", outcome.error)
        elif outcome.rejected:
            log.error("outbox message rejected by Green API: {}", outcome.error)
        elif outcome.result is SendResult.SENT:
            log.debug("sent outbox message as {}", outcome.id_message)


class OutboxSender:
    """Sends outbox rows for every hotel that has a client. Use `recover()` once at start,
    then `run_once(hotel_id)` per step (tests); the daemon runs `run()` (shared work) and one
    `hotel_loop()` per hotel in its hotel worker, and `stop()` at the drain.

    `policies` (domain.outbox.LanePolicy per lane; default DEFAULT_POLICIES) set each lane's
    pace, retries, timeouts and ambiguous-send rule."""

    def __init__(
        self,
        db: Database,
        clients: Callable[[int], GreenApiClient | None],
        *,
        clock: Callable[[], datetime] = utcnow,
        policies: Mapping[Lane, LanePolicy] | None = None,
        batch: int = 10,
        hold_s: float = 60.0,
        journal_interval_s: float = 5.0,
        clock_slack_s: float = 120.0,
        poll_s: float = 1.0,
        guest_facts: GuestFactsSource = load_guest_facts,
        lease: LeaseView | None = None,
    ) -> None:
        self.db = db
        # Fencing (several daemons): the claim transaction checks, and locks, this daemon's
        # lease epoch for the hotel, so a daemon paused past its lease claims nothing after
        # another daemon took the hotel over.
        self._units = SqlUnitsOfWork(db, lease)
        self.clients = clients
        self.clock = clock
        self.policies: dict[Lane, LanePolicy] = {**DEFAULT_POLICIES, **(policies or {})}
        # Each lane's retry schedule as a named tenacity policy (greenapi/retry.py).
        self.retries: dict[Lane, RetryPolicy] = {
            lane: outbox_policy(lane, policy) for lane, policy in self.policies.items()
        }
        self.batch = batch
        self.hold = timedelta(seconds=hold_s)
        self.journal_interval = timedelta(seconds=journal_interval_s)
        self.clock_slack_s = clock_slack_s
        self.poll_s = poll_s
        self.guest_facts = guest_facts
        self._hotels: dict[int, _HotelState] = {}
        self._stopping = asyncio.Event()
        # bench (scaling): one query per poll_s finds the hotels with outbox work, so idle
        # hotels cost no database round trip (1,000 idle loops each polling made 1,000
        # transactions/s that starved the ingest writer of the write lock); per-hotel wake
        # events let an alert wake only its own hotel's loop.
        self._wakes: dict[int, asyncio.Event] = {}
        self._alert_hint: set[int] = set()  # hotels woken for a new alert (wake_for_alerts)
        # Wakes for hotels whose loop does not exist yet (the ticker's first scan may finish
        # before the hotel's worker starts its loop): each loop takes its own at start.
        self._early_wakes: set[int] = set()
        self._to_record: list[_Recording] = []
        self._recorder: asyncio.Task[None] | None = None
        # Round batching (bench, issue 16): the steps of every hotel woken together share one
        # read transaction for their views and one write transaction for their claims.
        self._views: GroupCall[int, _StepView] = GroupCall(self._read_views, name="outbox-view")
        self._claims: GroupCall[_ClaimRequest, _Claimed] = GroupCall(
            self._claim_round, name="outbox-claim", on_abandoned=self._give_back_abandoned
        )
        self._latency_ids: list[int] = []
        self._latency_reader: asyncio.Task[None] | None = None

    @property
    def claim_rounds(self) -> tuple[int, int]:
        """(claim transactions, hotel claims they carried) since start: how well the
        hotels' steps were batched."""
        return self._claims.batches, self._claims.requests

    def _state(self, hotel_id: int) -> _HotelState:
        state = self._hotels.get(hotel_id)
        if state is None:
            buckets = {
                lane: TokenBucket(policy.rate_per_s, policy.burst)
                for lane, policy in self.policies.items()
            }
            state = _HotelState(buckets)
            self._hotels[hotel_id] = state
        return state

    def is_held(self, hotel_id: int, now: datetime | None = None) -> bool:
        state = self._hotels.get(hotel_id)
        now = now or self.clock()
        return bool(state and state.held_until and state.held_until > now)

    # -- start-up ----------------------------------------------------------------------------
    async def recover(self, now: datetime | None = None) -> int:
        """Rows left in `sending` longer than their lane's `stale_sending_s` become
        `unknown`. Idempotent; returns how many changed."""
        now = now or self.clock()
        stale = {
            lane: timedelta(seconds=policy.stale_sending_s)
            for lane, policy in self.policies.items()
        }
        # A read first: this runs every few seconds, and an idle daemon should not take the
        # SQLite write lock for nothing.
        async with self.db.read() as conn:
            if not await has_stale_sending(conn, started_before=now - min(stale.values())):
                return 0
        async with self.db.write() as conn:
            changed = await recover_stale_sending(conn, now=now, stale_after=stale)
        if changed:
            logger.warning(
                "{} outbox message(s) were interrupted while sending: reconciling", changed
            )
        return changed

    # -- one step ----------------------------------------------------------------------------
    async def run_once(self, hotel_id: int, now: datetime | None = None) -> SendReport:
        """Reconcile, claim and send for one hotel (rules in the module docstring). Never
        sleeps; sends at most the tokens available per lane. Raises database errors only."""
        now = (now or self.clock()).astimezone(UTC)
        report = SendReport()
        client = self.clients(hotel_id)
        if client is None:
            return report
        state = self._state(hotel_id)
        # One read transaction for the steps of every hotel woken with this one.
        view = await self._views(hotel_id)
        instance_state, unknown = view.instance_state, view.unknown
        if instance_state is not None and instance_state not in SENDABLE_STATES:
            report.counts["held"] += 1
            return report
        if state.held_until is not None and state.held_until > now:
            report.counts["held"] += 1
            return report
        await self._reconcile(hotel_id, client, state, unknown, now, report)
        now_s = now.timestamp()
        limits = {
            lane: min(self.batch, state.buckets[lane].available(now_s)) for lane in LANE_ORDER
        }
        if not any(limits.values()):
            return report
        try:
            epoch = self._units.acting_epoch(hotel_id)
        except LeaseLost:
            report.counts["not_ours"] += 1
            return report
        priority = hotel_id in self._alert_hint and limits[Lane.ALERT] > 0
        self._alert_hint.discard(hotel_id)
        ready = await self._claim(hotel_id, epoch, limits, now, report, priority=priority)
        if ready is None:
            return report
        if ready:
            pause_point("sender_claimed_before_send")  # tests: frozen between claim and send
        # The sends and what each comes to: the use case (app/outbox_step.py).
        gate = _Gate(self, hotel_id, epoch, state, now)
        outcomes = await send_claimed(
            GreenApiMessenger(client),
            gate,
            ready,
            policies=self.policies,
            retries=self.retries,
            now=now,
        )
        # Shielded: the hotel's loop may be cancelled meanwhile (its lease was found lost,
        # shutdown), and a give-back that never commits leaves the rows `sending` until the
        # lane's reconciliation window runs out, which delays them for every daemon.
        await asyncio.shield(self._record(outcomes, now, report))
        self._observe_alert_latency(outcomes)
        return report

    async def _read_views(self, hotel_ids: list[int]) -> list[_StepView]:
        """The views of a round's steps, in one read transaction (two queries)."""
        wanted = sorted(set(hotel_ids))
        async with self.db.read() as conn:
            states = await instance_states(conn, wanted)
            unknown = await list_unknown(conn, hotel_ids=wanted)
        return [_StepView(states.get(h), unknown.get(h, [])) for h in hotel_ids]

    def _observe_alert_latency(self, outcomes: list[SendOutcome]) -> None:
        """Staff-alert latency (guest message -> alert accepted by Green API) of the alerts
        this step sent: read in the background, one read for the alerts of every step that
        finished meanwhile; a failure costs only the observation."""
        self._latency_ids.extend(
            o.item.id
            for o in outcomes
            if o.result is SendResult.SENT and o.item.kind == OutboxKind.ALERT.value
        )
        if self._latency_ids and (self._latency_reader is None or self._latency_reader.done()):
            self._latency_reader = asyncio.create_task(
                self._read_alert_latency(datetime.now(UTC)), name="outbox-alert-latency"
            )

    async def _read_alert_latency(self, accepted_at: datetime) -> None:
        while self._latency_ids:
            sent, self._latency_ids = self._latency_ids, []
            try:
                async with self.db.read() as conn:
                    guest_sent = await alerted_message_times(conn, sent)
                    for guest_sent_at in guest_sent.values():
                        waited_s = (accepted_at - guest_sent_at).total_seconds()
                        metrics.STAFF_ALERT_LATENCY.observe(max(0.0, waited_s))
            except Exception as exc:
                logger.debug("staff alert latency not observed: {}", type(exc).__name__)
            accepted_at = datetime.now(UTC)

    async def _claim(
        self,
        hotel_id: int,
        epoch: int,
        limits: Mapping[Lane, int],
        now: datetime,
        report: SendReport,
        *,
        priority: bool = False,
    ) -> list[OutboxItem] | None:
        """Claim due rows, fenced by the lease: the claims of every hotel stepping in this
        round share one write transaction (`_claim_round`). Automated rows whose reason to
        be sent disappeared are cancelled there. None = the lease is not ours. `priority`:
        an alert is waiting; the claim jumps the queue of background writers."""
        claimed = await self._claims(_ClaimRequest(hotel_id, epoch, limits, now, priority))
        if claimed.ready is None:
            report.counts["not_ours"] += 1
        if claimed.cancelled:
            report.counts["cancelled"] += claimed.cancelled
        return claimed.ready

    async def _claim_round(self, requests: list[_ClaimRequest]) -> list[_Claimed]:
        """One partial unit of work for the claims of a round: the lease rows of its hotels
        are locked and checked in one statement (a hotel whose epoch moved on claims
        nothing), the due rows of the others claimed in two (`claim_due_many`)."""
        now = max(r.now for r in requests)
        priority = any(r.priority for r in requests)
        epochs = {r.hotel_id: r.epoch for r in requests}
        async with self._units.begin(epochs, epochs=epochs, priority=priority, partial=True) as uow:
            conn = uow.conn
            held = {
                r.hotel_id
                for r in requests
                if r.hotel_id in uow.held and r.epoch == epochs[r.hotel_id]
            }
            limits: dict[int, dict[Lane, int]] = {}
            for request in requests:
                if request.hotel_id in held:
                    per_lane = limits.setdefault(request.hotel_id, {})
                    for lane, limit in request.limits.items():
                        per_lane[lane] = max(per_lane.get(lane, 0), limit)
            claimed = await claim_due_many(conn, limits=limits, now=now)
            if claimed:
                pause_point("sender_claim_locked")  # tests: frozen holding the lease lock
            withdrawals = SqlWithdrawals(conn, self.guest_facts)
            cancelled = await cancel_withdrawn(withdrawals, claimed, now=now)
        results: list[_Claimed] = []
        for request in requests:
            if request.hotel_id not in held:
                results.append(_Claimed(None))
                continue
            # A hotel asked twice in one round (two steps raced): the first gets the rows.
            results.append(
                _Claimed(claimed.pop(request.hotel_id, []), cancelled.pop(request.hotel_id, 0))
            )
        return results

    def _give_back_abandoned(self, request: _ClaimRequest, claimed: _Claimed) -> None:
        """A step cancelled (lease lost, shutdown) while its claim was committing: its rows
        go back to `pending` untouched instead of waiting `sending` for reconciliation."""
        if not claimed.ready:
            return
        outcomes = [SendOutcome(i, SendResult.GIVE_BACK, "step cancelled") for i in claimed.ready]
        future = asyncio.ensure_future(self._record(outcomes, request.now, SendReport()))
        future.add_done_callback(_log_give_back_failure)

    async def _record(self, outcomes: list[SendOutcome], now: datetime, report: SendReport) -> None:
        """Every outcome of a step committed (compare-and-set per row) before this returns.

        Group commit: the outcomes of every hotel's step that finish while a write is
        waiting or running go into the next write transaction together, so a round over
        many hotels costs one fsync'd transaction instead of one per hotel. Raises the
        database error of the transaction that carried these outcomes (they stay `sending`
        and are reconciled, as when a step's own transaction failed)."""
        if not outcomes:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_record.append(_Recording(outcomes, now, report, done))
        if self._recorder is None or self._recorder.done():
            # A task of its own: a step's cancellation (lease lost, shutdown) must not stop
            # the commit of the other hotels' outcomes queued with it.
            self._recorder = asyncio.create_task(self._record_queued(), name="outbox-record")
        await done

    async def _record_queued(self) -> None:
        batch: list[_Recording] = []
        try:
            while self._to_record:
                batch = []
                try:
                    async with self.db.write() as conn:
                        # everything queued while this waited for the write lock goes too
                        batch, self._to_record = self._to_record, []
                        for recording in batch:
                            await _record_in(conn, recording)
                except Exception as exc:
                    if not batch:  # no transaction at all: fail every step waiting
                        batch, self._to_record = self._to_record, []
                    if len(batch) <= 1:
                        _settle(batch, exc)
                        continue
                    # One hotel's rows must not fail the others: each step on its own.
                    for recording in batch:
                        try:
                            async with self.db.write() as conn:
                                await _record_in(conn, recording)
                        except Exception as alone:
                            _settle([recording], alone)
                        else:
                            _settle([recording], None)
                    continue
                _settle(batch, None)
        except BaseException:
            # cancelled (shutdown past its timeout): no step may wait for a commit forever;
            # their rows stay `sending` and are reconciled after the restart
            for recording in [*batch, *self._to_record]:
                recording.done.cancel()
            self._to_record = []
            raise

    # -- reconciliation ----------------------------------------------------------------------
    async def _reconcile(
        self,
        hotel_id: int,
        client: GreenApiClient,
        state: _HotelState,
        unknown: list[OutboxItem],
        now: datetime,
        report: SendReport,
    ) -> None:
        """Settle `unknown` rows (read just before) by the rule in the module docstring."""

        def age_s(item: OutboxItem) -> float:
            return (now - started(item)).total_seconds()

        ripe = [u for u in unknown if journal_due(self.policies[u.lane], age_s(u))]
        if not ripe:
            return
        deciding = any(age_s(u) >= self.policies[u.lane].resend_after_s for u in ripe)
        interval = timedelta(seconds=1) if deciding else self.journal_interval
        if state.journal_at is not None and now - state.journal_at < interval:
            return
        state.journal_at = now
        oldest = min(started(u) for u in ripe)
        minutes = min(1440, math.ceil((now - oldest).total_seconds() / 60) + 5)
        try:
            journal = await JOURNAL_READ.call(client.last_outgoing_messages, minutes=minutes)
        except GreenApiError as exc:
            logger.bind(hotel_id=hotel_id).warning("cannot read the outgoing journal: {}", exc)
            return
        try:
            settled = await settle_unknown_sends(
                self._units,
                hotel_id,
                ripe,
                journal,
                policies=self.policies,
                clock_slack_s=self.clock_slack_s,
                now=now,
            )
        except LeaseLost:
            return  # the hotel's new owner settles them (the claim that follows counts it)
        report.counts.update(settled)

    # -- background loop ---------------------------------------------------------------------
    def wake_for_alerts(self, hotel_ids: Iterable[int]) -> None:
        """Like `wake`, for hotels that just got an alert: their next claim jumps the queue
        of background writers (SQLite's write gate), so the alert does not wait for the
        routine writes of every other hotel. A hint only."""
        ids = list(hotel_ids)
        self._alert_hint.update(ids)
        self.wake(ids)

    def wake(self, hotel_ids: Iterable[int] | None = None) -> None:
        """Ask the loops (of `hotel_ids`, default all) to look at the outbox now (e.g. after
        an enqueue). A hint only: a missed wake-up is caught by the next `poll_s` round."""
        if hotel_ids is None:
            for event in self._wakes.values():
                event.set()
            return
        for hotel_id in hotel_ids:
            waiting = self._wakes.get(hotel_id)
            if waiting is not None:
                waiting.set()
            else:
                self._early_wakes.add(hotel_id)

    async def _hotels_with_work(self) -> set[int]:
        async with self.db.read() as conn:
            return await hotels_with_work(conn, now=self.clock())

    async def _tick(self) -> None:
        """Every `poll_s`: one query for all hotels, then wake only the loops of hotels that
        have outbox work now (rows due, rows to recover or reconcile)."""
        while not self._stopping.is_set():
            try:
                self.wake(await self._hotels_with_work())
            except Exception as exc:  # database briefly unavailable: next round
                logger.warning("outbox scan failed: {}", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_s)

    async def run(self) -> None:
        """The sender's shared work as one task, for an owner that runs it in its task group
        (daemon/tasks.py): the ticker, and the recovery of rows a crash left `sending`.
        The per-hotel loops (`hotel_loop`) belong to each hotel's worker (daemon/hotel_worker.py).
        Returns after `stop()`. Raises only what a bug raises (database errors are caught and
        retried inside)."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._tick, name="outbox-sender-tick")
            await self._recover_loop()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the shared work and every hotel loop, then wait (at most `timeout_s`) for the
        commit of outcomes already queued; a commit cut short leaves its rows `sending`, to
        be reconciled after the restart. Idempotent."""
        self._stopping.set()
        self.wake()
        # The short-lived helpers of the steps (group reads, claims and commits): each lives
        # only while it has queued work.
        helpers = (self._views.task, self._claims.task, self._recorder, self._latency_reader)
        tasks = [t for t in helpers if t is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._recorder = self._latency_reader = None

    async def _recover_loop(self) -> None:
        while not self._stopping.is_set():
            fail_point("outbox_supervisor")  # tests: a bug in the sender's shared task
            try:
                # Also after start-up: a row a crashed process left in `sending` moments
                # before this one started becomes unknown once it is stale for its lane.
                await self.recover()
            except Exception as exc:
                logger.warning("outbox recovery failed: {}", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=2.0)

    async def hotel_loop(self, hotel_id: int, stop: asyncio.Event) -> None:
        """One hotel's send loop, until `stop` is set (then `wake([hotel_id])`) or the sender
        stops; a step in progress is finished first. Run by the hotel's worker
        (daemon/hotel_worker.py), so the hotel's poller and its sends start and stop as one unit.
        Raises only what a bug raises."""
        # Runs a step when woken: at start, by wake() (e.g. an alert was enqueued) or by
        # the ticker while the hotel has outbox rows. An idle hotel costs no timer and no
        # query (1,000 loops each polling every second cost ~20-45% of a core).
        # No first step of its own: the ticker's first scan (one query for all hotels) finds
        # the rows a previous run left behind and wakes only those hotels' loops, also when
        # it finished before this loop existed. A first step per hotel cost 1,000 read and
        # 1,000 write transactions at the start of a 1,000-hotel daemon (bench: start-up).
        wake = self._wakes.setdefault(hotel_id, asyncio.Event())
        if hotel_id in self._early_wakes:
            self._early_wakes.discard(hotel_id)
            wake.set()

        def ending() -> bool:
            return self._stopping.is_set() or stop.is_set()

        try:
            while not ending():
                await wake.wait()
                wake.clear()
                if ending():
                    break
                try:
                    await self.run_once(hotel_id)
                except Exception as exc:  # database briefly unavailable: try again next round
                    logger.bind(hotel_id=hotel_id).warning(
                        "outbox step failed: {}", type(exc).__name__
                    )
        finally:
            if self._wakes.get(hotel_id) is wake:
                del self._wakes[hotel_id]


async def _record_in(conn: Connection, recording: _Recording) -> None:
    """Write one step's outcomes (compare-and-set per row) in the caller's transaction."""
    await record_outcomes(SqlOutcomeLog(conn), recording.outcomes, now=recording.now)


def _log_give_back_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning(
            "outbox: giving back a cancelled step's rows failed ({}); they are reconciled",
            type(future.exception()).__name__,
        )


def _settle(batch: list[_Recording], error: Exception | None) -> None:
    """Wake the steps of `batch`: committed (counted in their reports and the metrics) or
    failed with `error`."""
    for recording in batch:
        if recording.done.done():
            continue
        if error is not None:
            recording.done.set_exception(error)
            continue
        counts = recording.report.counts
        for o in recording.outcomes:
            counts[o.result.value] += 1
            if o.result is SendResult.SENT:
                counts[f"sent:{o.item.lane}"] += 1
            kind = metrics.bounded(o.item.kind, _KINDS)
            metrics.SENDS.labels(kind, o.item.lane.value, o.result.value).inc()
        recording.done.set_result(None)
