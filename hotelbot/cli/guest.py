"""`hotelbot guest forget|export`: a guest's right to erasure and to a copy of their data.

The guest is named exactly (ops/guest_data.py): phone numbers in international form and/or
chat ids; `forget` always shows what it would erase first (a dry run in the same code path)
and asks, unless `--yes`; `--dry-run` only shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hotelbot.ops.guest_data import GuestIdentity

app = typer.Typer(
    help="Personal data of one guest: export everything held about them, or erase it.",
    no_args_is_help=True,
)

Who = Annotated[
    list[str],
    typer.Argument(
        help="The guest: phone number(s) in international form (+37120000001) and/or exact "
        "chat ids (37120000001@c.us, 123456789012345@lid) of the same person.",
        metavar="PHONE|CHAT_ID...",
    ),
]
HotelOpt = Annotated[str | None, typer.Option("--hotel", help="Only this hotel (slug).")]


def _identity(who: list[str]) -> GuestIdentity:
    from hotelbot.errors import UserError
    from hotelbot.ops.guest_data import IdentityError, parse_identity

    try:
        return parse_identity(who)
    except IdentityError as exc:
        raise UserError(str(exc)) from None


@app.command("forget")
def forget(
    who: Who,
    hotel: HotelOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be erased.")
    ] = False,
) -> None:
    """Erase the guest everywhere, now: messages (also in groups), conversations, stays,
    guest records, raw notifications, dead letters and messages to them; staff alerts quoting
    them are blanked. A STOP they sent is kept as an anonymous hash, so they are never
    messaged automatically again. Cannot be undone (export first if they asked for a copy)."""
    from hotelbot.cli import common
    from hotelbot.errors import UserError
    from hotelbot.ops.guest_data import IdentityError, forget_guest
    from hotelbot.ops.retention import PurgeResult
    from hotelbot.storage.db import Database

    identity = _identity(who)
    scope = f"at hotel {hotel}" if hotel else "at every hotel"

    async def go(db: Database, *, dry: bool) -> PurgeResult:
        try:
            return await forget_guest(db, identity, hotel_slug=hotel, dry_run=dry)
        except IdentityError as exc:
            raise UserError(str(exc)) from None

    planned = common.with_db(lambda db: go(db, dry=True))
    if not planned.total:
        typer.echo(f"{identity.describe()}: nothing held {scope}")
        return
    typer.echo(f"{identity.describe()} {scope}: would erase {planned.summary()}")
    if dry_run:
        return
    if not yes and not typer.confirm("Erase all of it now?"):
        raise typer.Exit(1)
    result = common.with_db(lambda db: go(db, dry=False))
    typer.echo(f"{identity.describe()}: erased {result.summary()}")


@app.command("export")
def export(who: Who, hotel: HotelOpt = None) -> None:
    """Print everything held about the guest as JSON (to answer a data access request)."""
    from hotelbot.cli import common
    from hotelbot.errors import UserError
    from hotelbot.ops.guest_data import IdentityError, export_guest, json_for_terminal
    from hotelbot.storage.db import Database

    identity = _identity(who)

    async def go(db: Database) -> dict[str, object]:
        try:
            return await export_guest(db, identity, hotel_slug=hotel)
        except IdentityError as exc:
            raise UserError(str(exc)) from None

    typer.echo(json_for_terminal(common.with_db(go)))
