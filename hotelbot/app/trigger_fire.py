"""Use case: decide a trigger fire (send, defer, skip or miss a trigger's message to a stay).

One rule for every caller: the scheduler's tick decides due time fires, the processor's
message hook first-message and keyword replies, `hotelbot stay` status events and
`hotelbot trigger` a fire now (through `daemon/scheduler.py`); each in the caller's
transaction, whose storage implements `FireStore` (`storage.triggers.SqlFireStore`).
What to do is `domain.send_policy.decide` (quiet hours, daily cap, opt-out, staff pause,
staleness) plus the trigger's conditions and template; the fire log's unique key makes the
decision exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from hotelbot.domain.conditions import StayContext, tags_of
from hotelbot.domain.fire_times import check_out_at
from hotelbot.domain.guest_language import GuestLanguage, message_language
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.outbox import Lane, OutboxKind
from hotelbot.domain.records import StayRecord, TriggerRecord
from hotelbot.domain.send_policy import Defer, DeferReason, FireOutcome, Send, Skip, decide
from hotelbot.domain.templates import MissingValueError, TemplateError, render, stay_values
from hotelbot.domain.triggers import EventKind, EventTrigger


class FireStore(Protocol):
    """What deciding a fire reads and writes, all in the caller's one transaction."""

    async def automated_today(
        self, *, hotel_id: int, chat_id: str, now: datetime, tz: ZoneInfo
    ) -> int:
        """Automated messages to the chat going out on the local day of `now` (the cap)."""
        ...

    async def has_earlier_stay(self, stay: StayRecord) -> bool:
        """The chat had an earlier stay at the hotel (a returning guest)."""
        ...

    async def record_fire(
        self,
        *,
        hotel_id: int,
        trigger_id: int,
        stay_id: int,
        scheduled_for: datetime,
        outcome: str,
        trigger_version: int,
        decided_at: datetime,
        decided_by: str | None = None,
    ) -> int | None:
        """Claim the fire in the fire log: its id, or None when it was decided before."""
        ...

    async def enqueue(
        self,
        *,
        hotel_id: int,
        idempotency_key: str,
        kind: str,
        chat_id: str,
        text: str,
        available_at: datetime | None = None,
        lane: Lane | None = None,
        file_url: str | None = None,
        file_name: str | None = None,
    ) -> int | None:
        """Queue a message (idempotent by the key): its outbox id, None when queued before."""
        ...

    async def set_fire_outcome(
        self, fire_id: int, *, outcome: str, outbox_id: int | None, file_outbox_id: int | None
    ) -> None:
        """Record the fire's outcome and its outbox rows."""
        ...


def trigger_lane(spec: object) -> Lane:
    """The outbox lane of a trigger's message: an answer to what the guest just wrote
    (keyword, first message) is something the guest asked for; everything else is
    automated and paced by the hotel."""
    if isinstance(spec, EventTrigger) and spec.event in (
        EventKind.KEYWORD,
        EventKind.FIRST_MESSAGE,
    ):
        return Lane.REQUESTED
    return Lane.AUTOMATED


def fire_key(trigger_id: int, stay_id: int, scheduled_for: datetime) -> str:
    """The outbox idempotency key of a trigger fire."""
    return f"trigger:{trigger_id}:{stay_id}:{scheduled_for.astimezone(UTC).isoformat()}"


@dataclass(frozen=True, slots=True)
class FireDecision:
    """What `decide_fire` recorded: the outcome, the message text when one was queued, and
    when it may leave."""

    outcome: FireOutcome
    body: str | None
    available_at: datetime

    @property
    def queued(self) -> bool:
        return self.body is not None


async def decide_fire(
    store: FireStore,
    *,
    policy: HotelPolicy,
    trigger: TriggerRecord,
    stay: StayRecord,
    scheduled_for: datetime,
    now: datetime,
    facts_opted_out: bool,
    facts_paused_until: datetime | None,
    decided_by: str | None,
    key_at: datetime | None = None,
    facts_language: GuestLanguage | None = None,
) -> FireDecision | None:
    """Decide one fire and record it (fire log + outbox row) through `store`, in the
    caller's unit of work (the hotel's lease locked; the scheduler's tick and the
    processor's message hook both run it).

    Returns what was decided, or None when the fire was decided before (by anyone) or is
    not due yet. May run any number of times for the same fire: only the first records
    anything. `key_at` (default `scheduled_for`) is the instant in the fire log's unique
    key: a status event passes the stay's creation instant, so it fires once per stay
    however often the status changes back and forth. A trigger's conditions that the stay
    does not meet record "skipped:condition". The message is written in the guest's
    language (`facts_language`, see domain.guest_language.message_language), falling back
    to the hotel's default language when the trigger has no text in it.
    """
    choice = message_language(
        stay_language=stay.language,
        guest=facts_language or GuestLanguage(),
        hotel_default=policy.default_language,
    )
    facts = replace(
        stay.facts(policy.tz, default_language=policy.default_language), language=choice.code
    )
    co_at = check_out_at(facts, default_check_out=policy.default_check_out)
    sent_today = 0
    if policy.daily_cap is not None:
        sent_today = await store.automated_today(
            hotel_id=policy.id, chat_id=stay.chat_id, now=now, tz=policy.tz
        )
    spec = trigger.spec
    after_stay_event = isinstance(spec, EventTrigger) and spec.event in (
        EventKind.CHECK_OUT,
        EventKind.CANCELLATION,
    )
    decision = decide(
        now,
        scheduled_for,
        stay_status=facts.status,
        # A message meant for the stay (scheduled before check-out) is stale once the guest
        # has left; post-stay messages (scheduled at/after check-out) are not. Event
        # triggers (booking confirmation, first-message and keyword replies) are about the
        # stay itself: importing a stay that already ended must not greet the guest. The
        # check-out and cancellation events are about the stay ending: never stale for that.
        is_welcome_like=not after_stay_event
        and (isinstance(spec, EventTrigger) or scheduled_for < co_at),
        about_cancellation=isinstance(spec, EventTrigger) and spec.event is EventKind.CANCELLATION,
        check_out_at=co_at,
        opted_out=facts_opted_out,
        staff_paused_until=facts_paused_until,
        sent_today_count=sent_today,
        daily_cap=policy.daily_cap,
        quiet_hours=policy.quiet_hours,
        tz=policy.tz,
        grace_s=trigger.grace_s,
    )
    body: str | None = None
    caption: str | None = None
    available_at = now
    if isinstance(decision, Skip):
        outcome = FireOutcome.of(decision)
    elif isinstance(decision, Defer) and decision.reason is DeferReason.NOT_DUE:
        return None  # not due yet: nothing to record, a later tick decides it
    elif trigger.conditions.clauses and trigger.conditions.failing(
        StayContext(
            nights=facts.nights,
            language=facts.language,
            room_tags=tags_of(stay.room_tags),
            source=stay.source,
            returning_guest=trigger.conditions.needs_history and await store.has_earlier_stay(stay),
        )
    ):
        outcome = FireOutcome.SKIPPED_CONDITION
    else:
        values = stay_values(
            facts,
            hotel_name=policy.name,
            default_check_in=policy.default_check_in,
            default_check_out=policy.default_check_out,
        )
        try:
            body = render(
                trigger.template, facts.language, values, default_language=policy.default_language
            )
            caption = render_caption(trigger, facts.language, values, policy.default_language)
        except MissingValueError:
            outcome = FireOutcome.SKIPPED_MISSING_VALUE
        except TemplateError:
            outcome = FireOutcome.SKIPPED_BAD_TEMPLATE
        else:
            if isinstance(decision, Send):
                outcome = FireOutcome.ENQUEUED
            else:
                outcome = FireOutcome.of(decision)
                available_at = decision.until
    key_at = key_at or scheduled_for
    fire_id = await store.record_fire(
        hotel_id=policy.id,
        trigger_id=trigger.id,
        stay_id=stay.id,
        scheduled_for=key_at,
        outcome=outcome,
        trigger_version=trigger.version,
        decided_at=now,
        decided_by=decided_by,
    )
    if fire_id is None:
        return None
    if body is not None:
        key = fire_key(trigger.id, stay.id, key_at)
        outbox_id = await store.enqueue(
            hotel_id=policy.id,
            idempotency_key=key,
            kind=OutboxKind.TRIGGER,
            chat_id=stay.chat_id,
            text=body,
            available_at=available_at,
            lane=trigger_lane(trigger.spec),
        )
        file_outbox_id = None
        if trigger.attachment is not None:
            # Its own row right after the text (same time and lane, so it follows it), under
            # its own key: sent, reconciled and withdrawn like the text.
            file_outbox_id = await store.enqueue(
                hotel_id=policy.id,
                idempotency_key=key + ":file",
                kind=OutboxKind.TRIGGER,
                chat_id=stay.chat_id,
                text=caption or "",
                available_at=available_at,
                lane=trigger_lane(trigger.spec),
                file_url=trigger.attachment.url,
                file_name=trigger.attachment.file_name,
            )
        await store.set_fire_outcome(
            fire_id, outcome=outcome, outbox_id=outbox_id, file_outbox_id=file_outbox_id
        )
    return FireDecision(outcome, body, available_at)


def render_caption(
    trigger: TriggerRecord,
    language: str | None,
    values: Mapping[str, str | None],
    default_language: str,
) -> str | None:
    """The caption of the trigger's file in the language its text uses (None: no file or
    no caption). Raises MissingValueError like the text: never a caption with a hole."""
    if trigger.attachment is None:
        return None
    captions = trigger.attachment.caption_template(trigger.template.fallback_language)
    if captions is None:
        return None
    return render(captions, trigger.template.pick_language(language, default_language), values)
