"""Hostile queue items and a database that refuses chosen rows (real triggers, both backends).

`refuse_rows(db, table, marker)` installs a trigger that aborts any INSERT whose text
column contains `marker`: a real statement-level failure, standing in for disk-full, an
encoding error or a constraint the driver reports, without mocking anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from hotelbot.storage.db import Database
from tests import shapes

CHAT = "37120000001@c.us"


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _body(instance: str, chat: str, message: str, **extra: Any) -> dict[str, Any]:
    body = shapes.incoming_text(instance, chat, message)
    body.update(extra)
    return body


WRONG_TYPES = {
    "typeWebhook": "incomingMessageReceived",
    "idMessage": 42,
    "senderData": "str",
    "messageData": [1, 2],
    "timestamp": "abc",
}

WRONG_TYPES = {
    "typeWebhook": "incomingMessageReceived",
    "idMessage": 42,
    "senderData": "str",
    "messageData": [1, 2],
    "timestamp": "abc",
}

# (name, builder) -> the raw bytes served as one queue item with receipt id `rid`.
HostileBuilder = Callable[[str, int], bytes]


def _wrap(rid: int, body_text: str | bytes) -> bytes:
    raw = body_text.encode("utf-8", "surrogatepass") if isinstance(body_text, str) else body_text
    return b'{"receiptId": %d, "body": %s}' % (rid, raw)


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


HOSTILE: dict[str, HostileBuilder] = {
    # an emoji cut in half: a JSON escape for a lone surrogate
    "lone_surrogate_escape": lambda inst, rid: _wrap(
        rid,
        json.dumps(_body(inst, CHAT, "half an emoji \ud83d"), ensure_ascii=True),
    ),
    # the same as raw (invalid) UTF-8 bytes of the surrogate
    "surrogate_bytes": lambda inst, rid: _wrap(rid, _json(_body(inst, CHAT, "bytes \ud83d x"))),
    "nul_in_text": lambda inst, rid: _wrap(rid, _json(_body(inst, CHAT, "nul\x00inside"))),
    "nul_in_chat_id": lambda inst, rid: _wrap(
        rid, _json(_body(inst, "3712\x000000001@c.us", "nul in the chat id"))
    ),
    "escapes_and_bidi": lambda inst, rid: _wrap(
        rid, _json(_body(inst, CHAT, "\x1b[31mred\x9b2J \u202eevil\u202c \x07"))
    ),
    "long_id_message": lambda inst, rid: _wrap(
        rid, _json(_body(inst, CHAT, "long id", idMessage="X" * 5000))
    ),
    "long_chat_id": lambda inst, rid: _wrap(rid, _json(_body(inst, "7" * 300 + "@c.us", "hi"))),
    "long_type_webhook": lambda inst, rid: _wrap(
        rid, _json({"typeWebhook": "incoming" * 40, "idMessage": "A1"})
    ),
    "deep_nesting": lambda inst, rid: _wrap(
        rid, '{"typeWebhook": "incomingMessageReceived", "x": ' + deep(5000) + "}"
    ),
    "moderately_deep": lambda inst, rid: _wrap(
        rid, '{"typeWebhook": "incomingMessageReceived", "x": ' + deep(200) + "}"
    ),
    "huge_text": lambda inst, rid: _wrap(rid, _json(_body(inst, CHAT, "A" * 300_000))),
    "oversized": lambda inst, rid: _wrap(rid, _json(_body(inst, CHAT, "B" * 1_100_000))),
    "invalid_utf8": lambda inst, rid: _wrap(
        rid, b'{"typeWebhook": "incomingMessageReceived", "t": "\xff\xfe\xc3("}'
    ),
    "not_json": lambda inst, rid: b'{"receiptId": %d, "body": {"typeWebhook": ' % rid,
    "body_not_object": lambda inst, rid: _wrap(rid, '"just a string"'),
    "no_type_webhook": lambda inst, rid: _wrap(rid, '{"idMessage": "x"}'),
    "huge_number": lambda inst, rid: _wrap(
        rid, '{"typeWebhook": "incomingMessageReceived", "n": ' + "9" * 5000 + "}"
    ),
    "wrong_types": lambda inst, rid: _wrap(rid, _json(WRONG_TYPES)),
}


async def refuse_rows(db: Database, table: str, column: str, marker: str) -> None:
    """Make every INSERT into `table` whose `column` contains `marker` fail (a real trigger)."""
    async with db.write() as conn:
        if db.is_sqlite:
            await conn.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                    f"WHEN instr(NEW.{column}, '{marker}') > 0 "
                    "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
                )
            )
            return
        await conn.execute(
            text(
                f"CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$ BEGIN "
                f"IF position('{marker}' in NEW.{column}) > 0 THEN "
                "RAISE EXCEPTION 'refused by test trigger: %', NEW.{column}; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql".replace("{column}", column)
            )
        )
        await conn.execute(
            text(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
            )
        )


async def allow_rows(db: Database, table: str) -> None:
    """Remove the trigger `refuse_rows` installed on `table`."""
    async with db.write() as conn:
        on = "" if db.is_sqlite else f" ON {table}"
        await conn.execute(text(f"DROP TRIGGER refuse_{table}{on}"))
