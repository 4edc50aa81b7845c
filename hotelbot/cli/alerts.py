"""`hotelbot alerts list`: staff alerts with their reference, acknowledgement and escalation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli import common
from hotelbot.cli.output import UtcOpt, WideOpt, show_time
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database
    from hotelbot.storage.handling import AlertListing

app = typer.Typer(
    help="Staff alerts: references, acknowledgement, escalation.", no_args_is_help=True
)


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    open_: Annotated[
        bool,
        typer.Option("--open", help="Only alerts nobody acknowledged yet (escalated or not)."),
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest last.")] = 50,
    utc: UtcOpt = False,
    wide: WideOpt = False,
) -> None:
    """List staff alerts, newest last, times in each hotel's local time: the reference staff
    quote ("#12"), the guest, the reason, and whether and how it was acknowledged (quote,
    reaction, reference, staff_reply, send, handled, earlier) or escalated. Acknowledge one
    with `hotelbot conversations handled CHAT` (or in WhatsApp: docs/operations.md)."""
    from hotelbot.storage.handling import list_alerts

    async def go(db: Database) -> list[AlertListing]:
        async with db.read() as conn:
            found = await list_alerts(conn, hotel=hotel, open_only=open_, limit=limit)
            if not found and hotel:
                from hotelbot.storage.hotels import get_hotel

                if await get_hotel(conn, hotel) is None:
                    raise UserError(f"no hotel with slug {hotel!r} (see `hotelbot hotel list`)")
            return found

    found = common.with_db(go)
    if not found:
        typer.echo("no open alerts" if open_ else "no alerts")
        return
    rows = []
    for a in found:
        state = f"acknowledged ({a.acknowledged_via})" if a.acknowledged_at else "OPEN"
        if a.escalated_at:
            state += ", escalated"
        rows.append(
            [
                f"#{a.reference}",
                a.hotel,
                show_time(a.created_at, a.timezone, utc=utc),
                a.guest or "",
                a.chat_id,
                state,
                show_time(a.acknowledged_at, a.timezone, utc=utc),
                a.reason,
            ]
        )
    headers = ["REF", "HOTEL", "CREATED", "GUEST", "CHAT", "STATE", "ACKNOWLEDGED", "REASON"]
    typer.echo(common.table(headers, rows, wide=wide, shrink=[3, 7]))
