"""`hotelbot messages ...`: what guests wrote, as stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from hotelbot.cli import common
from hotelbot.cli.output import JsonOpt, UtcOpt, WideOpt, parse_since, show_time, zone
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database
    from hotelbot.storage.inbox import MessageLine

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
    from hotelbot.storage.inbox import hotel_zones, list_messages

    outgoing = bool(common.renamed("--all", outgoing_old or None, "--outgoing", outgoing or None))
    if since:
        parse_since(since, ZoneInfo("UTC"))  # a bad value is an error even with no hotels

    async def go(db: Database) -> list[MessageLine]:
        async with db.read() as conn:
            zones = await hotel_zones(conn)
        if hotel and hotel not in zones:
            raise UserError(f"no hotel with slug {hotel!r} (see `hotelbot hotel list`)")
        cutoffs = None
        if since:
            # A local date/time means each hotel's own clock: one cut-off per time zone.
            cutoffs = {
                name: parse_since(since, ZoneInfo("UTC") if utc else zone(name))
                for name in {z for s, z in zones.items() if not hotel or s == hotel}
            }
        async with db.read() as conn:
            return await list_messages(
                conn,
                limit=limit,
                hotel_slug=hotel or None,
                since=cutoffs,
                outgoing=outgoing,
                attention=attention,
            )

    rows = list(reversed(common.with_db(go)))
    out = []
    for m in rows:
        needs = m.requires_attention
        mood = (m.sentiment or "") + (" !" if needs else "")
        who = (m.sender_name or "") if m.direction == "in" else "(hotel)"
        out.append(
            [
                show_time(m.sent_at, m.hotel_timezone, utc=utc, seconds=True),
                m.hotel_slug,
                m.chat_id,
                who,
                mood,
                (m.reason or "") if needs else "",
                m.text or f"<{m.kind}>",
            ]
        )
    headers = ["SENT", "HOTEL", "CHAT", "FROM", "SENTIMENT", "REASON", "TEXT"]
    common.emit_table(
        headers, out, as_json=as_json, empty="no messages", wide=wide, shrink=[3, 5, 6]
    )
