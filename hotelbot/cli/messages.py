"""`hotelbot messages ...`: what guests wrote, as stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotelbot.cli import common
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database

app = typer.Typer(help="Stored guest messages.", no_args_is_help=True)

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """'30m', '2h', '3d', '1w', an ISO date (2026-11-20) or datetime (UTC if no offset)."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(value.strip().lower())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"--since {value!r}: use 30m, 2h, 3d, 1w or an ISO date/time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only newer: 30m, 2h, 3d or an ISO date.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest last.")] = 50,
    attention: Annotated[
        bool, typer.Option("--attention", help="Only messages that need staff attention.")
    ] = False,
    outgoing: Annotated[bool, typer.Option("--all", help="Include outgoing messages.")] = False,
) -> None:
    """List guest messages as understood (kind, sentiment, attention)."""
    from sqlalchemy import select

    from hotelbot.storage.models import Hotel
    from hotelbot.storage.models_messaging import Message

    since_at = parse_since(since) if since else None

    async def go(db: Database) -> list[Any]:
        query = (
            select(
                Message.sent_at, Hotel.slug, Message.chat_id, Message.direction,
                Message.sender_name, Message.kind, Message.sentiment, Message.requires_attention,
                Message.reason, Message.text,
            )
            .join(Hotel, Hotel.id == Message.hotel_id)
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .limit(limit)
        )  # fmt: skip
        if not outgoing:
            query = query.where(Message.direction == "in")
        if attention:
            query = query.where(Message.requires_attention.is_(True))
        if hotel:
            query = query.where(Hotel.slug == hotel)
        if since_at:
            query = query.where(Message.sent_at >= since_at)
        async with db.read() as conn:
            return list(await conn.execute(query))

    rows = list(reversed(common.with_db(go)))
    out = []
    for sent_at, slug, chat_id, direction, sender, kind, sentiment, needs, reason, text in rows:
        shown = (text or f"<{kind}>").replace("\n", " ")[:80]
        mood = (sentiment or "") + (" !" if needs else "")
        who = (sender or "") if direction == "in" else "(hotel)"
        out.append([sent_at.strftime("%Y-%m-%d %H:%M:%S"), slug, chat_id, who, mood,
                    (reason or "") if needs else "", shown])  # fmt: skip
    if not out:
        typer.echo("no messages")
        return
    headers = ["SENT (UTC)", "HOTEL", "CHAT", "FROM", "SENTIMENT", "REASON", "TEXT"]
    typer.echo(common.table(headers, out))
