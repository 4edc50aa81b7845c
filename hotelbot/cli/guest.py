"""`hotelbot guest forget|export`: a guest's right to erasure and to a copy of their data."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Personal data of one guest: export everything held about them, or erase it.",
    no_args_is_help=True,
)

Phone = Annotated[str, typer.Argument(help="Phone number, e.g. +37120000001 or 37120000001.")]
HotelOpt = Annotated[str | None, typer.Option("--hotel", help="Only this hotel (slug).")]


@app.command("forget")
def forget(
    phone: Phone,
    hotel: HotelOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase the guest everywhere, now: messages, conversations, stays, guest records, raw
    notifications, messages sent to them; staff alerts quoting them are blanked. Cannot be
    undone (export first if they asked for a copy)."""
    from hotelbot.cli import common
    from hotelbot.errors import UserError
    from hotelbot.ops.retention import PurgeResult, forget_guest, phone_digits
    from hotelbot.storage.db import Database

    try:
        digits = phone_digits(phone)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    scope = f" at hotel {hotel}" if hotel else " at every hotel"
    if not yes and not typer.confirm(f"Erase everything about +{digits}{scope}?"):
        raise typer.Exit(1)

    async def go(db: Database) -> PurgeResult:
        try:
            return await forget_guest(db, digits, hotel_slug=hotel)
        except ValueError as exc:
            raise UserError(str(exc)) from None

    result = common.with_db(go)
    typer.echo(f"+{digits}: erased {result.summary()}")


@app.command("export")
def export(phone: Phone, hotel: HotelOpt = None) -> None:
    """Print everything held about the guest as JSON (to answer a data access request)."""
    import json

    from hotelbot.cli import common
    from hotelbot.errors import UserError
    from hotelbot.ops.retention import export_guest
    from hotelbot.storage.db import Database

    async def go(db: Database) -> dict[str, object]:
        try:
            return await export_guest(db, phone, hotel_slug=hotel)
        except ValueError as exc:
            raise UserError(str(exc)) from None

    typer.echo(json.dumps(common.with_db(go), ensure_ascii=False, indent=2))
