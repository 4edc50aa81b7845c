"""`hotelbot messages ...`: what guests wrote, as stored."""

from __future__ import annotations

import json
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


def _text_of(body: dict[str, Any]) -> str:
    data = body.get("messageData") or {}
    for path in (("textMessageData", "textMessage"), ("extendedTextMessageData", "text"),
                 ("fileMessageData", "caption"), ("editedMessageData", "textMessage")):
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return node
    return f"<{data.get('typeMessage', body.get('typeWebhook', '?'))}>"


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    since: Annotated[str | None, typer.Option(help="Only newer: 30m, 2h, 3d or an ISO date.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest last.")] = 50,
) -> None:
    """List incoming guest messages."""
    from sqlalchemy import select

    from hotelbot.storage.models import Hotel, Notification

    since_at = parse_since(since) if since else None

    async def go(db: Database) -> list[Any]:
        query = (
            select(Hotel.slug, Notification.received_at, Notification.chat_id, Notification.body)
            .join(Hotel, Hotel.id == Notification.hotel_id)
            .where(Notification.type_webhook == "incomingMessageReceived")
            .order_by(Notification.id.desc())
            .limit(limit)
        )
        if hotel:
            query = query.where(Hotel.slug == hotel)
        if since_at:
            query = query.where(Notification.received_at >= since_at)
        async with db.read() as conn:
            return list(await conn.execute(query))

    rows = list(reversed(common.with_db(go)))
    out = []
    for slug, received_at, chat_id, body_json in rows:
        body = json.loads(body_json)
        sender = (body.get("senderData") or {}).get("senderName") or ""
        text = _text_of(body).replace("\n", " ")
        out.append([received_at.strftime("%Y-%m-%d %H:%M:%S"), slug, chat_id, sender, text[:80]])
    if not out:
        typer.echo("no messages")
        return
    typer.echo(common.table(["RECEIVED (UTC)", "HOTEL", "CHAT", "FROM", "TEXT"], out))
