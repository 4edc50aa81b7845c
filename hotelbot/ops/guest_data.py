"""One guest's data, by exact identity: `hotelbot guest export` (a copy of everything held
about them, to answer a data access request).

Who the guest is and what quotes them is `domain.guest_identity`; the rows are the same ones
`hotelbot guest forget` erases (`app.forget_guest`, which states the rule). Read-only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import TableClause, or_, select

from hotelbot.domain.guest_identity import (
    GuestIdentity,
    GuestScope,
    IdentityError,
    dead_letter_text,
)
from hotelbot.storage.db import Database
from hotelbot.storage.guest_erasure import ALERT_OUTBOX_COLUMNS, hotels_by_slug, linked_chats
from hotelbot.storage.introspect import read_schema, view
from hotelbot.storage.types import utcnow

# -- export -----------------------------------------------------------------------------------


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(result: Iterable[Any]) -> list[dict[str, object]]:
    return [{k: _jsonable(v) for k, v in row._mapping.items()} for row in result]


def _parsed(body: str) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body


async def export_guest(
    db: Database, identity: GuestIdentity, *, hotel_slug: str | None = None
) -> dict[str, Any]:
    """Everything held about the guest (the same rows `app.forget_guest` erases), JSON-ready:
    {"identity", "chat_ids", "exported_at", "hotels": {id: slug}, "tables": {name: [rows]}}.
    Raw notification bodies are included parsed, dead letters decoded. Read-only."""
    tables: dict[str, list[dict[str, object]]] = {}
    async with db.read() as conn:
        schema = await read_schema(conn)
        hotels = await hotels_by_slug(conn, hotel_slug)
        if hotel_slug is not None and not hotels:
            raise IdentityError(f"no hotel with slug {hotel_slug!r}")
        linked = await linked_chats(conn, schema, hotels, identity.phones)
        s = GuestScope.of(identity, hotels, linked)

        def full(name: str) -> TableClause | None:
            return view(schema, name, *sorted(schema.get(name, ())))

        async def rows(name: str, where: Any) -> list[dict[str, object]]:
            t = full(name)
            if t is None:
                return []
            order = t.c.get("id")
            query = select(t).where(t.c.hotel_id.in_(s.hotel_ids), where(t))
            return _rows(await conn.execute(query.order_by(order) if order is not None else query))

        tables["guests"] = await rows(
            "guests", lambda t: or_(t.c.chat_id.in_(s.chats), t.c.phone.in_(s.phones))
        )
        for name in ("conversations", "stays", "outbox"):
            tables[name] = await rows(name, lambda t: t.c.chat_id.in_(s.chats))
        tables["messages"] = await rows(
            "messages", lambda t: or_(t.c.chat_id.in_(s.chats), t.c.sender_id.in_(s.chats))
        )
        message_ids = [int(str(m["id"])) for m in tables["messages"]]
        alerts = full("alerts")
        if alerts is not None:
            tables["alerts"] = _rows(
                await conn.execute(select(alerts).where(alerts.c.message_id.in_(message_ids)))
            )
            links = {
                int(str(a[c]))
                for a in tables["alerts"]
                for c in ALERT_OUTBOX_COLUMNS
                if a.get(c) is not None
            }
            tables["staff_alerts"] = await rows("outbox", lambda t: t.c.id.in_(sorted(links)))
        stay_ids = [int(str(x["id"])) for x in tables["stays"]]
        fires = full("trigger_fires")
        if fires is not None:
            tables["trigger_fires"] = _rows(
                await conn.execute(select(fires).where(fires.c.stay_id.in_(stay_ids)))
            )
        notes = await rows(
            "notifications",
            lambda t: or_(t.c.chat_id.in_(s.chats), *(t.c.body.like(f'%"{c}"%') for c in s.chats)),
        )
        tables["notifications"] = [
            {**row, "body": _parsed(str(row.get("body", "")))}
            for row in notes
            if row.get("chat_id") in s.chats
            or (
                str(row.get("chat_id") or "").endswith("@g.us")
                and s.sent_in_group(str(row.get("body", "")))
            )
        ]
        tables["dead_letters"] = []
        for row in await rows("dead_letters", lambda t: t.c.id.is_not(None)):
            encoding = row.get("raw_encoding")
            text = dead_letter_text(str(row["raw"]), str(encoding) if encoding else None)
            if s.quotes(text):
                tables["dead_letters"].append({**row, "raw": text})
    return {
        "identity": identity.describe(),
        "chat_ids": list(s.chats),
        "exported_at": utcnow().isoformat(),
        "hotels": {str(k): v for k, v in hotels.items()},
        "tables": tables,
    }


# Characters JSON leaves raw (ensure_ascii=False) that a terminal may act on: C1 controls
# (U+009B is a one-character CSI), bidi controls, line/paragraph separators.
_TERMINAL_UNSAFE = re.compile(
    "[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]"
)


def json_for_terminal(data: object) -> str:
    """Indented JSON with non-ASCII text readable (Cyrillic stays Cyrillic) but every
    character a terminal could act on escaped as \\uXXXX (C0 controls JSON escapes itself).
    The output is still valid JSON meaning the same data."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
