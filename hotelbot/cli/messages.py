"""`hotelbot messages ...`: what guests wrote, as stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from hotelbot.cli import common
from hotelbot.cli.output import JsonOpt, UtcOpt, WideOpt, parse_since, show_time, zone
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database

app = typer.Typer(help="Stored guest messages.", no_args_is_help=True)


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only newer: 30m, 2h, 3d, 1w, a date (2026-03-27) or a date and time "
            "(2026-03-27 14:00) in the hotel's local time (UTC with --utc)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest last.")] = 50,
    attention: Annotated[
        bool,
        typer.Option(
            "--attention",
            help="Only messages that need staff attention and that staff have not handled "
            "since (answered, acknowledged the alert, `conversations handled`).",
        ),
    ] = False,
    outgoing: Annotated[
        bool, typer.Option("--outgoing", help="Include messages sent to guests.")
    ] = False,
    outgoing_old: Annotated[bool, common.deprecated_option("--all")] = False,
    utc: UtcOpt = False,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List guest messages as understood (sentiment, attention, reason), oldest first, with
    times in each hotel's local time. Staff chats and (unless the hotel treats groups as
    guests) group chats are not guest conversations and are left out."""
    from sqlalchemy import and_, false, or_, select

    from hotelbot.storage.handling import unhandled_attention_sql
    from hotelbot.storage.hotel_policy import guest_chat_sql
    from hotelbot.storage.models import Hotel
    from hotelbot.storage.models_messaging import Conversation, Message

    outgoing = bool(common.renamed("--all", outgoing_old or None, "--outgoing", outgoing or None))
    if since:
        parse_since(since, ZoneInfo("UTC"))  # a bad value is an error even with no hotels

    async def go(db: Database) -> list[Any]:
        query = (
            select(
                Message.sent_at, Hotel.slug, Hotel.timezone, Message.chat_id, Message.direction,
                Message.sender_name, Message.kind, Message.sentiment, Message.requires_attention,
                Message.reason, Message.text,
            )
            .join(Hotel, Hotel.id == Message.hotel_id)
            .where(guest_chat_sql(Message.chat_id))
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .limit(limit)
        )  # fmt: skip
        if not outgoing:
            query = query.where(Message.direction == "in")
        if attention:
            query = query.outerjoin(Conversation, Conversation.id == Message.conversation_id).where(
                unhandled_attention_sql()
            )
        async with db.read() as conn:
            zones = {r[0]: r[1] for r in await conn.execute(select(Hotel.slug, Hotel.timezone))}
        if hotel:
            if hotel not in zones:
                raise UserError(f"no hotel with slug {hotel!r} (see `hotelbot hotel list`)")
            query = query.where(Hotel.slug == hotel)
        if since:
            # A local date/time means each hotel's own clock: one cut-off per time zone.
            cutoffs = {
                name: parse_since(since, ZoneInfo("UTC") if utc else zone(name))
                for name in {z for s, z in zones.items() if not hotel or s == hotel}
            }
            query = query.where(
                or_(false(), *(and_(Hotel.timezone == name, Message.sent_at >= at)
                               for name, at in cutoffs.items()))
            )  # fmt: skip
        async with db.read() as conn:
            return list(await conn.execute(query))

    rows = list(reversed(common.with_db(go)))
    out = []
    for sent_at, slug, tz, chat_id, direction, sender, kind, sentiment, needs, reason, text in rows:
        mood = (sentiment or "") + (" !" if needs else "")
        who = (sender or "") if direction == "in" else "(hotel)"
        out.append([show_time(sent_at, tz, utc=utc, seconds=True), slug, chat_id, who, mood,
                    (reason or "") if needs else "", text or f"<{kind}>"])  # fmt: skip
    headers = ["SENT", "HOTEL", "CHAT", "FROM", "SENTIMENT", "REASON", "TEXT"]
    common.emit_table(
        headers, out, as_json=as_json, empty="no messages", wide=wide, shrink=[3, 5, 6]
    )
