"""`hotelbot dead-letters list|show`: queue items that could not be parsed or stored.

Such an item was set aside in the `dead_letters` table (its bytes kept) and deleted at
Green API, so the hotel's queue kept flowing. These commands show what was set aside; the
raw text may hold guest data, so `show` prints it made safe for a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotelbot.cli import common
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Row

    from hotelbot.storage.db import Database

app = typer.Typer(
    help="Queue items that could not be parsed or stored (kept here, deleted upstream).",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """List dead letters, newest first: hotel, receipt id, size, why."""
    from sqlalchemy import select

    from hotelbot.storage.hotels import get_hotel, list_hotels
    from hotelbot.storage.models import DeadLetter

    async def go(db: Database) -> tuple[list[Row[Any]], dict[int, str]]:
        async with db.read() as conn:
            query = select(
                DeadLetter.id, DeadLetter.hotel_id, DeadLetter.receipt_id,
                DeadLetter.raw_bytes, DeadLetter.error, DeadLetter.received_at,
            ).order_by(DeadLetter.id.desc()).limit(limit)  # fmt: skip
            if hotel:
                record = await get_hotel(conn, hotel)
                if record is None:
                    raise UserError(f"no hotel with slug {hotel!r}")
                query = query.where(DeadLetter.hotel_id == record.id)
            slugs = {h.id: h.slug for h in await list_hotels(conn)}
            return list(await conn.execute(query)), slugs

    rows, slugs = common.with_db(go)
    if not rows:
        typer.echo("no dead letters")
        return
    table = [
        [r.id, slugs.get(r.hotel_id), r.receipt_id, r.raw_bytes,
         f"{r.received_at:%Y-%m-%d %H:%M:%SZ}", r.error]
        for r in rows
    ]  # fmt: skip
    typer.echo(common.table(["id", "hotel", "receipt", "bytes", "received (UTC)", "why"], table))


@app.command("show")
def show(
    dead_letter_id: Annotated[int, typer.Argument(help="Id from `dead-letters list`.")],
    limit: Annotated[int, typer.Option(help="Characters of the raw item to show.")] = 2000,
) -> None:
    """Show one dead letter: why it was set aside and its raw text (guest data: control
    characters removed; bytes that are not UTF-8 are shown with U+FFFD)."""
    from sqlalchemy import select

    from hotelbot.domain.display import for_people_multiline
    from hotelbot.storage.ingest import decode_raw
    from hotelbot.storage.models import DeadLetter

    async def go(db: Database) -> Row[DeadLetter] | None:
        async with db.read() as conn:
            query = select(DeadLetter).where(DeadLetter.id == dead_letter_id)
            return (await conn.execute(query)).first()

    row = common.with_db(go)
    if row is None:
        raise UserError(f"no dead letter with id {dead_letter_id}")
    letter = row._mapping
    raw = decode_raw(letter["raw"], letter["raw_encoding"])
    typer.echo(f"id {letter['id']}, receipt {letter['receipt_id']}, {letter['raw_bytes']} bytes")
    typer.echo(f"why: {letter['error']}")
    typer.echo(for_people_multiline(raw.decode("utf-8", errors="replace"), max_chars=limit))
