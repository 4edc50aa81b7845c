"""The processing transaction's storage: `SqlUnderstandingStore` reads and writes for
`app.understand` (understand a batch, refine verdicts) and `app.alerts` (alerts and
follow-ups), all on one connection, so either all of it commits or none of it does.

Statements are batched (executemany / IN lists); per-row round trips remain only for rare
events (edits, statuses, echoes, alerts). Keys make every write idempotent: messages
(hotel, chat, idMessage), alerts (hotel, message), outbox rows (hotel, idempotency key).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import Insert, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.app.alerts import AlertDraft, BatchResult, FollowupCandidate
from hotelbot.app.chats import ConvState, GuestState, Key, MessageKey
from hotelbot.app.understand import (
    GuestMessageInfo,
    MessageWrite,
    PointedAlert,
    StoredVerdict,
    TargetMark,
    Work,
)
from hotelbot.domain import alerts as policy
from hotelbot.domain.events import (
    MODIFIER_KINDS,
    DeliveryStatus,
    IncomingCall,
    IncomingMessage,
    InstanceStateChanged,
    InstanceStatusChanged,
    MessageEvent,
    MessageKind,
    OutgoingMessage,
    QuotaExceeded,
)
from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.sentiment import Verdict
from hotelbot.domain.signals import SignalKind, SignalMode
from hotelbot.storage.alerts import record_alerts
from hotelbot.storage.chat_state import load_states, write_states
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.handling import (
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
from hotelbot.storage.signals import digest_counts, withdraw_without_stay
from hotelbot.storage.suppression import lift as lift_suppression
from hotelbot.storage.types import fit

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


class SqlUnderstandingStore:
    """`app.understand.UnderstandingStore`, `RefineStore` and `app.alerts.FollowupStore`
    on the connection of one open transaction. `hooks` run for every incoming guest
    message; `room_lookup` names the guest's room in alerts."""

    def __init__(
        self,
        conn: AsyncConnection,
        *,
        hooks: Sequence[MessageHook] = (),
        room_lookup: RoomLookup | None = None,
    ) -> None:
        self._conn = conn
        self._hooks = tuple(hooks)
        self._room_lookup = room_lookup
        self._handling = SqlHandlingStore(conn)

    # -- reading and creating chats -----------------------------------------------------
    @property
    def handling(self) -> SqlHandlingStore:
        return self._handling

    def fit_guest_name(self, name: str) -> str:
        return fit(name, Guest.name)

    async def load_chats(
        self, keys: Mapping[Key, bool], guest_keys: Sequence[Key], now: datetime
    ) -> tuple[dict[Key, GuestState], dict[Key, ConvState]]:
        return await load_states(self._conn, keys, guest_keys, now)

    async def write_chats(
        self, guests: Mapping[Key, GuestState], convs: Mapping[Key, ConvState], now: datetime
    ) -> None:
        await write_states(self._conn, guests, convs, now)

    async def withdraw_signals_without_stay(self, works: Sequence[Work]) -> None:
        await withdraw_without_stay(self._conn, works)

    # -- messages -------------------------------------------------------------------------
    async def write_messages(
        self, rows: Sequence[MessageWrite], now: datetime
    ) -> dict[MessageKey, int]:
        values = [
            {
                **_message_row(r.work, r.event, r.conversation_id, r.sent_at),
                "created_at": now,
                "updated_at": now,
            }
            for r in rows
        ]
        ids: dict[MessageKey, int] = {}
        for r in await self._conn.execute(_message_upsert(self._conn), values):
            ids[(r[1], r[2], r[3])] = int(r[0])
        return ids

    async def mark_targets(self, marks: Sequence[TargetMark], now: datetime) -> None:
        where = and_(
            Message.hotel_id == bindparam("h"),
            Message.chat_id == bindparam("c"),
            Message.id_message == bindparam("t"),
        )
        # Parameter names must not equal column names: SQLAlchemy would add them to SET.
        deletions = [
            {"h": m.hotel_id, "c": m.chat_id, "t": m.target_id, "u": now}
            for m in marks
            if m.deleted
        ]
        reactions = [
            {
                "h": m.hotel_id,
                "c": m.chat_id,
                "t": m.target_id,
                "u": now,
                "emoji": fit(m.emoji, Message.reaction),
            }
            for m in marks
            if not m.deleted
        ]
        if deletions:
            stmt = update(Message).where(where).values(deleted=True, updated_at=bindparam("u"))
            await self._conn.execute(stmt, deletions)
        if reactions:
            stmt = (
                update(Message)
                .where(where)
                .values(reaction=bindparam("emoji"), updated_at=bindparam("u"))
            )
            await self._conn.execute(stmt, reactions)

    async def apply_edit(self, work: Work, event: MessageEvent, now: datetime) -> int | None:
        return await _apply_edit(self._conn, work, event, now)

    async def record_echo(
        self, *, hotel_id: int, chat_id: str, id_message: str, text: str | None, is_file: bool
    ) -> bool:
        found = await record_echo(
            self._conn,
            hotel_id=hotel_id,
            chat_id=chat_id,
            id_message=id_message,
            text=text,
            is_file=is_file,
        )
        return found is not None

    async def sent_by_us(self, hotel_id: int, chat_id: str, text: str) -> bool:
        return await sent_by_us(self._conn, hotel_id, chat_id, text)

    async def alerts_quoted(self, hotel_id: int, id_message: str) -> list[PointedAlert]:
        return await alerts_quoted(self._conn, hotel_id, id_message)

    async def alerts_by_reference(
        self, hotel_id: int, references: Collection[int]
    ) -> list[PointedAlert]:
        return await alerts_by_reference(self._conn, hotel_id, references)

    async def enqueue(
        self, *, hotel_id: int, idempotency_key: str, kind: str, chat_id: str, text: str
    ) -> int | None:
        return await enqueue(
            self._conn,
            hotel_id=hotel_id,
            idempotency_key=idempotency_key,
            kind=kind,
            chat_id=chat_id,
            text=text,
        )

    async def run_hooks(self, info: GuestMessageInfo) -> None:
        for hook in self._hooks:
            await hook(self._conn, info)

    async def lift_suppression(self, chats: Sequence[Key]) -> None:
        await lift_suppression(self._conn, chats)

    async def apply_delivery_statuses(self, works: Sequence[Work]) -> None:
        ours = await _our_status_targets(self._conn, works)
        for work in works:
            event = work.event
            if isinstance(event, DeliveryStatus) and (work.hotel_id, event.id_message) in ours:
                await record_delivery_status(
                    self._conn,
                    hotel_id=work.hotel_id,
                    id_message=event.id_message,
                    status=event.status,
                )

    async def apply_instance_event(self, work: Work, hotel: HotelPolicy | None) -> None:
        await _apply_other(self._conn, work, hotel)

    async def mark_processed(self, works: Sequence[Work], now: datetime) -> None:
        await mark_processed(self._conn, works, now)

    # -- alerts ---------------------------------------------------------------------------
    async def room_of(self, hotel_id: int, guest_id: int | None, chat_id: str) -> str | None:
        if self._room_lookup is None:
            return None
        return await self._room_lookup(self._conn, hotel_id, guest_id, chat_id)

    async def digest_counts(
        self, conversation_id: int, since: datetime, modes: Mapping[SignalKind, SignalMode]
    ) -> dict[SignalKind, int]:
        return await digest_counts(self._conn, conversation_id, since, modes)

    async def alerted_messages(self, message_ids: Sequence[int]) -> set[int]:
        if not message_ids:
            return set()
        query = select(Alert.message_id).where(Alert.message_id.in_(list(message_ids)))
        return {int(m) for m in (await self._conn.execute(query)).scalars()}

    async def record_alerts(
        self,
        drafts: Sequence[AlertDraft],
        hotels: Mapping[int, HotelPolicy],
        now: datetime,
        result: BatchResult,
    ) -> dict[int, int]:
        return await record_alerts(self._conn, drafts, hotels, now, result)

    async def followup_candidates(self) -> list[FollowupCandidate]:
        query = (
            select(
                Conversation.id,
                Conversation.hotel_id,
                Conversation.chat_id,
                Conversation.last_alert_at,
                Conversation.suppressed_alerts,
                Conversation.last_suppressed_message_id,
                Conversation.guest_id,
                Guest.name,
                Message.text,
                Message.reason,
            )
            .join(Message, Message.id == Conversation.last_suppressed_message_id)
            .outerjoin(Guest, Guest.id == Conversation.guest_id)
            .where(Conversation.suppressed_alerts > 0)
        )
        return [
            FollowupCandidate(
                conversation_id=int(r[0]),
                hotel_id=int(r[1]),
                chat_id=str(r[2]),
                state=policy.CooldownState(r[3], int(r[4]), r[5]),
                guest_id=r[6],
                guest_name=r[7],
                latest_text=r[8],
                latest_reason=r[9],
            )
            for r in await self._conn.execute(query)
        ]

    async def set_cooldown(
        self,
        conversation_id: int,
        state: policy.CooldownState,
        *,
        open_alert_id: int | None,
        now: datetime,
    ) -> None:
        await self._conn.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(
                suppressed_alerts=state.suppressed,
                last_suppressed_message_id=state.last_counted,
                last_alert_at=state.last_alert_at,
                open_alert_id=open_alert_id,
                updated_at=now,
            )
        )

    # -- refining verdicts ------------------------------------------------------------------
    async def stored_verdict(self, work: Work, event: IncomingMessage) -> StoredVerdict | None:
        query = select(Message.id, Message.conversation_id, Message.requires_attention).where(
            Message.hotel_id == work.hotel_id,
            Message.chat_id == event.chat_id,
            Message.id_message == event.id_message,
            ~Message.edited,
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return StoredVerdict(int(row[0]), int(row[1] or 0), bool(row[2]))

    async def store_verdict(
        self, message_id: int, verdict: Verdict, now: datetime, *, attention: bool
    ) -> None:
        values = _verdict_values(verdict, now)
        if not attention:
            del values["requires_attention"], values["category"]
        await self._conn.execute(
            update(Message).where(Message.id == message_id).values(**values, updated_at=now)
        )

    async def count_for_followup(
        self, conversation_id: int, message_id: int, now: datetime
    ) -> None:
        await self._conn.execute(
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
        "conversation_id",
        "kind",
        "type_message",
        "sender_id",
        "sender_name",
        "text",
        "undecryptable",
        "target_id",
        "sent_at",
        "notification_id",
        "sentiment",
        "score",
        "requires_attention",
        "reason",
        "language",
        "analyser",
        "category",
        "analysed_at",
        "updated_at",
    ]
    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=[Message.hotel_id, Message.chat_id, Message.id_message],
        set_={name: ex[name] for name in replaced},
        # Never replace real text by a late placeholder, nor an edited text by the original.
        where=and_(~Message.edited, or_(Message.undecryptable, ~ex.undecryptable)),
    )
    return upsert.returning(Message.id, Message.hotel_id, Message.chat_id, Message.id_message)


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
