"""`hotelbot guest forget|export|language`: a guest's right to erasure and to a copy of their
data, and the language hotelbot writes to them in.

The guest is named exactly (domain/guest_identity.py): phone numbers in international form
and/or chat ids. `forget` runs the use case `app.forget_guest` (what is erased and kept is
decided there): it always shows what it would erase first (a dry run in the same code path)
and asks, unless `--yes`; `--dry-run` only shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hotelbot.domain.guest_identity import GuestIdentity

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
    from hotelbot.domain.guest_identity import IdentityError, parse_identity
    from hotelbot.errors import UserError

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
    from hotelbot.app.forget_guest import forget_guest
    from hotelbot.cli import common
    from hotelbot.domain.erasure import PurgeResult
    from hotelbot.domain.guest_identity import IdentityError
    from hotelbot.errors import UserError
    from hotelbot.storage.db import Database
    from hotelbot.storage.types import utcnow
    from hotelbot.storage.unit_of_work import SqlUnitsOfWork

    identity = _identity(who)
    scope = f"at hotel {hotel}" if hotel else "at every hotel"

    async def go(db: Database, *, dry: bool) -> PurgeResult:
        try:
            units = SqlUnitsOfWork(db)  # an operator's command: no lease to fence by
            return await forget_guest(units, identity, now=utcnow(), hotel_slug=hotel, dry_run=dry)
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
    from hotelbot.domain.guest_identity import IdentityError
    from hotelbot.errors import UserError
    from hotelbot.ops.guest_data import export_guest, json_for_terminal
    from hotelbot.storage.db import Database

    identity = _identity(who)

    async def go(db: Database) -> dict[str, object]:
        try:
            return await export_guest(db, identity, hotel_slug=hotel)
        except IdentityError as exc:
            raise UserError(str(exc)) from None

    typer.echo(json_for_terminal(common.with_db(go)))


@app.command("language")
def language(
    slug: Annotated[str, typer.Argument(help="The hotel's slug.")],
    phone: Annotated[str, typer.Argument(help="The guest's phone (+37120000001) or chat id.")],
    code: Annotated[
        str | None,
        typer.Argument(
            help="Write to this guest in this language (en, ru, de, pt-br ...); 'auto' goes "
            "back to the language detected from their messages. Omit to show it."
        ),
    ] = None,
) -> None:
    """Show or set the language of a guest's automated messages. Detection keeps it up to
    date from what the guest writes (two messages in a new language switch it); a language
    set here stays until set again or 'auto'."""
    import re

    from hotelbot.cli import common
    from hotelbot.domain.guest_language import set_by_operator
    from hotelbot.domain.stay_input import phone_to_chat_id
    from hotelbot.errors import UserError
    from hotelbot.storage.db import Database
    from hotelbot.storage.guest_language import get_guest_language, set_guest_language
    from hotelbot.storage.hotels import get_hotel

    try:
        chat_id = phone if phone.endswith(("@c.us", "@lid")) else phone_to_chat_id(phone)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    wanted = None if code is None else code.strip().lower().replace("_", "-")
    if wanted not in (None, "auto") and not re.fullmatch(r"[a-z]{2}(-[a-z0-9]{2,8})?", wanted):
        raise UserError(f"language {code!r}: expected a code like en, ru or pt-br, or 'auto'")

    async def go(db: Database) -> str:
        async with db.write() as conn:
            hotel = await get_hotel(conn, slug)
            if hotel is None:
                raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
            if wanted is not None:
                value = set_by_operator(None if wanted == "auto" else wanted)
                await set_guest_language(conn, hotel.id, chat_id, value)
            current = await get_guest_language(conn, hotel.id, chat_id)
        if current.language is None:
            default = hotel.default_language
            return f"{chat_id}: not known yet (messages use the stay's language or {default})"
        how = "first guess from one message"
        if current.source is not None:
            how = {"detected": "detected from their messages", "operator": "set by the operator"}[
                current.source.value
            ]
        seen = f"; lately also wrote {current.candidate}" if current.candidate else ""
        return f"{chat_id}: {current.language} ({how}{seen})"

    typer.echo(common.with_db(go))
