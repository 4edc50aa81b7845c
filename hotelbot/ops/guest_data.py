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

from hotelbot.domain.guest_identity import (
    GuestIdentity,
    GuestScope,
    IdentityError,
    dead_letter_text,
)
from hotelbot.storage.db import Database
from hotelbot.storage.guest_erasure import ALERT_OUTBOX_COLUMNS
from hotelbot.storage.guest_export import ExportRow, SqlGuestExport
from hotelbot.storage.types import utcnow

# -- export -----------------------------------------------------------------------------------


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(rows: Iterable[ExportRow]) -> list[dict[str, object]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in rows]


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
    Raw notification bodies are included parsed, dead letters decoded. Read-only (one read
    transaction; the SQL is `storage.guest_export.SqlGuestExport`). Raises IdentityError
    when `hotel_slug` names no hotel."""
    tables: dict[str, list[dict[str, object]]] = {}
    async with db.read() as conn:
        store = SqlGuestExport(conn)
        hotels = await store.hotels(hotel_slug)
        if hotel_slug is not None and not hotels:
            raise IdentityError(f"no hotel with slug {hotel_slug!r}")
        linked = await store.linked_chats(hotels, identity.phones)
        s = GuestScope.of(identity, hotels, linked)

        tables["guests"] = _rows(await store.guests(s))
        for name in ("conversations", "stays", "outbox"):
            tables[name] = _rows(await store.chat_rows(name, s))
        tables["messages"] = _rows(await store.messages(s))
        message_ids = [int(str(m["id"])) for m in tables["messages"]]
        alerts = await store.alerts(message_ids)
        if alerts is not None:
            tables["alerts"] = _rows(alerts)
            links = {
                int(str(a[c]))
                for a in tables["alerts"]
                for c in ALERT_OUTBOX_COLUMNS
                if a.get(c) is not None
            }
            tables["staff_alerts"] = _rows(await store.outbox_rows(s, sorted(links)))
        stay_ids = [int(str(x["id"])) for x in tables["stays"]]
        fires = await store.trigger_fires(stay_ids)
        if fires is not None:
            tables["trigger_fires"] = _rows(fires)
        notes = _rows(await store.notifications(s))
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
        for row in _rows(await store.dead_letters(s)):
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
