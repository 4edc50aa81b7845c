"""`hotelbot send SLUG PHONE TEXT`: a manual message through the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli import common
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database


def send(
    slug: Annotated[str, typer.Argument(help="The hotel's slug.")],
    phone: Annotated[str, typer.Argument(help="Guest phone (+371 2000 0000) or chat id.")],
    text: Annotated[str, typer.Argument(help="Message text.")],
) -> None:
    """Queue a message to a guest; the running daemon sends it at once (quiet hours do not
    apply to manual sends). Prints the outbox id (see `hotelbot outbox list`)."""
    import uuid

    from hotelbot.domain.stay_input import phone_to_chat_id
    from hotelbot.storage.hotels import get_hotel
    from hotelbot.storage.outbox import enqueue

    try:
        chat_id = phone_to_chat_id(phone)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not text.strip():
        raise UserError("the message text is empty")

    async def go(db: Database) -> int | None:
        async with db.write() as conn:
            hotel = await get_hotel(conn, slug)
            if hotel is None:
                raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
            return await enqueue(
                conn, hotel_id=hotel.id, idempotency_key=f"manual:{uuid.uuid4()}",
                kind="manual", chat_id=chat_id, text=text,
            )  # fmt: skip

    outbox_id = common.with_db(go)
    typer.echo(f"{outbox_id}")


def register(app: typer.Typer) -> None:
    app.command("send")(send)
