"""`hotelbot send SLUG PHONE --text-file FILE|-`: a manual message through the outbox.

The text comes from a file or stdin, so what staff write to a guest is not visible in the
process list or the shell history; a TEXT argument still works, with a warning."""

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
    text: Annotated[
        str | None,
        typer.Argument(help="Message text (visible in `ps`: prefer --text-file or stdin)."),
    ] = None,
    text_file: Annotated[
        str | None,
        typer.Option(
            "--text-file",
            help="Read the message from this UTF-8 file, or '-' for stdin.",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Queue a message to a guest; the running daemon sends it at once (quiet hours do not
    apply to manual sends). Prints the outbox id (see `hotelbot outbox list`). It counts as
    a staff answer, like `hotelbot conversations handled`: the guest's open alerts are
    acknowledged and automated messages to them pause for the hotel's staff_pause_h.

    Example: `printf 'Your room is ready.' | hotelbot send grand-riga +37120000001`."""
    import uuid
    from datetime import timedelta

    from hotelbot.app.staff_send import send_as_staff
    from hotelbot.domain.stay_input import phone_to_chat_id
    from hotelbot.storage.hotels import get_hotel
    from hotelbot.storage.types import utcnow
    from hotelbot.storage.unit_of_work import SqlUnitsOfWork

    try:
        chat_id = phone_to_chat_id(phone)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if text is not None and text_file is not None:
        raise UserError("give the text either as an argument or with --text-file, not both")
    if text_file is not None and text_file != "-":
        text = _read_text_file(text_file)
    else:
        text = common.text_argument(text, what="the message text")
    text = text.removesuffix("\n")
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError(f"the message is longer than {MAX_MESSAGE_CHARS} characters")

    async def go(db: Database) -> int | None:
        async with db.read() as conn:
            hotel = await get_hotel(conn, slug)
        if hotel is None:
            raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
        # A staff answer (app/staff_send.py); the CLI holds no lease: the unit is not fenced.
        return await send_as_staff(
            SqlUnitsOfWork(db),
            hotel.id,
            chat_id,
            text,
            key=f"manual:{uuid.uuid4()}",
            at=utcnow(),
            pause=timedelta(hours=hotel.staff_pause_h),
        )

    outbox_id = common.with_db(go)
    typer.echo(f"{outbox_id}")


# Green API refuses longer texts ("message length must be less than or equal to 20000").
MAX_MESSAGE_CHARS = 20_000


def _read_text_file(path: str) -> str:
    from pathlib import Path

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"--text-file {path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"--text-file {path}: not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise UserError(f"--text-file {path}: the message text is empty")
    return text


def register(app: typer.Typer) -> None:
    app.command("send")(send)
