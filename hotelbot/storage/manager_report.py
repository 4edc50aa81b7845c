"""Gathering a hotel's report figures (domain/report.py) for a period: read-only queries."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.hotel import HotelPolicy
from hotelbot.domain.outbox import OutboxKind, OutboxState
from hotelbot.domain.report import AlertTimes, GuestMessage, Report, build_report
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert, Conversation, Guest, Message


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _guest_messages(
    conn: AsyncConnection, hotel: HotelPolicy, start: datetime, end: datetime
) -> list[GuestMessage]:
    staff_chats = [c for c in (hotel.staff_chat_id, hotel.escalation_chat_id) if c]
    query = select(
        Message.sent_at,
        Message.chat_id,
        Message.sentiment,
        Message.requires_attention,
        Message.category,
    ).where(
        Message.hotel_id == hotel.id,
        Message.direction == "in",
        Message.from_staff.is_(False),
        Message.sent_at >= start,
        Message.sent_at < end,
    )
    if staff_chats:
        query = query.where(Message.chat_id.not_in(staff_chats))
    return [
        GuestMessage(_aware(at), str(chat), sentiment, bool(needs), category)
        for at, chat, sentiment, needs, category in await conn.execute(query)
    ]


async def hotel_report(
    conn: AsyncConnection, hotel: HotelPolicy, start: datetime, end: datetime, tz: ZoneInfo
) -> Report:
    """The report of `hotel` for [start, end), compared with the period just before."""
    messages = await _guest_messages(conn, hotel, start, end)
    before = await _guest_messages(conn, hotel, start - (end - start), start)
    alerts = [
        AlertTimes(_aware(created), None if ack is None else _aware(ack))
        for created, ack in await conn.execute(
            select(Alert.created_at, Alert.acknowledged_at).where(
                Alert.hotel_id == hotel.id,
                Alert.kind == "alert",
                Alert.created_at >= start,
                Alert.created_at < end,
            )
        )
    ]
    last_guest = Conversation.last_guest_message_at
    unanswered = (
        await conn.execute(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.hotel_id == hotel.id,
                Conversation.is_group.is_(False),
                last_guest >= start,
                last_guest < end,
                or_(
                    Conversation.last_staff_reply_at.is_(None),
                    Conversation.last_staff_reply_at < last_guest,
                ),
                or_(Conversation.handled_at.is_(None), Conversation.handled_at < last_guest),
            )
        )
    ).scalar_one()
    opt_outs = (
        await conn.execute(
            select(func.count())
            .select_from(Guest)
            .where(
                Guest.hotel_id == hotel.id,
                and_(Guest.opted_out_at >= start, Guest.opted_out_at < end),
            )
        )
    ).scalar_one()
    failures = (
        await conn.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.hotel_id == hotel.id,
                OutboxMessage.state == OutboxState.FAILED.value,
                OutboxMessage.created_at >= start,
                OutboxMessage.created_at < end,
            )
        )
    ).scalar_one()
    fact_answers = (  # a fact's file is no answer of its own
        await conn.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.hotel_id == hotel.id,
                OutboxMessage.kind == OutboxKind.ANSWER,
                OutboxMessage.file_url.is_(None),
                OutboxMessage.created_at >= start,
                OutboxMessage.created_at < end,
            )
        )
    ).scalar_one()
    return build_report(
        hotel.slug,
        start,
        end,
        tz,
        messages,
        before,
        alerts,
        unanswered_guests=int(unanswered),
        opt_outs=int(opt_outs),
        delivery_failures=int(failures),
        fact_answers=int(fact_answers),
    )
