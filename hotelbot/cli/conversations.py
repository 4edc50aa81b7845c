"""`hotelbot conversations ...`: guest conversations, and marking one handled by staff."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotelbot.cli import common
from hotelbot.cli.output import JsonOpt, UtcOpt, WideOpt, show_time
from hotelbot.domain.display import for_people
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from hotelbot.storage.db import Database

app = typer.Typer(help="Guest conversations.", no_args_is_help=True)


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, most recent first.")] = 50,
    attention: Annotated[
        bool,
        typer.Option(
            "--attention",
            help="Only conversations with a message needing attention that staff have not "
            "handled since.",
        ),
    ] = False,
    utc: UtcOpt = False,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List guest conversations, most recently active first, times in each hotel's local
    time. The hotel's staff and escalation chats (where alerts go) and group chats that are
    not guests are not guest conversations and are left out."""
    from sqlalchemy import select

    from hotelbot.storage.handling import conversation_needs_attention_sql
    from hotelbot.storage.hotel_policy import guest_chat_sql
    from hotelbot.storage.models import Hotel
    from hotelbot.storage.models_messaging import Conversation, Guest

    async def go(db: Database) -> list[Any]:
        query = (
            select(
                Conversation.id, Hotel.slug, Hotel.timezone, Conversation.chat_id, Guest.name,
                Conversation.last_message_at, Conversation.last_staff_reply_at,
                Conversation.handled_by_staff_until, Conversation.suppressed_alerts,
                Guest.opted_out,
            )
            .join(Hotel, Hotel.id == Conversation.hotel_id)
            .outerjoin(Guest, Guest.id == Conversation.guest_id)
            .where(guest_chat_sql(Conversation.chat_id))
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(limit)
        )  # fmt: skip
        if hotel:
            query = query.where(Hotel.slug == hotel)
        if attention:
            query = query.where(conversation_needs_attention_sql())
        async with db.read() as conn:
            return list(await conn.execute(query))

    found = common.with_db(go)
    out = [
        [cid, slug, chat, name or "", show_time(last, tz, utc=utc),
         show_time(staff, tz, utc=utc), show_time(until, tz, utc=utc), counted or "",
         "yes" if opted else ""]
        for cid, slug, tz, chat, name, last, staff, until, counted, opted in found
    ]  # fmt: skip
    headers = ["ID", "HOTEL", "CHAT", "GUEST", "LAST MESSAGE", "STAFF REPLY",
               "HANDLED UNTIL", "COUNTED", "OPTED OUT"]  # fmt: skip
    common.emit_table(
        headers, out, as_json=as_json, empty="no conversations", wide=wide, shrink=[3]
    )


async def _resolve(conn: AsyncConnection, ref: str, hotel: str | None) -> tuple[int, int, str]:
    """(conversation id, hotel id, chat id) for an id or a chat id / phone number."""
    from sqlalchemy import select

    from hotelbot.storage.models import Hotel
    from hotelbot.storage.models_messaging import Conversation

    query = select(Conversation.id, Conversation.hotel_id, Conversation.chat_id).join(
        Hotel, Hotel.id == Conversation.hotel_id
    )
    ref = ref.strip()
    if ref.isdigit() and len(ref) < 10:
        query = query.where(Conversation.id == int(ref))
    else:
        chat = ref if "@" in ref else f"{ref.lstrip('+')}@c.us"
        query = query.where(Conversation.chat_id == chat)
    if hotel:
        query = query.where(Hotel.slug == hotel)
    found = list(await conn.execute(query))
    if not found:
        raise UserError(f"no conversation {ref!r}" + (f" in hotel {hotel}" if hotel else ""))
    if len(found) > 1:
        raise UserError(f"{ref!r} is a chat in several hotels: add --hotel SLUG")
    return int(found[0][0]), int(found[0][1]), str(found[0][2])


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(metavar="ID|CHAT", help="Conversation id or chat id.")],
    hotel: Annotated[
        str | None, typer.Option(help="Hotel slug (when the chat is ambiguous).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many latest messages.")] = 50,
    utc: UtcOpt = False,
    wide: WideOpt = False,
) -> None:
    """Show one conversation and its latest messages (times in the hotel's local time)."""
    from sqlalchemy import and_, select

    from hotelbot.storage.models import Hotel, OutboxMessage
    from hotelbot.storage.models_messaging import Conversation, Guest, Message

    async def go(db: Database) -> tuple[Any, list[Any]]:
        async with db.read() as conn:
            conv_id, _, _ = await _resolve(conn, ref, hotel)
            head = (
                await conn.execute(
                    select(Conversation.chat_id, Guest.name, Guest.phone, Guest.language,
                           Guest.opted_out, Conversation.handled_by_staff_until, Hotel.timezone)
                    .join(Hotel, Hotel.id == Conversation.hotel_id)
                    .outerjoin(Guest, Guest.id == Conversation.guest_id)
                    .where(Conversation.id == conv_id)
                )
            ).one()  # fmt: skip
            messages = list(
                await conn.execute(
                    select(Message.sent_at, Message.direction, Message.from_staff, Message.kind,
                           Message.sentiment, Message.requires_attention, Message.text,
                           Message.deleted, Message.edited, OutboxMessage.kind)
                    .outerjoin(OutboxMessage, and_(OutboxMessage.hotel_id == Message.hotel_id,
                                                   OutboxMessage.id_message == Message.id_message))
                    .where(Message.conversation_id == conv_id)
                    .order_by(Message.sent_at.desc(), Message.id.desc())
                    .limit(limit)
                )
            )  # fmt: skip
        return head, messages

    head, messages = common.with_db(go)
    chat, name, phone, lang, opted, until, tz = head
    typer.echo(
        f"chat {for_people(chat)}  guest {for_people(name) or '-'}  phone {phone or '-'}  "
        f"language {for_people(lang) or '-'}"
    )
    handled = show_time(until, tz, utc=utc) or "-"
    typer.echo(f"opted out: {'yes' if opted else 'no'}  handled until: {handled}")
    rows = []
    for row in reversed(messages):
        sent_at, direction, staff, kind, sentiment, attention, text, deleted, edited, sent_as = row
        who = "guest" if direction == "in" else ("staff" if staff else "bot")
        if sent_as == "answer":
            who = "bot (facts)"  # answered from the hotel's facts (docs/facts.md)
        flags = ("!" if attention else "") + (" (deleted)" if deleted else "")
        flags += " (edited)" if edited else ""
        body = text or f"<{kind}>"
        rows.append([show_time(sent_at, tz, utc=utc), who, sentiment or "", flags.strip(), body])
    typer.echo(common.table(["SENT", "FROM", "SENTIMENT", "FLAGS", "TEXT"], rows, wide=wide))


@app.command("handled")
def handled(
    ref: Annotated[str, typer.Argument(metavar="ID|CHAT", help="Conversation id or chat id.")],
    hours: Annotated[
        float | None,
        typer.Option(
            help="Pause automated messages this long (default: the hotel's "
            "staff_pause_h; 0 resumes them now)."
        ),
    ] = None,
    hotel: Annotated[
        str | None, typer.Option(help="Hotel slug (when the chat is ambiguous).")
    ] = None,
) -> None:
    """Staff are handling this guest: exactly what a staff answer does. Their open alerts
    are acknowledged (no escalation), messages counted for a follow-up alert are dropped,
    the conversation leaves `--attention`, and automated messages to them pause."""
    if hours is not None and not 0 <= hours <= 24 * 90:
        raise UserError("--hours must be between 0 and 2160")
    from hotelbot.app.handled import handle_conversation
    from hotelbot.domain.acknowledgement import AckRoute
    from hotelbot.storage.hotels import get_hotel_by_id
    from hotelbot.storage.types import utcnow
    from hotelbot.storage.unit_of_work import SqlUnitsOfWork

    async def go(db: Database) -> tuple[str, datetime | None, str, int]:
        async with db.read() as conn:
            conv_id, hotel_id, chat = await _resolve(conn, ref, hotel)
            record = await get_hotel_by_id(conn, hotel_id)
        assert record is not None  # the conversation's hotel (a foreign key)
        pause_h = record.staff_pause_h if hours is None else hours
        # The same use case as a staff answer in the daemon (app/handled.py); the CLI holds
        # no lease, so its unit of work is not fenced.
        outcome = await handle_conversation(
            SqlUnitsOfWork(db), hotel_id, conv_id, at=utcnow(), route=AckRoute.HANDLED,
            pause=timedelta(hours=pause_h), replace_pause=hours is not None,
        )  # fmt: skip
        if outcome is None:
            raise UserError(f"no conversation {ref!r}")  # deleted meanwhile (guest forget)
        until = outcome.handling.handled_by_staff_until
        return chat, until, record.timezone, outcome.acknowledged

    chat, until, tz, acknowledged = common.with_db(go)
    shown = for_people(chat)
    if acknowledged:
        typer.echo(f"{shown}: {acknowledged} open alert(s) acknowledged")
    if until is None:
        typer.echo(f"{shown}: handled; automated messages resume now")
    else:
        typer.echo(f"{shown}: handled by staff until {show_time(until, tz, utc=False)}")
