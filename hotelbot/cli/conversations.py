"""`hotelbot conversations ...`: guest conversations, and marking one handled by staff."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli import common
from hotelbot.cli.output import JsonOpt, UtcOpt, WideOpt, show_time
from hotelbot.domain.display import for_people
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database
    from hotelbot.storage.inbox import (
        ConversationHead,
        ConversationLine,
        ConversationMessage,
        ConversationRef,
    )

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
    from hotelbot.storage.inbox import list_conversations

    async def go(db: Database) -> list[ConversationLine]:
        async with db.read() as conn:
            return await list_conversations(
                conn, limit=limit, hotel_slug=hotel or None, attention=attention
            )

    found = common.with_db(go)
    out = [
        [
            c.id,
            c.hotel_slug,
            c.chat_id,
            c.guest_name or "",
            show_time(c.last_message_at, c.hotel_timezone, utc=utc),
            show_time(c.last_staff_reply_at, c.hotel_timezone, utc=utc),
            show_time(c.handled_by_staff_until, c.hotel_timezone, utc=utc),
            c.suppressed_alerts or "",
            "yes" if c.opted_out else "",
        ]
        for c in found
    ]
    headers = [
        "ID",
        "HOTEL",
        "CHAT",
        "GUEST",
        "LAST MESSAGE",
        "STAFF REPLY",
        "HANDLED UNTIL",
        "COUNTED",
        "OPTED OUT",
    ]
    common.emit_table(
        headers, out, as_json=as_json, empty="no conversations", wide=wide, shrink=[3]
    )


def _reference(ref: str) -> tuple[int | None, str | None]:
    """(conversation id, None) or (None, chat id) for an id or a chat id / phone number."""
    ref = ref.strip()
    if ref.isdigit() and len(ref) < 10:
        return int(ref), None
    return None, ref if "@" in ref else f"{ref.lstrip('+')}@c.us"


def _one(found: list[ConversationRef], ref: str, hotel: str | None) -> ConversationRef:
    """The one conversation of `found` (what `ref` found, in `hotel` if given); UserError
    for none or for a chat in several hotels."""
    if not found:
        raise UserError(f"no conversation {ref!r}" + (f" in hotel {hotel}" if hotel else ""))
    if len(found) > 1:
        raise UserError(f"{ref!r} is a chat in several hotels: add --hotel SLUG")
    return found[0]


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
    from hotelbot.storage.inbox import (
        conversation_head,
        conversation_messages,
        find_conversations,
    )

    conversation_id, chat_id = _reference(ref)

    async def go(db: Database) -> tuple[ConversationHead, list[ConversationMessage]]:
        async with db.read() as conn:
            found = await find_conversations(
                conn, conversation_id=conversation_id, chat_id=chat_id, hotel_slug=hotel or None
            )
            conv_id = _one(found, ref, hotel).id
            head = await conversation_head(conn, conv_id)
            messages = await conversation_messages(conn, conv_id, limit=limit)
        return head, messages

    head, messages = common.with_db(go)
    tz = head.hotel_timezone
    typer.echo(
        f"chat {for_people(head.chat_id)}  guest {for_people(head.guest_name) or '-'}  "
        f"phone {head.phone or '-'}  language {for_people(head.language) or '-'}"
    )
    handled = show_time(head.handled_by_staff_until, tz, utc=utc) or "-"
    typer.echo(f"opted out: {'yes' if head.opted_out else 'no'}  handled until: {handled}")
    rows = []
    for m in reversed(messages):
        who = "guest" if m.direction == "in" else ("staff" if m.from_staff else "bot")
        if m.outbox_kind == "answer":
            who = "bot (facts)"  # answered from the hotel's facts (docs/facts.md)
        flags = ("!" if m.requires_attention else "") + (" (deleted)" if m.deleted else "")
        flags += " (edited)" if m.edited else ""
        body = m.text or f"<{m.kind}>"
        rows.append(
            [show_time(m.sent_at, tz, utc=utc), who, m.sentiment or "", flags.strip(), body]
        )
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
    from hotelbot.storage.inbox import find_conversations
    from hotelbot.storage.types import utcnow
    from hotelbot.storage.unit_of_work import SqlUnitsOfWork

    conversation_id, chat_id = _reference(ref)

    async def go(db: Database) -> tuple[str, datetime | None, str, int]:
        async with db.read() as conn:
            found = await find_conversations(
                conn, conversation_id=conversation_id, chat_id=chat_id, hotel_slug=hotel or None
            )
            conversation = _one(found, ref, hotel)
            conv_id, hotel_id, chat = conversation.id, conversation.hotel_id, conversation.chat_id
            record = await get_hotel_by_id(conn, hotel_id)
        assert record is not None  # the conversation's hotel (a foreign key)
        pause_h = record.staff_pause_h if hours is None else hours
        # The same use case as a staff answer in the daemon (app/handled.py); the CLI holds
        # no lease, so its unit of work is not fenced.
        outcome = await handle_conversation(
            SqlUnitsOfWork(db),
            hotel_id,
            conv_id,
            at=utcnow(),
            route=AckRoute.HANDLED,
            pause=timedelta(hours=pause_h),
            replace_pause=hours is not None,
        )
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
