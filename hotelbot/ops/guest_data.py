"""One guest's data, by exact identity: `hotelbot guest forget` and `hotelbot guest export`.

Identity. The operator names the guest by phone number (international form, 8 to 15 digits)
and/or exact chat ids (`37120000001@c.us`, `123456789012345@lid`). A phone number stands for
its `@c.us` chat, and for any chat (e.g. an `@lid` one) a guest row links to that number.
Nothing is matched by substring: a number that is the prefix of another never matches it,
and input that could mean several people (too few digits, a group chat, wildcards, a number
written with 00) is refused with the form to use.

What belongs to the guest, in every table, scoped to one hotel or all of them:
* their chats: messages, conversations, stays (and trigger fires), guest rows, outbox
  messages to them, raw notifications of those chats;
* what they wrote in group chats: messages whose sender is them, and the group
  notifications whose senderData.sender is them;
* staff alerts about their messages: the outbox rows (text replaced by "[erased]"), the
  echoes of those alerts that came back from Green API (messages and notifications in the
  staff chat with the same idMessage), the alert rows;
* any other text that quotes their number or chat id exactly (digit boundaries): outbox texts
  and message texts of other chats (blanked), processed notifications (deleted), dead letters.

Before a guest row that says "opted out" is deleted, its chats are put on the hotel's
suppression list (storage/suppression.py), so forgetting never undoes a STOP.

`forget_guest(dry_run=True)` runs every statement and rolls back: the counts of the dry run
are exactly what the real run would change at that moment. Both functions are idempotent.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, TableClause, and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.ops.retention import ERASED_TEXT, PurgeResult
from hotelbot.storage.db import Database
from hotelbot.storage.introspect import Schema, read_schema, view
from hotelbot.storage.suppression import suppress
from hotelbot.storage.types import utcnow

_SEPARATORS = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"^\+?(\d{8,15})$")
_CUS = re.compile(r"^(\d{8,15})@c\.us$")
_LID = re.compile(r"^(\d{5,30})@lid$")
_ALERT_OUTBOX_COLUMNS = ("outbox_id", "escalation_outbox_id", "reminder_outbox_id")


class IdentityError(ValueError):
    """The operator's input does not name exactly one guest identity."""


@dataclass(frozen=True)
class GuestIdentity:
    """Phone numbers (digits) and exact chat ids of one guest."""

    phones: frozenset[str]
    chat_ids: frozenset[str]

    def describe(self) -> str:
        parts = [f"+{p}" for p in sorted(self.phones)]
        parts += sorted(c for c in self.chat_ids if not any(c == f"{p}@c.us" for p in self.phones))
        return ", ".join(parts)


def parse_identity(values: Sequence[str]) -> GuestIdentity:
    """Phone numbers and chat ids -> GuestIdentity. Raises IdentityError for anything that is
    not exactly one of: +<8..15 digits> (spaces, dashes, dots, brackets allowed),
    <digits>@c.us, <digits>@lid."""
    if not values:
        raise IdentityError("name the guest: a phone number like +37120000001 or a chat id")
    phones: set[str] = set()
    chats: set[str] = set()
    for raw in values:
        value = raw.strip()
        if value.endswith("@g.us"):
            raise IdentityError(f"{raw!r} is a group chat, not a guest")
        if match := _CUS.match(value):
            phones.add(match.group(1))
            chats.add(value)
            continue
        if _LID.match(value):
            chats.add(value)
            continue
        compact = _SEPARATORS.sub("", value)
        if compact.startswith("00") or compact.startswith("+00"):
            raise IdentityError(f"{raw!r}: write the number as +<country code><number>, not 00…")
        match = _PHONE.match(compact)
        if match is None:
            raise IdentityError(
                f"{raw!r} is neither a phone number in international form (+ and 8 to 15 "
                "digits, e.g. +37120000001) nor a chat id (…@c.us, …@lid)"
            )
        phones.add(match.group(1))
        chats.add(f"{match.group(1)}@c.us")
    return GuestIdentity(frozenset(phones), frozenset(chats))


@dataclass
class _Scope:
    hotel_ids: list[int]
    chats: list[str]
    phones: list[str]
    tokens: list[str] = field(default_factory=list)  # exact strings that quote the guest

    def quotes(self, text: str | None) -> bool:
        """`text` holds one of the tokens with no digit right before or after it."""
        if not text:
            return False
        return any(re.search(rf"(?<!\d){re.escape(t)}(?!\d)", text) for t in self.tokens)

    def like_any(self, column: Any) -> ColumnElement[bool]:
        """A coarse SQL prefilter for `quotes` (digits and @/. only: no LIKE wildcards)."""
        return or_(*(column.like(f"%{t}%") for t in self.tokens)) if self.tokens else false()


async def _hotels(conn: AsyncConnection, hotel_slug: str | None) -> dict[int, str]:
    hotels = view(await read_schema(conn), "hotels", "id", "slug")
    assert hotels is not None
    query = select(hotels.c.id, hotels.c.slug)
    if hotel_slug is not None:
        query = query.where(hotels.c.slug == hotel_slug)
    found = {int(r[0]): str(r[1]) for r in await conn.execute(query)}
    if hotel_slug is not None and not found:
        raise IdentityError(f"no hotel with slug {hotel_slug!r}")
    return found


async def _scope(
    conn: AsyncConnection, schema: Schema, identity: GuestIdentity, hotel_ids: list[int]
) -> _Scope:
    chats = set(identity.chat_ids)
    guests = view(schema, "guests", "hotel_id", "chat_id", "phone")
    if guests is not None and identity.phones:
        # "Where known": a guest row links another chat (an @lid one) to the number.
        rows = await conn.execute(
            select(guests.c.chat_id).where(
                guests.c.hotel_id.in_(hotel_ids), guests.c.phone.in_(sorted(identity.phones))
            )
        )
        chats.update(str(r[0]) for r in rows)
    tokens = set(identity.phones) | {c for c in chats if not c.endswith("@c.us")}
    return _Scope(hotel_ids, sorted(chats), sorted(identity.phones), sorted(tokens))


def _group_sender(body: str, chats: Iterable[str]) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    sender = data.get("senderData") if isinstance(data, dict) else None
    return isinstance(sender, dict) and sender.get("sender") in set(chats)


def _dead_letter_text(raw: str, encoding: str | None) -> str:
    if encoding == "base64":
        try:
            return base64.b64decode(raw).decode("utf-8", errors="replace")
        except ValueError:
            return raw
    return raw


class _DryRun(Exception):
    """Raised inside the transaction of a dry run so that it rolls back."""


async def forget_guest(
    db: Database,
    identity: GuestIdentity,
    *,
    hotel_slug: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeResult:
    """Erase everything about the guest (module docstring), in one transaction; with
    `dry_run` count it and roll back. Raises IdentityError for an unknown hotel."""
    result = PurgeResult()
    try:
        async with db.write() as conn:
            await _forget(conn, identity, hotel_slug, now or utcnow(), result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    result.changed = {k: v for k, v in result.changed.items() if v}
    return result


async def _forget(
    conn: AsyncConnection,
    identity: GuestIdentity,
    hotel_slug: str | None,
    now: datetime,
    result: PurgeResult,
) -> None:
    schema = await read_schema(conn)
    scope = await _scope(conn, schema, identity, list(await _hotels(conn, hotel_slug)))
    step = _Forget(conn, schema, scope, result.changed)
    await step.suppress_opted_out(now)  # before the guest rows that hold the STOP go
    await step.staff_alerts()
    await step.messages()
    await step.outbox()
    await step.chat_rows()
    await step.notifications()
    await step.dead_letters()


class _Forget:
    """The steps of `forget_guest`, in one transaction; `counts` collects rows per key."""

    def __init__(
        self, conn: AsyncConnection, schema: Schema, scope: _Scope, counts: dict[str, int]
    ) -> None:
        self.conn, self.schema, self.s, self.counts = conn, schema, scope, counts

    def table(self, name: str, *columns: str) -> TableClause | None:
        return view(self.schema, name, *columns)

    def mine(self, t: TableClause, *where: ColumnElement[bool]) -> ColumnElement[bool]:
        return and_(t.c.hotel_id.in_(self.s.hotel_ids), *where)

    async def run(self, key: str, stmt: Any) -> None:
        changed = int((await self.conn.execute(stmt)).rowcount or 0)
        self.counts[key] = self.counts.get(key, 0) + changed

    def _guest_rows(self, guests: TableClause) -> ColumnElement[bool]:
        who = or_(guests.c.chat_id.in_(self.s.chats), guests.c.phone.in_(self.s.phones))
        return self.mine(guests, who)

    async def suppress_opted_out(self, now: datetime) -> None:
        guests = self.table("guests", "hotel_id", "chat_id", "phone", "opted_out")
        if guests is None or self.table("optout_suppressions", "id") is None:
            return
        opted = await self.conn.execute(
            select(guests.c.hotel_id, guests.c.chat_id).where(
                self._guest_rows(guests), guests.c.opted_out
            )
        )
        pairs = {(int(h), c) for h, chat in opted for c in {str(chat), *self.s.chats}}
        if pairs:
            self.counts["optout_suppressions"] = await suppress(self.conn, pairs, now=now)

    def _their_messages(self) -> Any:
        msgs = self.table("messages", "id", "hotel_id", "chat_id", "sender_id")
        assert msgs is not None
        who = or_(msgs.c.chat_id.in_(self.s.chats), msgs.c.sender_id.in_(self.s.chats))
        return select(msgs.c.id).where(self.mine(msgs, who))

    async def staff_alerts(self) -> None:
        """Alerts about their messages: outbox texts erased, echoes and alert rows deleted."""
        columns = self.schema.get("alerts", ())
        links = [c for c in _ALERT_OUTBOX_COLUMNS if c in columns]
        alerts = self.table("alerts", "id", "message_id", *links)
        if alerts is None or self.table("messages", "id") is None:
            return
        theirs = self._their_messages()
        outbox_ids: set[int] = set()
        for row in await self.conn.execute(
            select(*(alerts.c[c] for c in links)).where(alerts.c.message_id.in_(theirs))
        ):
            outbox_ids.update(int(v) for v in row if v is not None)
        outbox = self.table("outbox", "id", "text", "id_message")
        if outbox is not None and outbox_ids:
            ids = sorted(outbox_ids)
            query = select(outbox.c.id_message).where(
                outbox.c.id.in_(ids), outbox.c.id_message.is_not(None)
            )
            sent = [str(r[0]) for r in await self.conn.execute(query)]
            await self.run(
                "outbox.staff_alerts",
                update(outbox)
                .where(outbox.c.id.in_(ids), outbox.c.text != ERASED_TEXT)
                .values(text=ERASED_TEXT),
            )
            if sent:
                await self._delete_echoes(sent)
        await self.run("alerts", delete(alerts).where(alerts.c.message_id.in_(theirs)))

    async def _delete_echoes(self, id_messages: list[str]) -> None:
        """What Green API echoed back of the alerts (same idMessage, in the staff chat)."""
        msgs = self.table("messages", "id", "hotel_id", "chat_id", "id_message")
        if msgs is not None:
            where = self.mine(
                msgs, msgs.c.id_message.in_(id_messages), msgs.c.chat_id.not_in(self.s.chats)
            )
            await self.run("messages.staff_alert_echoes", delete(msgs).where(where))
        notes = self.table("notifications", "id", "hotel_id", "id_message")
        if notes is not None:
            where = self.mine(notes, notes.c.id_message.in_(id_messages))
            await self.run("notifications.staff_alert_echoes", delete(notes).where(where))

    async def messages(self) -> None:
        msgs = self.table("messages", "id", "hotel_id", "chat_id", "sender_id", "text")
        if msgs is None:
            return
        s = self.s
        await self.run("messages", delete(msgs).where(self.mine(msgs, msgs.c.chat_id.in_(s.chats))))
        await self.run(
            "messages.in_groups", delete(msgs).where(self.mine(msgs, msgs.c.sender_id.in_(s.chats)))
        )
        query = select(msgs.c.id, msgs.c.text).where(self.mine(msgs, s.like_any(msgs.c.text)))
        quoting = [int(r[0]) for r in await self.conn.execute(query) if s.quotes(r[1])]
        if quoting:
            await self.run(
                "messages.quoting",
                update(msgs).where(msgs.c.id.in_(quoting)).values(text=None, sender_name=None),
            )

    async def outbox(self) -> None:
        outbox = self.table("outbox", "id", "hotel_id", "chat_id", "text")
        if outbox is None:
            return
        s = self.s
        query = select(outbox.c.id, outbox.c.text).where(
            self.mine(outbox, outbox.c.text != ERASED_TEXT, s.like_any(outbox.c.text))
        )
        quoting = [int(r[0]) for r in await self.conn.execute(query) if s.quotes(r[1])]
        if quoting:
            await self.run(
                "outbox.quoting",
                update(outbox).where(outbox.c.id.in_(quoting)).values(text=ERASED_TEXT),
            )
        where = self.mine(outbox, outbox.c.chat_id.in_(s.chats))
        await self.run("outbox", delete(outbox).where(where))

    async def chat_rows(self) -> None:
        """Conversations, stays (and their trigger fires), guest rows."""
        chats = self.s.chats
        conv = self.table("conversations", "id", "hotel_id", "chat_id")
        if conv is not None:
            where = self.mine(conv, conv.c.chat_id.in_(chats))
            await self.run("conversations", delete(conv).where(where))
        stays = self.table("stays", "id", "hotel_id", "chat_id")
        if stays is not None:
            theirs = self.mine(stays, stays.c.chat_id.in_(chats))
            fires = self.table("trigger_fires", "id", "stay_id")
            if fires is not None:
                their_stays = select(stays.c.id).where(theirs)
                await self.run(
                    "trigger_fires", delete(fires).where(fires.c.stay_id.in_(their_stays))
                )
            await self.run("stays", delete(stays).where(theirs))
        guests = self.table("guests", "id", "hotel_id", "chat_id", "phone")
        if guests is not None:
            await self.run("guests", delete(guests).where(self._guest_rows(guests)))

    async def notifications(self) -> None:
        """Their chats' notifications; group ones they sent; processed ones quoting them."""
        notes = self.table("notifications", "id", "hotel_id", "chat_id", "body", "processed_at")
        if notes is None:
            return
        s = self.s
        await self.run(
            "notifications", delete(notes).where(self.mine(notes, notes.c.chat_id.in_(s.chats)))
        )
        named = or_(s.like_any(notes.c.body), *(notes.c.body.like(f'%"{c}"%') for c in s.chats))
        in_groups: list[int] = []
        quoting: list[int] = []
        query = select(notes.c.id, notes.c.chat_id, notes.c.body, notes.c.processed_at)
        for row in await self.conn.execute(query.where(self.mine(notes, named))):
            if str(row[1] or "").endswith("@g.us") and _group_sender(row[2], s.chats):
                in_groups.append(int(row[0]))
            elif row[3] is not None and s.quotes(row[2]):
                quoting.append(int(row[0]))  # processed: nothing still needs it
        if in_groups:
            await self.run(
                "notifications.in_groups", delete(notes).where(notes.c.id.in_(in_groups))
            )
        if quoting:
            await self.run("notifications.quoting", delete(notes).where(notes.c.id.in_(quoting)))

    async def dead_letters(self) -> None:
        dead = _dead_letters(self.schema)
        if dead is None:
            return
        s = self.s
        candidates = or_(dead.c.raw_encoding == "base64", s.like_any(dead.c.raw))
        query = select(dead.c.id, dead.c.raw, dead.c.raw_encoding).where(
            self.mine(dead, candidates)
        )
        matching = [
            int(r[0])
            for r in await self.conn.execute(query)
            if s.quotes(_dead_letter_text(r[1], r[2]))
        ]
        if matching:
            await self.run("dead_letters", delete(dead).where(dead.c.id.in_(matching)))


def _dead_letters(schema: Schema) -> TableClause | None:
    return view(schema, "dead_letters", "id", "hotel_id", "raw", "raw_encoding")


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
    """Everything held about the guest (the same rows `forget_guest` erases), JSON-ready:
    {"identity", "chat_ids", "exported_at", "hotels": {id: slug}, "tables": {name: [rows]}}.
    Raw notification bodies are included parsed, dead letters decoded. Read-only."""
    tables: dict[str, list[dict[str, object]]] = {}
    async with db.read() as conn:
        schema = await read_schema(conn)
        hotels = await _hotels(conn, hotel_slug)
        s = await _scope(conn, schema, identity, list(hotels))

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
                for c in _ALERT_OUTBOX_COLUMNS
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
                and _group_sender(str(row.get("body", "")), s.chats)
            )
        ]
        tables["dead_letters"] = []
        for row in await rows("dead_letters", lambda t: t.c.id.is_not(None)):
            encoding = row.get("raw_encoding")
            text = _dead_letter_text(str(row["raw"]), str(encoding) if encoding else None)
            if s.quotes(text):
                tables["dead_letters"].append({**row, "raw": text})
    return {
        "identity": identity.describe(),
        "chat_ids": s.chats,
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
