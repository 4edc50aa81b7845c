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

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import Insert, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain import alerts as policy
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
from hotelbot.domain.optout import (
    KeywordIntent,
    confirmation_language,
    confirmation_text,
)
from hotelbot.domain.sentiment import Verdict
from hotelbot.storage.hotels import set_instance_state
from hotelbot.storage.models import Notification
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message
from hotelbot.storage.outbox import enqueue, record_delivery_status, record_echo

Key = tuple[int, str]  # (hotel_id, chat_id)


@dataclass(frozen=True, slots=True)
class HotelPolicy:
    """The hotel settings interpretation needs (a slice of the hotels row)."""

    id: int
    slug: str
    staff_chat_id: str | None
    alert_cooldown_min: int
    staff_pause_h: float
    groups_as_guests: bool

    def is_guest_chat(self, chat_id: str) -> bool:
        """Guest conversations: personal/@lid chats, groups only with groups_as_guests, and
        never the staff chat itself."""
        if chat_id == self.staff_chat_id:
            return False
        return self.groups_as_guests or not chat_id.endswith("@g.us")


@dataclass(slots=True)
class Work:
    """One notification on its way through the processor (mutable by the processor only)."""

    notification_id: int
    hotel_id: int
    receipt_id: int
    received_at: datetime
    attempts: int
    event: Event | None = None
    verdict: Verdict | None = None
    keyword: KeywordIntent | None = None
    error: str | None = None
    done: bool = False


@dataclass(frozen=True, slots=True)
class GuestMessageInfo:
    """What a message hook learns about one incoming guest message (see `MessageHook`).

    `is_first_message`: the first incoming message ever stored for this guest (it may be a
    {{SWE001}} placeholder with `text` None). `keyword`: "stop"/"start" when the whole
    message was an opt-out/opt-in keyword (`opted_out` already reflects it).
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


# Runs inside the processing transaction, after the message rows are written. It may
# write with `conn` (same transaction) and must be idempotent: a replayed notification
# (e.g. a placeholder replaced by the real text) calls it again for the same message_id.
# Raising fails the whole batch; the processor then retries the items one by one and the
# failing item is recorded with process_error.
MessageHook = Callable[[AsyncConnection, GuestMessageInfo], Awaitable[None]]


@dataclass(slots=True)
class _GuestState:
    id: int
    name: str | None
    language: str | None
    opted_out: bool
    first_message_at: datetime | None
    dirty: bool = False
    opted_out_at: datetime | None = None


@dataclass(slots=True)
class _ConvState:
    id: int
    guest_id: int | None
    last_message_at: datetime | None
    last_guest_message_at: datetime | None
    last_staff_reply_at: datetime | None
    handled_by_staff_until: datetime | None
    last_alert_at: datetime | None
    open_alert_id: int | None
    suppressed_alerts: int
    last_suppressed_message_id: int | None
    touched: bool = False


@dataclass(slots=True)
class _Attention:
    """A message that requires attention, decided after its row id is known."""

    key: Key
    message_key: tuple[int, str, str]
    text: str | None
    reason: str


@dataclass(slots=True)
class BatchResult:
    processed: int = 0
    alerts: int = 0
    unsent_alert_hotels: set[int] = field(default_factory=set)


def _insert(conn: AsyncConnection, table: Any) -> Any:
    return (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)


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
        await _apply_messages(conn, messages, hotels, now, hooks, result)
    for work in works:
        if not isinstance(work.event, IncomingMessage | OutgoingMessage):
            await _apply_other(conn, work, hotels.get(work.hotel_id))
    await _mark_processed(conn, works, now)
    result.processed = len(works)
    return result


async def _apply_other(conn: AsyncConnection, work: Work, hotel: HotelPolicy | None) -> None:
    event = work.event
    slug = hotel.slug if hotel else str(work.hotel_id)
    if isinstance(event, DeliveryStatus):
        await record_delivery_status(
            conn, hotel_id=work.hotel_id, id_message=event.id_message, status=event.status
        )
    elif isinstance(event, InstanceStateChanged):
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


async def _load_states(
    conn: AsyncConnection,
    works: Sequence[Work],
    hotels: Mapping[int, HotelPolicy],
    now: datetime,
) -> tuple[dict[Key, _GuestState], dict[Key, _ConvState]]:
    """Create missing guests/conversations (ON CONFLICT DO NOTHING), then read them."""
    keys: dict[Key, bool] = {}
    for w in works:
        assert isinstance(w.event, MessageEvent)
        keys[(w.hotel_id, w.event.chat_id)] = w.event.is_group
    guest_keys = [k for k in keys if hotels[k[0]].is_guest_chat(k[1])]
    guests: dict[Key, _GuestState] = {}
    if guest_keys:
        rows = [
            {
                "hotel_id": h,
                "chat_id": c,
                "phone": policy.phone_of(c),
                "created_at": now,
                "updated_at": now,
            }
            for h, c in guest_keys
        ]
        stmt = _insert(conn, Guest).on_conflict_do_nothing(
            index_elements=[Guest.hotel_id, Guest.chat_id]
        )
        await conn.execute(stmt, rows)
        query = select(
            Guest.hotel_id,
            Guest.chat_id,
            Guest.id,
            Guest.name,
            Guest.language,
            Guest.opted_out,
            Guest.first_message_at,
            Guest.opted_out_at,
        ).where(tuple_(Guest.hotel_id, Guest.chat_id).in_(guest_keys))
        for r in await conn.execute(query):
            guests[(r[0], r[1])] = _GuestState(r[2], r[3], r[4], bool(r[5]), r[6], False, r[7])
    conv_rows = [
        {
            "hotel_id": h,
            "chat_id": c,
            "guest_id": guests[(h, c)].id if (h, c) in guests else None,
            "is_group": is_group,
            "created_at": now,
            "updated_at": now,
        }
        for (h, c), is_group in keys.items()
    ]
    stmt = _insert(conn, Conversation).on_conflict_do_nothing(
        index_elements=[Conversation.hotel_id, Conversation.chat_id]
    )
    await conn.execute(stmt, conv_rows)
    conv_query = select(
        Conversation.hotel_id,
        Conversation.chat_id,
        Conversation.id,
        Conversation.guest_id,
        Conversation.last_message_at,
        Conversation.last_guest_message_at,
        Conversation.last_staff_reply_at,
        Conversation.handled_by_staff_until,
        Conversation.last_alert_at,
        Conversation.open_alert_id,
        Conversation.suppressed_alerts,
        Conversation.last_suppressed_message_id,
    ).where(tuple_(Conversation.hotel_id, Conversation.chat_id).in_(list(keys)))
    convs = {
        (r[0], r[1]): _ConvState(r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11])
        for r in await conn.execute(conv_query)
    }
    return guests, convs


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
        "type_message": event.type_message[:64],
        "sender_id": event.sender_id,
        "sender_name": event.sender_name,
        "text": event.text,
        "undecryptable": event.undecryptable,
        "target_id": event.target_id,
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
            "analysed_at": None,
        }
    return {
        "sentiment": verdict.sentiment.value,
        "score": verdict.score,
        "requires_attention": verdict.requires_attention,
        "reason": verdict.reason[:200],
        "language": verdict.language[:8],
        "analyser": verdict.analyser[:32],
        "analysed_at": at,
    }


def _message_upsert(conn: AsyncConnection) -> Insert:
    stmt = _insert(conn, Message)
    ex = stmt.excluded
    replaced = [
        "conversation_id", "kind", "type_message", "sender_id", "sender_name", "text",
        "undecryptable", "target_id", "sent_at", "notification_id", "sentiment", "score",
        "requires_attention", "reason", "language", "analyser", "analysed_at", "updated_at",
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
    result: BatchResult,
) -> None:
    guests, convs = await _load_states(conn, works, hotels, now)
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
        if isinstance(event, OutgoingMessage):
            if event.from_phone:
                _staff_replied(conv, hotel, sent_at)
            else:
                await record_echo(
                    conn,
                    hotel_id=work.hotel_id,
                    chat_id=event.chat_id,
                    id_message=event.id_message,
                    text=event.text,
                )
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
            flags.append({"h": work.hotel_id, "c": event.chat_id, "t": event.target_id,
                          "is_del": False, "emoji": event.text or None, "u": now})  # fmt: skip
        elif work.verdict is not None and work.verdict.requires_attention:
            attention.append(_Attention(key, mkey, event.text, work.verdict.reason))
        if event.kind not in MODIFIER_KINDS and event.kind is not MessageKind.POLL_UPDATE:
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
            attention.append(_Attention(akey, tkey, edit_event.text, verdict.reason))
    await _decide_alerts(conn, attention, ids, convs, guests, hotels, now, result)
    for item, item_event, item_at, is_first in followups:
        await _after_message(conn, item, item_event, item_at, is_first, ids, convs, guests, hooks)
    await _write_states(conn, guests, convs, now)


def _staff_replied(conv: _ConvState, hotel: HotelPolicy, sent_at: datetime) -> None:
    """Staff typed on the phone: they are on it. Automated messages pause for
    staff_pause_h, and alerts counted during the cooldown need no follow-up any more."""
    conv.last_staff_reply_at = _later(conv.last_staff_reply_at, sent_at)
    pause_until = sent_at + timedelta(hours=hotel.staff_pause_h)
    conv.handled_by_staff_until = _later(conv.handled_by_staff_until, pause_until)
    conv.suppressed_alerts = 0
    conv.last_suppressed_message_id = None


def _update_guest(guest: _GuestState, event: IncomingMessage, work: Work, at: datetime) -> None:
    name = event.contact_name or event.sender_name
    if name and name != guest.name:
        guest.name, guest.dirty = name[:200], True
    verdict = work.verdict
    if (
        verdict is not None
        and verdict.language not in ("", "und")
        and verdict.language != guest.language
    ):
        guest.language, guest.dirty = verdict.language[:8], True
    if work.keyword == "stop" and not guest.opted_out:
        guest.opted_out, guest.opted_out_at, guest.dirty = True, at, True
    elif work.keyword == "start" and guest.opted_out:
        guest.opted_out, guest.opted_out_at, guest.dirty = False, None, True


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
    convs: Mapping[Key, _ConvState],
    guests: Mapping[Key, _GuestState],
    hotels: Mapping[int, HotelPolicy],
    now: datetime,
    result: BatchResult,
) -> None:
    pending = [(a, ids[a.message_key]) for a in attention if a.message_key in ids]
    if not pending:
        return
    existing = set(
        (
            await conn.execute(
                select(Alert.message_id).where(Alert.message_id.in_([m for _, m in pending]))
            )
        ).scalars()
    )
    for item, message_id in pending:
        if message_id in existing:
            continue  # a replay: this message was alerted (or summarised) already
        conv, hotel = convs[item.key], hotels[item.key[0]]
        state = policy.CooldownState(conv.last_alert_at, conv.suppressed_alerts)
        cooldown = timedelta(minutes=hotel.alert_cooldown_min)
        if policy.decide(now, cooldown, state) is policy.AlertDecision.SUPPRESS:
            conv.suppressed_alerts += 1
            conv.last_suppressed_message_id = message_id
            continue
        guest = guests.get(item.key)
        subject = policy.AlertSubject(guest.name if guest else None, item.key[1],
                                      policy.phone_of(item.key[1]))  # fmt: skip
        text = policy.alert_text(subject, item.reason, item.text, conv.suppressed_alerts)
        alert_id = await record_alert(
            conn, hotel, conv.id, message_id, "alert", item.reason, conv.suppressed_alerts,
            text, now, result,
        )  # fmt: skip
        conv.last_alert_at, conv.open_alert_id = now, alert_id
        conv.suppressed_alerts, conv.last_suppressed_message_id = 0, None


async def record_alert(
    conn: AsyncConnection,
    hotel: HotelPolicy,
    conversation_id: int,
    message_id: int,
    kind: str,
    reason: str,
    more_count: int,
    text: str,
    now: datetime,
    result: BatchResult,
) -> int | None:
    """Enqueue the alert to the staff chat (idempotency key "alert:<message id>") and record
    it. Without a staff chat the alert is recorded with state "unsent". Idempotent."""
    outbox_id = None
    if hotel.staff_chat_id:
        outbox_id = await enqueue(
            conn,
            hotel_id=hotel.id,
            idempotency_key=f"alert:{message_id}",
            kind="alert",
            chat_id=hotel.staff_chat_id,
            text=text,
        )
    else:
        result.unsent_alert_hotels.add(hotel.id)
    stmt = (
        _insert(conn, Alert)
        .values(
            hotel_id=hotel.id,
            message_id=message_id,
            conversation_id=conversation_id,
            kind=kind,
            reason=reason[:200],
            more_count=more_count,
            state="queued" if hotel.staff_chat_id else "unsent",
            outbox_id=outbox_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Alert.hotel_id, Alert.message_id])
        .returning(Alert.id)
    )
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    result.alerts += 1
    return int(row[0])


async def _after_message(
    conn: AsyncConnection,
    work: Work,
    event: MessageEvent,
    sent_at: datetime,
    is_first: bool,
    ids: Mapping[tuple[int, str, str], int],
    convs: Mapping[Key, _ConvState],
    guests: Mapping[Key, _GuestState],
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
        await enqueue(
            conn,
            hotel_id=work.hotel_id,
            idempotency_key=f"keyword:{message_id}",
            kind="optout" if work.keyword == "stop" else "optin",
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
    )
    for hook in hooks:
        await hook(conn, info)


async def _write_states(
    conn: AsyncConnection,
    guests: Mapping[Key, _GuestState],
    convs: Mapping[Key, _ConvState],
    now: datetime,
) -> None:
    dirty = [g for g in guests.values() if g.dirty]
    if dirty:
        guest_cols = ["name", "language", "opted_out", "opted_out_at", "first_message_at"]
        await _update_many(
            conn,
            Guest,
            guest_cols,
            [(g.id, [getattr(g, n) for n in guest_cols]) for g in dirty],
            now,
        )
    touched = [c for c in convs.values() if c.touched]
    if touched:
        conv_cols = [
            "last_message_at", "last_guest_message_at", "last_staff_reply_at",
            "handled_by_staff_until", "last_alert_at", "open_alert_id", "suppressed_alerts",
            "last_suppressed_message_id",
        ]  # fmt: skip
        await _update_many(
            conn, Conversation, conv_cols,
            [(c.id, [getattr(c, n) for n in conv_cols]) for c in touched], now,
        )  # fmt: skip


async def _update_many(
    conn: AsyncConnection,
    model: type[Guest] | type[Conversation],
    columns: list[str],
    rows: list[tuple[int, list[Any]]],
    now: datetime,
) -> None:
    """One executemany UPDATE by primary key. Parameter names get a "p_" prefix: a
    bindparam named like a column is reserved by SQLAlchemy for the SET clause."""
    stmt = (
        update(model)
        .where(model.id == bindparam("p_id"))
        .values({**{n: bindparam(f"p_{n}") for n in columns}, "updated_at": bindparam("p_u")})
    )
    params = [
        {"p_id": row_id, "p_u": now, **{f"p_{n}": v for n, v in zip(columns, values, strict=True)}}
        for row_id, values in rows
    ]
    await conn.execute(stmt, params)


async def _mark_processed(conn: AsyncConnection, works: Iterable[Work], now: datetime) -> None:
    # receipt_id in the condition: if the ingest writer replaced the body meanwhile (a new
    # delivery, e.g. the real text after {{SWE001}}), the row stays unprocessed for the
    # new body.
    stmt = (
        update(Notification)
        .where(Notification.id == bindparam("nid"), Notification.receipt_id == bindparam("rid"))
        .values(processed_at=now, process_error=None)
    )
    params = [{"nid": w.notification_id, "rid": w.receipt_id} for w in works]
    if params:
        await conn.execute(stmt, params)


async def record_failures(
    conn: AsyncConnection, works: Sequence[Work], *, now: datetime, max_attempts: int
) -> list[Work]:
    """Count a failed attempt for each work (error text in process_error, no guest text).
    Works that reached `max_attempts` are marked processed: failed for good. Returns those."""
    given_up = [w for w in works if w.attempts + 1 >= max_attempts]
    stmt = (
        update(Notification)
        .where(Notification.id == bindparam("nid"), Notification.receipt_id == bindparam("rid"))
        .values(
            process_attempts=Notification.process_attempts + 1,
            process_error=bindparam("err"),
            processed_at=bindparam("at"),
        )
    )
    params = [
        {
            "nid": w.notification_id,
            "rid": w.receipt_id,
            "err": (w.error or "unknown error")[:1000],
            "at": now if w in given_up else None,
        }
        for w in works
    ]
    if params:
        await conn.execute(stmt, params)
    return given_up


async def apply_followups(
    conn: AsyncConnection, hotels: Mapping[int, HotelPolicy], *, now: datetime
) -> BatchResult:
    """Send the follow-up alert of every conversation whose cooldown ended with messages
    counted. Idempotent: the follow-up is keyed by the newest counted message."""
    result = BatchResult()
    query = (
        select(
            Conversation.id,
            Conversation.hotel_id,
            Conversation.chat_id,
            Conversation.last_alert_at,
            Conversation.suppressed_alerts,
            Conversation.last_suppressed_message_id,
            Guest.name,
            Message.text,
            Message.reason,
        )
        .join(Message, Message.id == Conversation.last_suppressed_message_id)
        .outerjoin(Guest, Guest.id == Conversation.guest_id)
        .where(Conversation.suppressed_alerts > 0)
    )
    for row in list(await conn.execute(query)):
        conv_id, hotel_id, chat_id, last_alert_at, count, suppressed_id, name, text, reason = row
        hotel = hotels.get(hotel_id)
        if hotel is None or suppressed_id is None:
            continue
        message_id = int(suppressed_id)
        cooldown = timedelta(minutes=hotel.alert_cooldown_min)
        if not policy.followup_due(now, cooldown, policy.CooldownState(last_alert_at, count)):
            continue
        subject = policy.AlertSubject(name, chat_id, policy.phone_of(chat_id))
        body = policy.followup_text(subject, count, reason or "needs attention", text)
        alert_id = await record_alert(
            conn, hotel, conv_id, message_id, "followup", reason or "needs attention", count,
            body, now, result,
        )  # fmt: skip
        await conn.execute(
            update(Conversation)
            .where(Conversation.id == conv_id)
            .values(
                suppressed_alerts=0,
                last_suppressed_message_id=None,
                last_alert_at=now,
                open_alert_id=alert_id,
                updated_at=now,
            )
        )
    return result


async def load_hotel_policies(conn: AsyncConnection) -> dict[int, HotelPolicy]:
    from hotelbot.storage.models import Hotel

    query = select(
        Hotel.id,
        Hotel.slug,
        Hotel.staff_chat_id,
        Hotel.alert_cooldown_min,
        Hotel.staff_pause_h,
        Hotel.groups_as_guests,
    )
    return {
        r[0]: HotelPolicy(r[0], r[1], r[2] or None, int(r[3]), float(r[4]), bool(r[5]))
        for r in await conn.execute(query)
    }
