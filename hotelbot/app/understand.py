"""Use case: understand a batch - what the processor's one write transaction does.

`understand_batch(store, works, hotels, now=...)` takes notifications the processor has
interpreted and analysed (`Work`, in notification order) and, in the one transaction the
store is bound to: stores guests, conversations and messages; applies edits, deletions,
reactions, delivery statuses and echoes; lets a staff reply or acknowledgement mark its
conversation handled (`app.handled`); alerts staff (`app.alerts`: cooldown per
conversation, emergencies past it); applies STOP/START and queues their confirmation; runs
the message hooks (first-message and keyword triggers, fact answers); marks the
notifications processed. Either all of it commits or none of it does.

`refine_verdicts` stores the LLM's later answer for messages committed on the rules'
verdict (the processor's fast path) without ever withdrawing an alert.

Idempotence: messages are keyed (hotel, chat, idMessage), alerts (hotel, message), outbox
rows (hotel, idempotency key). Re-applying a batch (a replay after a crash, a {{SWE001}}
placeholder replaced by the real text) never queues a second alert or confirmation.

The store (`storage.understanding.SqlUnderstandingStore`) does the reading and writing,
batched (one statement per kind of row, whatever the batch size); the decisions are here
and in `hotelbot.domain`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from hotelbot.app.alerts import AlertStore, Attention, BatchResult, decide_alerts
from hotelbot.app.chats import ConvState, GuestState, Key, MessageKey
from hotelbot.app.handled import HandlingStore, mark_handled
from hotelbot.domain.acknowledgement import AckRoute, Handling, mentioned_references
from hotelbot.domain.alert_path import urgent
from hotelbot.domain.events import (
    MODIFIER_KINDS,
    DeliveryStatus,
    Event,
    IncomingMessage,
    MessageEvent,
    MessageKind,
    OutgoingMessage,
)
from hotelbot.domain.guest_language import GuestLanguage, observe
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.optout import (
    KeywordIntent,
    confirmation_key,
    confirmation_language,
    confirmation_text,
    opt_state_after,
)
from hotelbot.domain.outbox import OutboxKind
from hotelbot.domain.sentiment import Verdict
from hotelbot.domain.signals import SignalKind

# What a sendFileByUrl comes back as in its echo (the caption is the event's text).
_SENT_FILE_KINDS = frozenset(
    {MessageKind.IMAGE, MessageKind.VIDEO, MessageKind.DOCUMENT, MessageKind.AUDIO}
)

# Guest entries that are no message the guest wrote: no keyword, no hooks, and they do not
# make a guest's first message (a missed call is stored so staff see it, nothing more).
_NO_FOLLOWUP_KINDS = MODIFIER_KINDS | {MessageKind.POLL_UPDATE, MessageKind.CALL}

# (alert id, conversation id, when the guest sent the alerted message)
PointedAlert = tuple[int, int, datetime]


@dataclass(slots=True)
class Work:
    """One notification on its way through the processor (mutable by the processor only;
    in the write transaction, the store may withdraw a signal's need for attention)."""

    notification_id: int
    hotel_id: int
    receipt_id: int
    received_at: datetime
    attempts: int
    event: Event | None = None
    verdict: Verdict | None = None
    keyword: KeywordIntent | None = None
    signal: SignalKind | None = None  # a message without words (domain.signals)
    error: str | None = None
    done: bool = False


@dataclass(frozen=True, slots=True)
class GuestMessageInfo:
    """What a message hook learns about one incoming guest message.

    `is_first_message`: the first incoming message ever stored for this guest (it may be a
    {{SWE001}} placeholder with `text` None). `keyword`: "stop"/"start" when the whole
    message was an opt-out/opt-in keyword (`opted_out` already reflects it).
    `needs_staff`: the verdict asks for a person (a complaint, a request, an emergency); an
    automatic answer would talk past the guest, so keyword answers are not sent.
    """

    hotel_id: int
    guest_id: int
    conversation_id: int
    message_id: int
    chat_id: str
    id_message: str
    kind: str
    text: str | None
    sent_at: datetime
    is_first_message: bool
    keyword: KeywordIntent | None
    opted_out: bool
    language: str | None
    needs_staff: bool = False


@dataclass(frozen=True, slots=True)
class MessageWrite:
    """A message row to store (insert, or replace a placeholder) for `work`'s event."""

    work: Work
    event: MessageEvent
    conversation_id: int
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class TargetMark:
    """A deletion (`deleted`) or a reaction (`emoji`, None when taken back) applied to the
    stored message `target_id` of a chat."""

    hotel_id: int
    chat_id: str
    target_id: str
    deleted: bool
    emoji: str | None = None


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    """A stored guest message as `refine_verdicts` finds it."""

    message_id: int
    conversation_id: int
    requires_attention: bool


class UnderstandingStore(AlertStore, Protocol):
    """Everything `understand_batch` reads and writes, all in one transaction."""

    @property
    def handling(self) -> HandlingStore:
        """Handling state of conversations outside the batch (and alert acknowledgement)."""
        ...

    def fit_guest_name(self, name: str) -> str:
        """`name` as the guests table holds it."""
        ...

    async def withdraw_signals_without_stay(self, works: Sequence[Work]) -> None:
        """Signals from someone without a current stay stop requiring attention."""
        ...

    async def load_chats(
        self, keys: Mapping[Key, bool], guest_keys: Sequence[Key], now: datetime
    ) -> tuple[dict[Key, GuestState], dict[Key, ConvState]]:
        """The conversations of `keys` (chat -> is_group) and guests of `guest_keys`,
        created when missing."""
        ...

    async def record_echo(
        self, *, hotel_id: int, chat_id: str, id_message: str, text: str | None, is_file: bool
    ) -> bool:
        """Match an API echo to the outbox row that sent it; True when it is ours."""
        ...

    async def sent_by_us(self, hotel_id: int, chat_id: str, text: str) -> bool:
        """hotelbot sent this text to the chat (an echo without its idMessage yet)."""
        ...

    async def alerts_quoted(self, hotel_id: int, id_message: str) -> list[PointedAlert]:
        """The alerts whose staff message (alert, reminder, escalation) has this idMessage."""
        ...

    async def alerts_by_reference(
        self, hotel_id: int, references: Collection[int]
    ) -> list[PointedAlert]:
        """The hotel's alerts with these references ("#12")."""
        ...

    async def write_messages(
        self, rows: Sequence[MessageWrite], now: datetime
    ) -> dict[MessageKey, int]:
        """Upsert the message rows; {key: row id} of those written (a late placeholder
        never replaces real text, nor the original an edit: those are left out)."""
        ...

    async def mark_targets(self, marks: Sequence[TargetMark], now: datetime) -> None:
        """Apply deletions and reactions to their stored messages."""
        ...

    async def apply_edit(self, work: Work, event: MessageEvent, now: datetime) -> int | None:
        """Give the edited message its new text and verdict; its row id, None if unknown."""
        ...

    async def write_chats(
        self,
        guests: Mapping[Key, GuestState],
        convs: Mapping[Key, ConvState],
        now: datetime,
    ) -> None:
        """Write back the guests marked dirty and the conversations marked touched."""
        ...

    async def enqueue(
        self, *, hotel_id: int, idempotency_key: str, kind: str, chat_id: str, text: str
    ) -> int | None:
        """Queue a message (idempotent by the key)."""
        ...

    async def run_hooks(self, info: GuestMessageInfo) -> None:
        """Run the message hooks for one incoming guest message (they may write)."""
        ...

    async def lift_suppression(self, chats: Sequence[Key]) -> None:
        """START lifts a STOP that outlived `guest forget`."""
        ...

    async def apply_delivery_statuses(self, works: Sequence[Work]) -> None:
        """Record the delivery statuses among `works` on the outbox rows they concern."""
        ...

    async def apply_instance_event(self, work: Work, hotel: HotelPolicy | None) -> None:
        """An instance event (state, socket, quota, call): stored and logged."""
        ...

    async def mark_processed(self, works: Sequence[Work], now: datetime) -> None:
        """Mark the works' notifications processed (unless replaced meanwhile)."""
        ...


class RefineStore(Protocol):
    """What `refine_verdicts` reads and writes, in one transaction."""

    async def stored_verdict(self, work: Work, event: IncomingMessage) -> StoredVerdict | None:
        """The message row of `event`, unless it is unknown or edited since."""
        ...

    async def store_verdict(
        self, message_id: int, verdict: Verdict, now: datetime, *, attention: bool
    ) -> None:
        """Replace the verdict columns; with `attention` False leave `requires_attention`
        and the category as they are."""
        ...

    async def alerted_messages(self, message_ids: Sequence[int]) -> set[int]:
        """Those of `message_ids` that have an alert row already."""
        ...

    async def count_for_followup(
        self, conversation_id: int, message_id: int, now: datetime
    ) -> None:
        """Count `message_id` into its conversation's next alert (once: a message counted
        already, or an older one, changes nothing)."""
        ...


async def understand_batch(
    store: UnderstandingStore,
    works: Sequence[Work],
    hotels: Mapping[int, HotelPolicy],
    *,
    now: datetime,
) -> BatchResult:
    """Apply `works` (interpreted, analysed, in notification order) in the store's
    transaction and mark their notifications processed. Raises whatever the store or a
    hook raises; the caller rolls back and may retry item by item. May run twice for the
    same works (a replay): nothing is alerted, queued or counted twice."""
    result = BatchResult()
    messages = [
        w
        for w in works
        if isinstance(w.event, IncomingMessage | OutgoingMessage) and w.hotel_id in hotels
    ]
    if messages:
        # A signal alerts only about a guest with a current stay: decided before the rows
        # are written, so the stored verdict says what happened.
        await store.withdraw_signals_without_stay(messages)
        await _understand_messages(store, messages, hotels, now, result)
    await store.apply_delivery_statuses(works)
    for work in works:
        if work.event is not None and not isinstance(work.event, _MESSAGE_OR_STATUS):
            await store.apply_instance_event(work, hotels.get(work.hotel_id))
    await store.mark_processed(works, now)
    result.processed = len(works)
    return result


@dataclass(slots=True)
class _FollowUp:
    """An incoming guest message whose keyword and hooks run once the rows are written."""

    work: Work
    event: IncomingMessage
    sent_at: datetime
    is_first: bool


async def _understand_messages(
    store: UnderstandingStore,
    works: Sequence[Work],
    hotels: Mapping[int, HotelPolicy],
    now: datetime,
    result: BatchResult,
) -> None:
    keys: dict[Key, bool] = {}
    for w in works:
        assert isinstance(w.event, MessageEvent)
        keys[(w.hotel_id, w.event.chat_id)] = w.event.is_group
    guest_keys = [k for k in keys if hotels[k[0]].is_guest_chat(k[1])]
    guests, convs = await store.load_chats(keys, guest_keys, now)
    handling = _BatchHandling(store.handling, convs)
    rows: dict[MessageKey, MessageWrite] = {}
    attention: list[tuple[MessageKey, Attention]] = []  # message_id set once rows are written
    edits: list[tuple[Work, MessageEvent]] = []
    marks: list[TargetMark] = []  # deletions and reactions applied to their targets
    followups: list[_FollowUp] = []  # keywords and hooks
    for work in works:
        event = work.event
        assert isinstance(event, MessageEvent)
        key = (work.hotel_id, event.chat_id)
        hotel = hotels[work.hotel_id]
        conv = convs[key]
        guest = guests.get(key)
        sent_at = event.timestamp or work.received_at
        mkey = (work.hotel_id, event.chat_id, event.id_message)
        rows[mkey] = MessageWrite(work, event, conv.id, sent_at)
        conv.touched = True
        conv.last_message_at = _later(conv.last_message_at, sent_at)
        ours = False
        if isinstance(event, OutgoingMessage) and event.from_api:
            ours = await store.record_echo(
                hotel_id=work.hotel_id,
                chat_id=event.chat_id,
                id_message=event.id_message,
                text=event.text,
                is_file=event.kind in _SENT_FILE_KINDS,
            )
        if hotel.is_staff_chat(event.chat_id):
            # A person in the staff (or escalation) chat may acknowledge alerts; a message
            # sent through the API there never does (a second copy of an alert, resent after
            # an ambiguous failure, names its own "#N").
            if not (isinstance(event, OutgoingMessage) and event.from_api):
                await _staff_acknowledged(store, handling, hotel, event, sent_at)
            continue
        if isinstance(event, OutgoingMessage):
            # Staff answered the guest: typed on the hotel phone, or sent through the API by
            # another tool (an echo that is none of hotelbot's messages to this guest).
            if event.from_phone or (
                not ours
                and event.text is not None
                and not await store.sent_by_us(work.hotel_id, event.chat_id, event.text)
            ):
                await mark_handled(
                    handling,
                    conv.id,
                    at=sent_at,
                    route=AckRoute.STAFF_REPLY,
                    pause=timedelta(hours=hotel.staff_pause_h),
                )
            continue
        if guest is None:
            continue  # a group (not treated as guests) or the staff chat: stored only
        assert isinstance(event, IncomingMessage)
        conv.last_guest_message_at = _later(conv.last_guest_message_at, sent_at)
        _update_guest(store, guest, event, work, sent_at)
        verdict = work.verdict
        if event.kind is MessageKind.EDITED and event.target_id:
            edits.append((work, event))
        elif event.kind is MessageKind.DELETED and event.target_id:
            marks.append(TargetMark(work.hotel_id, event.chat_id, event.target_id, True))
        elif event.kind is MessageKind.REACTION and event.target_id:
            # any text the sender put there; empty = the reaction was taken back
            marks.append(
                TargetMark(work.hotel_id, event.chat_id, event.target_id, False, event.text or None)
            )
        elif verdict is not None and verdict.requires_attention:
            attention.append((mkey, _attention(key, event.text, verdict, work.signal)))
        if event.kind not in _NO_FOLLOWUP_KINDS:
            is_first = guest.first_message_at is None
            if guest.first_message_at is None:
                guest.first_message_at, guest.dirty = sent_at, True
            followups.append(_FollowUp(work, event, sent_at, is_first))
    ids = await store.write_messages(list(rows.values()), now) if rows else {}
    if marks:
        await store.mark_targets(marks, now)
    for edit, edit_event in edits:
        target = await store.apply_edit(edit, edit_event, now)
        verdict = edit.verdict
        if target is not None and verdict is not None and verdict.requires_attention:
            tkey = (edit.hotel_id, edit_event.chat_id, edit_event.target_id or "")
            ids[tkey] = target
            akey = (edit.hotel_id, edit_event.chat_id)
            attention.append((tkey, _attention(akey, edit_event.text, verdict, None)))
    pending = []
    for mkey, item in attention:
        if mkey in ids:  # not written: a late placeholder changed nothing
            item.message_id = ids[mkey]
            pending.append(item)
    await decide_alerts(store, pending, convs, guests, hotels, now, result)
    # Written before the follow-ups: their hooks (keyword answers) read the guest's facts,
    # such as the language just detected, from the database. They only read this state.
    await store.write_chats(guests, convs, now)
    for followup in followups:
        await _after_message(store, hotels[followup.work.hotel_id], followup, ids, convs, guests)
    # START also lifts a STOP that outlived `guest forget` (storage/suppression.py).
    restarted = [
        (w.hotel_id, w.event.chat_id)
        for w in works
        if w.keyword == "start" and isinstance(w.event, IncomingMessage)
    ]
    if restarted:
        await store.lift_suppression(restarted)


# Everything else a notification carries is an instance event (state, socket, quota, call).
_MESSAGE_OR_STATUS: tuple[type, ...] = (IncomingMessage, OutgoingMessage, DeliveryStatus)


def _attention(
    key: Key, text: str | None, verdict: Verdict, signal: SignalKind | None
) -> Attention:
    return Attention(
        key, 0, text, verdict.reason, signal, verdict.category, verdict.language, urgent(verdict)
    )


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


class _BatchHandling:
    """`app.handled.HandlingStore` inside the processing transaction: conversations of the
    batch are read and changed in memory (written with the others by `write_chats`, in
    message order), any other conversation and the alerts through the store."""

    def __init__(self, outside: HandlingStore, convs: Mapping[Key, ConvState]) -> None:
        self._outside = outside
        self._by_id = {conv.id: conv for conv in convs.values()}

    async def handling(self, conversation_id: int) -> Handling | None:
        conv = self._by_id.get(conversation_id)
        if conv is None:
            return await self._outside.handling(conversation_id)
        return Handling(
            conv.handled_at,
            conv.handled_by_staff_until,
            conv.last_staff_reply_at,
            conv.suppressed_alerts,
            conv.last_suppressed_message_id,
        )

    async def save_handling(self, conversation_id: int, state: Handling) -> None:
        conv = self._by_id.get(conversation_id)
        if conv is None:
            await self._outside.save_handling(conversation_id, state)
            return
        conv.handled_at = state.handled_at
        conv.handled_by_staff_until = state.handled_by_staff_until
        conv.last_staff_reply_at = state.last_staff_reply_at
        conv.suppressed_alerts = state.suppressed_alerts
        conv.last_suppressed_message_id = state.last_suppressed_message_id
        conv.touched = True

    async def acknowledge_alerts(
        self, conversation_id: int, *, answered_at: datetime, route: AckRoute
    ) -> int:
        return await self._outside.acknowledge_alerts(
            conversation_id, answered_at=answered_at, route=route
        )


async def _staff_acknowledged(
    store: UnderstandingStore,
    handling: _BatchHandling,
    hotel: HotelPolicy,
    event: MessageEvent,
    at: datetime,
) -> None:
    """A message in the staff or escalation chat acknowledges the alerts it points at: a
    reaction to an alert (or its reminder or escalation), a reply quoting one, or a text
    naming its reference ("#12"). The guests of those alerts are then handled."""
    if event.kind in (MessageKind.EDITED, MessageKind.DELETED):
        return
    found: list[PointedAlert] = []
    route = AckRoute.REFERENCE
    if event.kind is MessageKind.REACTION:
        if not event.target_id or not (event.text or "").strip():
            return  # a reaction taken back acknowledges nothing
        found, route = await store.alerts_quoted(hotel.id, event.target_id), AckRoute.REACTION
    elif event.target_id:
        found, route = await store.alerts_quoted(hotel.id, event.target_id), AckRoute.QUOTE
    if not found and event.kind is not MessageKind.REACTION:
        refs = mentioned_references(event.text)
        found, route = await store.alerts_by_reference(hotel.id, refs), AckRoute.REFERENCE
    # Staff pointed at these alerts: handled as of the later of their message and the
    # alerted guest message, so the pointed alert is acknowledged even when the guest's
    # timestamp runs ahead of the staff member's (a call's end, clock skew).
    handled_at: dict[int, datetime] = {}
    for _, conversation_id, sent_at in found:
        handled_at[conversation_id] = max(handled_at.get(conversation_id, at), sent_at)
    for conversation_id, when in sorted(handled_at.items()):
        await mark_handled(
            handling,
            conversation_id,
            at=when,
            route=route,
            pause=timedelta(hours=hotel.staff_pause_h),
        )


def _update_guest(
    store: UnderstandingStore, guest: GuestState, event: IncomingMessage, work: Work, at: datetime
) -> None:
    """The guest's name, language (domain.guest_language) and opt-out after this message."""
    name = event.contact_name or event.sender_name
    if name:
        name = store.fit_guest_name(name)
        if name != guest.name:
            guest.name, guest.dirty = name, True
    verdict = work.verdict
    if verdict is not None:
        # A switch needs two messages in the new language; the operator's choice stays.
        before = GuestLanguage.stored(
            guest.language, guest.language_source, guest.language_candidate
        )
        after = observe(before, verdict.language)
        if after != before:
            guest.language = after.language
            guest.language_source = None if after.source is None else after.source.value
            guest.language_candidate = after.candidate
            guest.dirty = True
    opted = opt_state_after(guest.opted_out, guest.opted_out_at, work.keyword, at)
    if opted != (guest.opted_out, guest.opted_out_at):
        guest.opted_out, guest.opted_out_at = opted
        guest.dirty = True


async def _after_message(
    store: UnderstandingStore,
    hotel: HotelPolicy,
    followup: _FollowUp,
    ids: Mapping[MessageKey, int],
    convs: Mapping[Key, ConvState],
    guests: Mapping[Key, GuestState],
) -> None:
    """Opt-out confirmation and message hooks for one incoming guest message."""
    work, event = followup.work, followup.event
    key = (work.hotel_id, event.chat_id)
    message_id = ids.get((work.hotel_id, event.chat_id, event.id_message))
    if message_id is None:
        return  # the row was not replaced (a late placeholder): nothing new happened
    guest = guests[key]
    if work.keyword is not None and event.text:
        language = confirmation_language(event.text, guest.language)
        local_day = followup.sent_at.astimezone(hotel.tz).date()
        await store.enqueue(
            hotel_id=work.hotel_id,
            idempotency_key=confirmation_key(work.keyword, event.chat_id, local_day),
            kind=OutboxKind.OPTOUT if work.keyword == "stop" else OutboxKind.OPTIN,
            chat_id=event.chat_id,
            text=confirmation_text(work.keyword, language),
        )
    await store.run_hooks(
        GuestMessageInfo(
            hotel_id=work.hotel_id,
            guest_id=guest.id,
            conversation_id=convs[key].id,
            message_id=message_id,
            chat_id=event.chat_id,
            id_message=event.id_message,
            kind=event.kind.value,
            text=event.text,
            sent_at=followup.sent_at,
            is_first_message=followup.is_first,
            keyword=work.keyword,
            opted_out=guest.opted_out,
            language=guest.language,
            needs_staff=work.verdict is not None and work.verdict.requires_attention,
        )
    )


async def refine_verdicts(
    store: RefineStore, refined: Sequence[tuple[Work, Verdict]], *, now: datetime
) -> int:
    """Store the LLM's verdicts of messages committed before it answered (the processor's
    fast path, and messages of the same chat committed with it). `requires_attention` is
    never turned off and no alert is withdrawn. A message that needs staff only now is
    counted into its conversation's next alert (a follow-up after the cooldown: its chat
    was alerted when it was committed). A message edited since keeps the edit's verdict.
    Idempotent; may run twice. Returns the number of messages whose verdict was stored."""
    changed = 0
    for work, verdict in refined:
        event = work.event
        if not isinstance(event, IncomingMessage):
            continue
        stored = await store.stored_verdict(work, event)
        if stored is None:
            continue
        await store.store_verdict(
            stored.message_id, verdict, now, attention=verdict.requires_attention
        )
        changed += 1
        # Needs staff only now, and was not alerted: counted, the cooldown's follow-up names it.
        newly = verdict.requires_attention and not stored.requires_attention
        if newly and stored.message_id not in await store.alerted_messages([stored.message_id]):
            await store.count_for_followup(stored.conversation_id, stored.message_id, now)
    return changed


__all__ = [
    "GuestMessageInfo",
    "MessageWrite",
    "PointedAlert",
    "RefineStore",
    "StoredVerdict",
    "TargetMark",
    "UnderstandingStore",
    "Work",
    "refine_verdicts",
    "understand_batch",
]
