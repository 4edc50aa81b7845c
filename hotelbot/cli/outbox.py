"""`hotelbot outbox list`: what hotelbot sent or will send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli import common
from hotelbot.cli.output import JsonOpt, UtcOpt, WideOpt, show_time
from hotelbot.domain.outbox import OutboxState
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database
    from hotelbot.storage.hotels import HotelRecord
    from hotelbot.storage.outbox import OutboxItem

app = typer.Typer(help="Outgoing messages (the outbox).", no_args_is_help=True)

STATES = tuple(state.value for state in OutboxState)


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    state: Annotated[str | None, typer.Option(help=f"Only this state: {'|'.join(STATES)}.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    show_text: Annotated[bool, typer.Option(help="Show message texts (guest data).")] = False,
    utc: UtcOpt = False,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List outbox messages, newest first; due times in each hotel's local time."""
    from hotelbot.storage.hotels import get_hotel, list_hotels
    from hotelbot.storage.outbox import list_outbox

    if state is not None and state not in STATES:
        raise UserError(f"--state {state!r}: expected one of {', '.join(STATES)}")

    async def go(db: Database) -> tuple[list[OutboxItem], dict[int, HotelRecord]]:
        async with db.read() as conn:
            hotel_id = None
            if hotel:
                record = await get_hotel(conn, hotel)
                if record is None:
                    raise UserError(f"no hotel with slug {hotel!r}")
                hotel_id = record.id
            hotels = {h.id: h for h in await list_hotels(conn)}
            return await list_outbox(conn, hotel_id=hotel_id, state=state, limit=limit), hotels

    items, hotels = common.with_db(go)
    rows = []
    for item in items:
        record = hotels.get(item.hotel_id)
        row: list[object] = [
            item.id,
            record.slug if record else "",
            item.kind,
            item.lane.value,
            item.chat_id,
            item.state,
            item.delivery_status,
            item.attempts,
            show_time(item.available_at, record.timezone if record else None, utc=utc),
            item.last_error,
        ]
        if show_text:
            row.append(item.text)
        rows.append(row)
    headers = ["id", "hotel", "kind", "lane", "chat", "state", "delivery", "tries", "due", "error"]
    if show_text:
        headers.append("text")
    shrink = [9, 10] if show_text else [9]
    empty = "outbox is empty" if state is None else f"no {state} messages"
    common.emit_table(headers, rows, as_json=as_json, empty=empty, wide=wide, shrink=shrink)
