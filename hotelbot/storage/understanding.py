"""Writes what the processor understood: one call = one transaction over a batch.

`apply_batch(conn, works, ...)` upserts guests, conversations and messages, applies edits,
deletions, reactions, delivery statuses and echoes, decides staff alerts (cooldown per
conversation), enqueues alerts and opt-out confirmations into the outbox, runs the message
hooks, and marks the notifications processed - all on the caller's connection, so either
all of it commits or none of it does. Statements are batched (executemany / IN lists);
per-row round trips remain only for rare events (edits, statuses, echoes, alerts).

Idempotence: messages are keyed (hotel, chat, idMessage), alerts (hotel, message), outbox
rows (hotel, idempotency key). Re-applying a batch (a replay after a crash, a {{SWE001}}
placeholder replaced by the real text) never enqueues a second alert or confirmation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import Insert, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.handled import mark_handled
from hotelbot.domain import alerts as policy
from hotelbot.domain.acknowledgement import AckRoute, Handling, mentioned_references
from hotelbot.domain.alert_path import urgent
from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.events import (
    MODIFIER_KINDS,
    DeliveryStatus,
    Event,
    IncomingCall,
    IncomingMessage,
    InstanceStateChanged,
    InstanceStatusChanged,
    MessageEvent,
    MessageKind,
    OutgoingMessage,
    QuotaExceeded,
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
from hotelbot.domain.signal_texts import digest_line, signal_alert_text
from hotelbot.domain.signals import SignalKind
from hotelbot.storage.alerts import AlertDraft, BatchResult, record_alerts
from hotelbot.storage.chat_state import ConvState, GuestState, Key, load_states, write_states
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.handling import (
    PointedAlert,
    SqlHandlingStore,
    alerts_by_reference,
    alerts_quoted,
    sent_by_us,
)
from hotelbot.storage.hotels import set_instance_state
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message
from hotelbot.storage.notification_state import mark_processed
from hotelbot.storage.outbox import enqueue, record_delivery_status, record_echo
from hotelbot.storage.signals import digest_counts, digest_since, withdraw_without_stay
from hotelbot.storage.suppression import lift as lift_suppression
from hotelbot.storage.types import fit

# What a sendFileByUrl comes back as in its echo (the caption is the event's text).
_SENT_FILE_KINDS = frozenset(
    {MessageKind.IMAGE, MessageKind.VIDEO, MessageKind.DOCUMENT, MessageKind.AUDIO}
)


@dataclass(slots=True)
class Work:
    """One notification on its way through the processor (mutable by the processor only;
    in the write transaction, storage.signals may withdraw a signal's need for attention)."""

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
    """What a message hook learns about one incoming guest message (see `MessageHook`).

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


# Runs inside the processing transaction, after the message rows are written. It may
# write with `conn` (same transaction) and must be idempotent: a replayed notification
# (e.g. a placeholder replaced by the real text) calls it again for the same message_id.
# Raising fails the whole batch; the processor then retries the items one by one and the
# failing item is recorded with process_error.
MessageHook = Callable[[AsyncConnection, GuestMessageInfo], Awaitable[None]]

# (conn, hotel_id, guest_id or None, chat_id) -> the guest's room now, or None. Called in
# the processing transaction only when an alert is about to be written (rare), so stays
# (another feature) can put the room number into staff alerts.
RoomLookup = Callable[[AsyncConnection, int, int | None, str], Awaitable[str | None]]


@dataclass(slots=True)
class _Attention:
    """A message that requires attention, decided after its row id is known."""

    key: Key
    message_key: tuple[int, str, str]
    text: str | None
    reason: str
    signal: SignalKind | None = None
    category: AttentionCategory | None = None
    language: str | None = None  # the guest's, as the analyser saw it
    urgent: bool = False  # an emergency (domain.alert_path.urgent)


# Guest entries that are no message the guest wrote: no keyword, no hooks, and they do not
# make a guest's first message (a missed call is stored so staff see it, nothing more).
_NO_FOLLOWUP_KINDS = MODIFIER_KINDS | {MessageKind.POLL_UPDATE, MessageKind.CALL}


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


async def apply_batch(
    conn: AsyncConnection,
    works: Sequence[Work],
    hotels: Mapping[int, HotelPolicy],
    *,
    now: datetime,
    hooks: Sequence[MessageHook] = (),
    room_lookup: RoomLookup | None = None,
) -> BatchResult:
    """Apply `works` (interpreted, analysed, in notification order) in the caller's
    transaction and mark their notifications processed. Raises whatever the database or a
    hook raises; the caller rolls back and may retry item by item."""
    result = BatchResult()
    messages = [
        w
        for w in works
        if isinstance(w.event, IncomingMessage | OutgoingMessage) and w.hotel_id in hotels
    ]
    if messages:
        # A signal alerts only about a guest with a current stay: decided before the rows
        # are written, so the stored verdict says what happened.
        await withdraw_without_stay(conn, messages)
        await _apply_messages(conn, messages, hotels, now, hooks, room_lookup, result)
    ours = await _our_status_targets(conn, works)
    for work in works:
        event = work.event
        if isinstance(event, DeliveryStatus):
            if (work.hotel_id, event.id_message) in ours:
                await record_delivery_status(
                    conn, hotel_id=work.hotel_id, id_message=event.id_message, status=event.status
                )
        elif not isinstance(event, IncomingMessage | OutgoingMessage):
            await _apply_other(conn, work, hotels.get(work.hotel_id))
    await mark_processed(conn, works, now)
    result.processed = len(works)
    return result


async def _our_status_targets(conn: AsyncConnection, works: Sequence[Work]) -> set[tuple[int, str]]:
    """(hotel, idMessage) of the statuses in `works` that concern an outbox row. One query:
    statuses of messages staff typed on the phone (no outbox row) cost nothing more."""
    keys = {(w.hotel_id, w.event.id_message) for w in works if isinstance(w.event, DeliveryStatus)}
    if not keys:
        return set()
    query = select(OutboxMessage.hotel_id, OutboxMessage.id_message).where(
        tuple_(OutboxMessage.hotel_id, OutboxMessage.id_message).in_(list(keys))
    )
    return {(int(r[0]), str(r[1])) for r in await conn.execute(query)}


async def _apply_other(conn: AsyncConnection, work: Work, hotel: HotelPolicy | None) -> None:
    event = work.event
    slug = hotel.slug if hotel else str(work.hotel_id)
    if isinstance(event, InstanceStateChanged):
        await set_instance_state(conn, work.hotel_id, event.state)
        if event.is_authorized:
            logger.bind(hotel=slug).info("instance state: authorized")
        else:
            logger.bind(hotel=slug).warning(
                "instance state: {} (not authorized: nothing is received or sent)", event.state
            )
    elif isinstance(event, InstanceStatusChanged):
        logger.bind(hotel=slug).info("instance socket {}", event.status)
    elif isinstance(event, QuotaExceeded):
        logger.bind(hotel=slug).warning(
            "Green API quota exceeded ({}: {}/{})", event.status, event.used, event.total
        )
    elif isinstance(event, IncomingCall):
        logger.bind(hotel=slug).debug("incoming call {}", event.status)


def _message_row(
    work: Work, event: MessageEvent, conv_id: int, sent_at: datetime
) -> dict[str, Any]:
    incoming = isinstance(event, IncomingMessage)
    modifier = event.kind in MODIFIER_KINDS
    verdict = None if modifier and event.kind is not MessageKind.REACTION else work.verdict
    return {
        "hotel_id": work.hotel_id,
        "conversation_id": conv_id,
        "chat_id": event.chat_id,
        "id_message": event.id_message,
        "direction": "in" if incoming else "out",
        "from_staff": isinstance(event, OutgoingMessage) and event.from_phone,
        "from_api": isinstance(event, OutgoingMessage) and event.from_api,
        "kind": event.kind.value,
        "type_message": fit(event.type_message, Message.type_message),
        "sender_id": fit(event.sender_id, Message.sender_id),
        "sender_name": fit(event.sender_name, Message.sender_name),
        "text": event.text,
        "undecryptable": event.undecryptable,
        "target_id": fit(event.target_id, Message.target_id),
        "sent_at": sent_at,
        "notification_id": work.notification_id,
        **_verdict_values(verdict, sent_at if verdict else None),
    }


def _verdict_values(verdict: Verdict | None, at: datetime | None) -> dict[str, Any]:
    if verdict is None:
        return {
            "sentiment": None,
            "score": None,
            "requires_attention": False,
            "reason": None,
            "language": None,
            "analyser": None,
            "category": None,
            "analysed_at": None,
        }
    return {
        "sentiment": verdict.sentiment.value,
        "score": verdict.score,
        "requires_attention": verdict.requires_attention,
        "reason": fit(verdict.reason, Message.reason),
        "language": fit(verdict.language, Message.language),
        "analyser": fit(verdict.analyser, Message.analyser),
        "category": verdict.category.value if verdict.category else None,
        "analysed_at": at,
    }


def _message_upsert(conn: AsyncConnection) -> Insert:
    stmt = insert_for(conn, Message)
    ex = stmt.excluded
    replaced = [
        "conversation_id", "kind", "type_message", "sender_id", "sender_name", "text",
        "undecryptable", "target_id", "sent_at", "notification_id", "sentiment", "score",
        "requires_attention", "reason", "language", "analyser", "category", "analysed_at",
        "updated_at",
    ]  # fmt: skip
    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=[Message.hotel_id, Message.chat_id, Message.id_message],
        set_={name: ex[name] for name in replaced},
        # Never replace real text by a late placeholder, nor an edited text by the original.
        where=and_(~Message.edited, or_(Message.undecryptable, ~ex.undecryptable)),
    )
    return upsert.returning(Message.id, Message.hotel_id, Message.chat_id, Message.id_message)


async def _apply_messages(
    conn: AsyncConnection,
    works: Sequence[Work],
    hotels: Mapping[int, HotelPolicy],
    now: datetime,
    hooks: Sequence[MessageHook],
    room_lookup: RoomLookup | None,
    result: BatchResult,
) -> None:
    keys: dict[Key, bool] = {}
    for w in works:
        assert isinstance(w.event, MessageEvent)
        keys[(w.hotel_id, w.event.chat_id)] = w.event.is_group
    guest_keys = [k for k in keys if hotels[k[0]].is_guest_chat(k[1])]
    guests, convs = await load_states(conn, keys, guest_keys, now)
    handling = _BatchHandling(conn, convs)
    rows: dict[tuple[int, str, str], dict[str, Any]] = {}
    attention: list[_Attention] = []
    edits: list[tuple[Work, MessageEvent]] = []
    flags: list[dict[str, Any]] = []  # deletions and reactions applied to their targets
    followups: list[tuple[Work, MessageEvent, datetime, bool]] = []  # hooks + keywords
    for work in works:
        event = work.event
        assert isinstance(event, MessageEvent)
        key = (work.hotel_id, event.chat_id)
        hotel = hotels[work.hotel_id]
        conv = convs[key]
        guest = guests.get(key)
        sent_at = event.timestamp or work.received_at
        mkey = (work.hotel_id, event.chat_id, event.id_message)
        rows[mkey] = _message_row(work, event, conv.id, sent_at)
        conv.touched = True
        conv.last_message_at = _later(conv.last_message_at, sent_at)
        ours = False
        if isinstance(event, OutgoingMessage) and event.from_api:
            ours = None is not await record_echo(
                conn,
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
                await _staff_acknowledged(conn, handling, hotel, event, sent_at)
            continue
        if isinstance(event, OutgoingMessage):
            # Staff answered the guest: typed on the hotel phone, or sent through the API by
            # another tool (an echo that is none of hotelbot's messages to this guest).
            if event.from_phone or (
                not ours
                and event.text is not None
                and not await sent_by_us(conn, work.hotel_id, event.chat_id, event.text)
            ):
                await mark_handled(handling, conv.id, at=sent_at, route=AckRoute.STAFF_REPLY,
                                   pause=timedelta(hours=hotel.staff_pause_h))  # fmt: skip
            continue
        if guest is None:
            continue  # a group (not treated as guests) or the staff chat: stored only
        assert isinstance(event, IncomingMessage)
        conv.last_guest_message_at = _later(conv.last_guest_message_at, sent_at)
        _update_guest(guest, event, work, sent_at)
        if event.kind is MessageKind.EDITED and event.target_id:
            edits.append((work, event))
        elif event.kind is MessageKind.DELETED and event.target_id:
            flags.append({"h": work.hotel_id, "c": event.chat_id, "t": event.target_id,
                          "is_del": True, "emoji": None, "u": now})  # fmt: skip
        elif event.kind is MessageKind.REACTION and event.target_id:
            emoji = fit(event.text or None, Message.reaction)  # any text the sender put there
            flags.append({"h": work.hotel_id, "c": event.chat_id, "t": event.target_id,
                          "is_del": False, "emoji": emoji, "u": now})  # fmt: skip
        elif work.verdict is not None and work.verdict.requires_attention:
            attention.append(_Attention(key, mkey, event.text, work.verdict.reason, work.signal,
                                        work.verdict.category, work.verdict.language,
                                        urgent(work.verdict)))  # fmt: skip
        if event.kind not in _NO_FOLLOWUP_KINDS:
            is_first = guest.first_message_at is None
            if guest.first_message_at is None:
                guest.first_message_at, guest.dirty = sent_at, True
            followups.append((work, event, sent_at, is_first))
    ids: dict[tuple[int, str, str], int] = {}
    if rows:
        values = [{**r, "created_at": now, "updated_at": now} for r in rows.values()]
        for r in await conn.execute(_message_upsert(conn), values):
            ids[(r[1], r[2], r[3])] = int(r[0])
    if flags:
        await _apply_flags(conn, flags)
    for edit, edit_event in edits:
        target = await _apply_edit(conn, edit, edit_event, now)
        verdict = edit.verdict
        if target is not None and verdict is not None and verdict.requires_attention:
            tkey = (edit.hotel_id, edit_event.chat_id, edit_event.target_id or "")
            ids[tkey] = target
            akey = (edit.hotel_id, edit_event.chat_id)
            attention.append(_Attention(akey, tkey, edit_event.text, verdict.reason, None,
                                        verdict.category, verdict.language,
                                        urgent(verdict)))  # fmt: skip
    await _decide_alerts(conn, attention, ids, convs, guests, hotels, now, room_lookup, result)
    # Written before the follow-ups: their hooks (keyword answers) read the guest's facts,
    # such as the language just detected, from the database. They only read this state.
    await write_states(conn, guests, convs, now)
    for item, item_event, item_at, is_first in followups:
        await _after_message(
            conn, hotels[item.hotel_id], item, item_event, item_at, is_first, ids, convs,
            guests, hooks,
        )  # fmt: skip
    # START also lifts a STOP that outlived `guest forget` (storage/suppression.py).
    restarted = [(w.hotel_id, w.event.chat_id) for w in works
                 if w.keyword == "start" and isinstance(w.event, IncomingMessage)]  # fmt: skip
    if restarted:
        await lift_suppression(conn, restarted)


class _BatchHandling:
    """`app.handled.HandlingStore` inside the processing transaction: conversations of the
    batch are read and changed in memory (written with the others by `write_states`, in
    message order), any other conversation and the alerts through SQL on the same
    connection."""

    def __init__(self, conn: AsyncConnection, convs: Mapping[Key, ConvState]) -> None:
        self._sql = SqlHandlingStore(conn)
        self._by_id = {conv.id: conv for conv in convs.values()}

    async def handling(self, conversation_id: int) -> Handling | None:
        conv = self._by_id.get(conversation_id)
        if conv is None:
            return await self._sql.handling(conversation_id)
        return Handling(conv.handled_at, conv.handled_by_staff_until, conv.last_staff_reply_at,
                        conv.suppressed_alerts, conv.last_suppressed_message_id)  # fmt: skip

    async def save_handling(self, conversation_id: int, state: Handling) -> None:
        conv = self._by_id.get(conversation_id)
        if conv is None:
            await self._sql.save_handling(conversation_id, state)
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
        return await self._sql.acknowledge_alerts(
            conversation_id, answered_at=answered_at, route=route
        )


async def _staff_acknowledged(
    conn: AsyncConnection,
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
        found, route = await alerts_quoted(conn, hotel.id, event.target_id), AckRoute.REACTION
    elif event.target_id:
        found, route = await alerts_quoted(conn, hotel.id, event.target_id), AckRoute.QUOTE
    if not found and event.kind is not MessageKind.REACTION:
        refs = mentioned_references(event.text)
        found, route = await alerts_by_reference(conn, hotel.id, refs), AckRoute.REFERENCE
    # Staff pointed at these alerts: handled as of the later of their message and the
    # alerted guest message, so the pointed alert is acknowledged even when the guest's
    # timestamp runs ahead of the staff member's (a call's end, clock skew).
    handled_at: dict[int, datetime] = {}
    for _, conversation_id, sent_at in found:
        handled_at[conversation_id] = max(handled_at.get(conversation_id, at), sent_at)
    for conversation_id, when in sorted(handled_at.items()):
        await mark_handled(handling, conversation_id, at=when, route=route,
                           pause=timedelta(hours=hotel.staff_pause_h))  # fmt: skip


def _update_guest(guest: GuestState, event: IncomingMessage, work: Work, at: datetime) -> None:
    name = event.contact_name or event.sender_name
    if name and name != guest.name:
        guest.name, guest.dirty = fit(name, Guest.name), True
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


async def _apply_flags(conn: AsyncConnection, flags: list[dict[str, Any]]) -> None:
    where = and_(
        Message.hotel_id == bindparam("h"),
        Message.chat_id == bindparam("c"),
        Message.id_message == bindparam("t"),
    )
    # Parameter names must not equal column names: SQLAlchemy would add them to SET.
    deletions = [f for f in flags if f["is_del"]]
    reactions = [f for f in flags if not f["is_del"]]
    if deletions:
        stmt = update(Message).where(where).values(deleted=True, updated_at=bindparam("u"))
        await conn.execute(stmt, deletions)
    if reactions:
        stmt = (
            update(Message)
            .where(where)
            .values(reaction=bindparam("emoji"), updated_at=bindparam("u"))
        )
        await conn.execute(stmt, reactions)


async def _apply_edit(
    conn: AsyncConnection, work: Work, event: MessageEvent, now: datetime
) -> int | None:
    """The target row gets the new text and the new verdict. Returns its id (None when
    the original is not stored: the edit row itself still keeps the new text)."""
    stmt = (
        update(Message)
        .where(
            Message.hotel_id == work.hotel_id,
            Message.chat_id == event.chat_id,
            Message.id_message == event.target_id,
        )
        .values(
            text=event.text,
            edited=True,
            undecryptable=False,
            updated_at=now,
            **_verdict_values(work.verdict, now if work.verdict else None),
        )
        .returning(Message.id)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else int(row[0])


async def _decide_alerts(
    conn: AsyncConnection,
    attention: list[_Attention],
    ids: Mapping[tuple[int, str, str], int],
    convs: Mapping[Key, ConvState],
    guests: Mapping[Key, GuestState],
    hotels: Mapping[int, HotelPolicy],
    now: datetime,
    room_lookup: RoomLookup | None,
    result: BatchResult,
) -> None:
    pending = [(a, ids[a.message_key]) for a in attention if a.message_key in ids]
    if not pending:
        return
    query = select(Alert.message_id).where(Alert.message_id.in_([m for _, m in pending]))
    existing = set((await conn.execute(query)).scalars())
    drafts: list[tuple[ConvState, AlertDraft]] = []
    for item, message_id in pending:
        if message_id in existing:
            continue  # a replay: this message was alerted (or summarised) already
        conv, hotel = convs[item.key], hotels[item.key[0]]
        before = policy.CooldownState(
            conv.last_alert_at, conv.suppressed_alerts, conv.last_suppressed_message_id
        )
        cooldown = timedelta(minutes=hotel.alert_cooldown_min)
        decision, after = policy.on_attention(now, cooldown, before, message_id, urgent=item.urgent)
        if decision is policy.AlertDecision.SUPPRESS:
            _set_cooldown(conv, after)
            continue
        guest = guests.get(item.key)
        guest_id = guest.id if guest else None
        room = await room_lookup(conn, hotel.id, guest_id, item.key[1]) if room_lookup else None
        subject = policy.AlertSubject(guest.name if guest else None, item.key[1],
                                      policy.phone_of(item.key[1]), room)  # fmt: skip
        since = digest_since(conv.last_alert_at, now)
        digest = await digest_counts(conn, conv.id, since, hotel.signal_modes)
        if item.signal is not None:
            lang = hotel.staff_language
            text = signal_alert_text(item.signal, subject.label(lang), lang,
                                     digest, conv.suppressed_alerts, item.text)  # fmt: skip
        else:
            guest_language = item.language if item.language not in (None, "", "und") else None
            text = policy.alert_text(
                subject, item.reason, item.text, conv.suppressed_alerts,
                language=hotel.staff_language, category=item.category,
                guest_language=guest_language or (guest.language if guest else None),
                urgent=item.urgent,
            )  # fmt: skip
            text = "\n".join(filter(None, [text, digest_line(digest, hotel.staff_language)]))
        drafts.append((conv, AlertDraft(hotel.id, conv.id, message_id, "alert", item.reason,
                                        conv.suppressed_alerts, text, signal=item.signal,
                                        category=item.category, urgent=item.urgent)))  # fmt: skip
        _set_cooldown(conv, after)
    if drafts:
        alert_ids = await record_alerts(conn, [d for _, d in drafts], hotels, now, result)
        for conv, draft in drafts:
            conv.open_alert_id = alert_ids.get(draft.message_id, conv.open_alert_id)


def _set_cooldown(conv: ConvState, state: policy.CooldownState) -> None:
    conv.last_alert_at = state.last_alert_at
    conv.suppressed_alerts = state.suppressed
    conv.last_suppressed_message_id = state.last_counted


async def _after_message(
    conn: AsyncConnection,
    hotel: HotelPolicy,
    work: Work,
    event: MessageEvent,
    sent_at: datetime,
    is_first: bool,
    ids: Mapping[tuple[int, str, str], int],
    convs: Mapping[Key, ConvState],
    guests: Mapping[Key, GuestState],
    hooks: Sequence[MessageHook],
) -> None:
    """Opt-out confirmation and message hooks for one incoming guest message."""
    key = (work.hotel_id, event.chat_id)
    message_id = ids.get((work.hotel_id, event.chat_id, event.id_message))
    if message_id is None:
        return  # the row was not replaced (a late placeholder): nothing new happened
    guest = guests[key]
    if work.keyword is not None and event.text:
        language = confirmation_language(event.text, guest.language)
        local_day = sent_at.astimezone(hotel.tz).date()
        await enqueue(
            conn,
            hotel_id=work.hotel_id,
            idempotency_key=confirmation_key(work.keyword, event.chat_id, local_day),
            kind=OutboxKind.OPTOUT if work.keyword == "stop" else OutboxKind.OPTIN,
            chat_id=event.chat_id,
            text=confirmation_text(work.keyword, language),
        )
    if not hooks:
        return
    info = GuestMessageInfo(
        hotel_id=work.hotel_id,
        guest_id=guest.id,
        conversation_id=convs[key].id,
        message_id=message_id,
        chat_id=event.chat_id,
        id_message=event.id_message,
        kind=event.kind.value,
        text=event.text,
        sent_at=sent_at,
        is_first_message=is_first,
        keyword=work.keyword,
        opted_out=guest.opted_out,
        language=guest.language,
        needs_staff=work.verdict is not None and work.verdict.requires_attention,
    )
    for hook in hooks:
        await hook(conn, info)


async def refine_verdicts(
    conn: AsyncConnection, refined: Sequence[tuple[Work, Verdict]], *, now: datetime
) -> int:
    """Store the LLM's verdicts of messages committed before it answered (the processor's
    fast path, and messages of the same chat committed with it). Only the verdict columns
    change; `requires_attention` is never turned off and no alert is withdrawn. A message
    that needs staff only now is counted into its conversation's next alert (a follow-up
    after the cooldown: its chat was alerted when it was committed). A message edited since
    keeps the edit's verdict. Idempotent; may run twice. Returns the number of rows
    changed."""
    changed = 0
    for work, verdict in refined:
        event = work.event
        if not isinstance(event, IncomingMessage):
            continue
        key = and_(
            Message.hotel_id == work.hotel_id,
            Message.chat_id == event.chat_id,
            Message.id_message == event.id_message,
            ~Message.edited,
        )
        row = (
            await conn.execute(
                select(Message.id, Message.conversation_id, Message.requires_attention).where(key)
            )
        ).first()
        if row is None:
            continue
        message_id, conversation_id, needed = int(row[0]), row[1], bool(row[2])
        values = _verdict_values(verdict, now)
        if not verdict.requires_attention:
            del values["requires_attention"], values["category"]
        await conn.execute(
            update(Message).where(Message.id == message_id).values(**values, updated_at=now)
        )
        changed += 1
        if verdict.requires_attention and not needed:
            alerted = (
                await conn.execute(select(Alert.id).where(Alert.message_id == message_id))
            ).first()
            if alerted is None:
                await conn.execute(
                    update(Conversation)
                    .where(
                        Conversation.id == conversation_id,
                        or_(
                            Conversation.last_suppressed_message_id.is_(None),
                            Conversation.last_suppressed_message_id < message_id,
                        ),
                    )
                    .values(
                        suppressed_alerts=Conversation.suppressed_alerts + 1,
                        last_suppressed_message_id=message_id,
                        updated_at=now,
                    )
                )
    return changed
