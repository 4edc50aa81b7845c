"""`hotelbot dead-letters list|show`: queue items that could not be parsed or stored.

Such an item was set aside in the `dead_letters` table (its bytes kept) and deleted at
Green API, so the hotel's queue kept flowing. These commands show what was set aside; the
raw text may hold guest data, so `show` prints it made safe for a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli import common
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database
    from hotelbot.storage.dead_letters import DeadLetterItem, DeadLetterSummary

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
    from hotelbot.storage.dead_letters import list_dead_letters
    from hotelbot.storage.hotels import get_hotel, list_hotels

    async def go(db: Database) -> tuple[list[DeadLetterSummary], dict[int, str]]:
        async with db.read() as conn:
            hotel_id = None
            if hotel:
                record = await get_hotel(conn, hotel)
                if record is None:
                    raise UserError(f"no hotel with slug {hotel!r}")
                hotel_id = record.id
            slugs = {h.id: h.slug for h in await list_hotels(conn)}
            return await list_dead_letters(conn, hotel_id=hotel_id, limit=limit), slugs

    rows, slugs = common.with_db(go)
    if not rows:
        typer.echo("no dead letters")
        return
    table = [
        [
            r.id,
            slugs.get(r.hotel_id),
            r.receipt_id,
            r.raw_bytes,
            f"{r.received_at:%Y-%m-%d %H:%M:%SZ}",
            r.error,
        ]
        for r in rows
    ]
    typer.echo(common.table(["id", "hotel", "receipt", "bytes", "received (UTC)", "why"], table))


@app.command("show")
def show(
    dead_letter_id: Annotated[int, typer.Argument(help="Id from `dead-letters list`.")],
    limit: Annotated[int, typer.Option(help="Characters of the raw item to show.")] = 2000,
) -> None:
    """Show one dead letter: why it was set aside and its raw text (guest data: control
    characters removed; bytes that are not UTF-8 are shown with U+FFFD)."""
    from hotelbot.domain.display import for_people_multiline
    from hotelbot.storage.dead_letters import get_dead_letter

    async def go(db: Database) -> DeadLetterItem | None:
        async with db.read() as conn:
            return await get_dead_letter(conn, dead_letter_id)

    letter = common.with_db(go)
    if letter is None:
        raise UserError(f"no dead letter with id {dead_letter_id}")
    typer.echo(f"id {letter.id}, receipt {letter.receipt_id}, {letter.raw_bytes} bytes")
    typer.echo(f"why: {letter.error}")
    typer.echo(for_people_multiline(letter.raw.decode("utf-8", errors="replace"), max_chars=limit))
