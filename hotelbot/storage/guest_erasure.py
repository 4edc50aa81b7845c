"""The SQL of forgetting a guest (`hotelbot.app.forget_guest` holds the rule and the order).

Tables are found by introspection (`storage.introspect`): a database without some of the
messaging or stay tables is erased of what it has. Every step runs on the unit of work's
connection, so the whole erasure is one transaction; texts are matched coarsely in SQL
(`_like_any`) and exactly in Python (`GuestScope.quotes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, TableClause, and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.erasure import ERASED_TEXT
from hotelbot.domain.guest_identity import GuestScope, dead_letter_text
from hotelbot.storage.introspect import Schema, read_schema, view
from hotelbot.storage.suppression import suppress

ALERT_OUTBOX_COLUMNS = ("outbox_id", "escalation_outbox_id", "reminder_outbox_id")


def like_any(scope: GuestScope, column: Any) -> ColumnElement[bool]:
    """A coarse SQL prefilter for `scope.quotes` (tokens are digits and @/. only: no LIKE
    wildcards in them)."""
    return or_(*(column.like(f"%{t}%") for t in scope.tokens)) if scope.tokens else false()


async def hotels_by_slug(conn: AsyncConnection, slug: str | None) -> dict[int, str]:
    """Hotel id -> slug: the one with `slug` (empty when none), or all for None."""
    hotels = view(await read_schema(conn), "hotels", "id", "slug")
    assert hotels is not None
    query = select(hotels.c.id, hotels.c.slug)
    if slug is not None:
        query = query.where(hotels.c.slug == slug)
    return {int(r[0]): str(r[1]) for r in await conn.execute(query)}


async def linked_chats(
    conn: AsyncConnection, schema: Schema, hotel_ids: Iterable[int], phones: Iterable[str]
) -> set[str]:
    """Chats (an @lid one, say) that guest rows of the hotels link to one of the numbers."""
    guests = view(schema, "guests", "hotel_id", "chat_id", "phone")
    wanted = sorted(phones)
    if guests is None or not wanted:
        return set()
    rows = await conn.execute(
        select(guests.c.chat_id).where(
            guests.c.hotel_id.in_(list(hotel_ids)), guests.c.phone.in_(wanted)
        )
    )
    return {str(r[0]) for r in rows}


def dead_letters_view(schema: Schema) -> TableClause | None:
    return view(schema, "dead_letters", "id", "hotel_id", "raw", "raw_encoding")


class SqlGuestErasure:
    """`hotelbot.app.forget_guest.GuestErasure` on the unit of work's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._schema: Schema | None = None

    async def _table(self, name: str, *columns: str) -> TableClause | None:
        return view(await self._columns(), name, *columns)

    async def _columns(self) -> Schema:
        if self._schema is None:
            self._schema = await read_schema(self.conn)
        return self._schema

    @staticmethod
    def _mine(s: GuestScope, t: TableClause, *where: ColumnElement[bool]) -> ColumnElement[bool]:
        return and_(t.c.hotel_id.in_(s.hotel_ids), *where)

    async def _run(self, counts: dict[str, int], key: str, stmt: Any) -> None:
        changed = int((await self.conn.execute(stmt)).rowcount or 0)
        counts[key] = counts.get(key, 0) + changed

    def _guest_rows(self, s: GuestScope, guests: TableClause) -> ColumnElement[bool]:
        who = or_(guests.c.chat_id.in_(s.chats), guests.c.phone.in_(s.phones))
        return self._mine(s, guests, who)

    async def hotel_ids(self, slug: str | None) -> list[int]:
        return sorted(await hotels_by_slug(self.conn, slug))

    async def linked_chats(self, hotel_ids: Iterable[int], phones: Iterable[str]) -> set[str]:
        return await linked_chats(self.conn, await self._columns(), hotel_ids, phones)

    async def opted_out_chats(self, scope: GuestScope) -> set[tuple[int, str]]:
        guests = await self._table("guests", "hotel_id", "chat_id", "phone", "opted_out")
        # A schema without the suppression list cannot keep the STOP: nothing to carry over.
        if guests is None or await self._table("optout_suppressions", "id") is None:
            return set()
        rows = await self.conn.execute(
            select(guests.c.hotel_id, guests.c.chat_id).where(
                self._guest_rows(scope, guests), guests.c.opted_out
            )
        )
        return {(int(h), str(c)) for h, c in rows}

    async def suppress(self, pairs: Iterable[tuple[int, str]], *, now: datetime) -> int:
        return await suppress(self.conn, pairs, now=now)

    def _their_messages(self, s: GuestScope, msgs: TableClause) -> Any:
        who = or_(msgs.c.chat_id.in_(s.chats), msgs.c.sender_id.in_(s.chats))
        return select(msgs.c.id).where(self._mine(s, msgs, who))

    async def erase_staff_alerts(self, scope: GuestScope) -> dict[str, int]:
        counts: dict[str, int] = {}
        present = (await self._columns()).get("alerts", ())
        links = [c for c in ALERT_OUTBOX_COLUMNS if c in present]
        alerts = await self._table("alerts", "id", "message_id", *links)
        msgs = await self._table("messages", "id", "hotel_id", "chat_id", "sender_id")
        if alerts is None or msgs is None:
            return counts
        theirs = self._their_messages(scope, msgs)
        outbox_ids: set[int] = set()
        for row in await self.conn.execute(
            select(*(alerts.c[c] for c in links)).where(alerts.c.message_id.in_(theirs))
        ):
            outbox_ids.update(int(v) for v in row if v is not None)
        outbox = await self._table("outbox", "id", "text", "id_message")
        if outbox is not None and outbox_ids:
            ids = sorted(outbox_ids)
            query = select(outbox.c.id_message).where(
                outbox.c.id.in_(ids), outbox.c.id_message.is_not(None)
            )
            sent = [str(r[0]) for r in await self.conn.execute(query)]
            await self._run(
                counts,
                "outbox.staff_alerts",
                update(outbox)
                .where(outbox.c.id.in_(ids), outbox.c.text != ERASED_TEXT)
                .values(text=ERASED_TEXT),
            )
            if sent:
                await self._delete_echoes(scope, sent, counts)
        await self._run(counts, "alerts", delete(alerts).where(alerts.c.message_id.in_(theirs)))
        return counts

    async def _delete_echoes(
        self, s: GuestScope, id_messages: list[str], counts: dict[str, int]
    ) -> None:
        """What Green API echoed back of the alerts (same idMessage, in the staff chat)."""
        msgs = await self._table("messages", "id", "hotel_id", "chat_id", "id_message")
        if msgs is not None:
            where = self._mine(
                s, msgs, msgs.c.id_message.in_(id_messages), msgs.c.chat_id.not_in(s.chats)
            )
            await self._run(counts, "messages.staff_alert_echoes", delete(msgs).where(where))
        notes = await self._table("notifications", "id", "hotel_id", "id_message")
        if notes is not None:
            where = self._mine(s, notes, notes.c.id_message.in_(id_messages))
            await self._run(counts, "notifications.staff_alert_echoes", delete(notes).where(where))

    async def erase_messages(self, scope: GuestScope) -> dict[str, int]:
        counts: dict[str, int] = {}
        msgs = await self._table("messages", "id", "hotel_id", "chat_id", "sender_id", "text")
        if msgs is None:
            return counts
        s, mine = scope, self._mine
        await self._run(
            counts, "messages", delete(msgs).where(mine(s, msgs, msgs.c.chat_id.in_(s.chats)))
        )
        await self._run(
            counts,
            "messages.in_groups",
            delete(msgs).where(mine(s, msgs, msgs.c.sender_id.in_(s.chats))),
        )
        query = select(msgs.c.id, msgs.c.text).where(mine(s, msgs, like_any(s, msgs.c.text)))
        quoting = [int(r[0]) for r in await self.conn.execute(query) if s.quotes(r[1])]
        if quoting:
            await self._run(
                counts,
                "messages.quoting",
                update(msgs).where(msgs.c.id.in_(quoting)).values(text=None, sender_name=None),
            )
        return counts

    async def erase_outbox(self, scope: GuestScope) -> dict[str, int]:
        counts: dict[str, int] = {}
        outbox = await self._table("outbox", "id", "hotel_id", "chat_id", "text")
        if outbox is None:
            return counts
        s = scope
        query = select(outbox.c.id, outbox.c.text).where(
            self._mine(s, outbox, outbox.c.text != ERASED_TEXT, like_any(s, outbox.c.text))
        )
        quoting = [int(r[0]) for r in await self.conn.execute(query) if s.quotes(r[1])]
        if quoting:
            await self._run(
                counts,
                "outbox.quoting",
                update(outbox).where(outbox.c.id.in_(quoting)).values(text=ERASED_TEXT),
            )
        where = self._mine(s, outbox, outbox.c.chat_id.in_(s.chats))
        await self._run(counts, "outbox", delete(outbox).where(where))
        return counts

    async def erase_chat_rows(self, scope: GuestScope) -> dict[str, int]:
        counts: dict[str, int] = {}
        chats = scope.chats
        conv = await self._table("conversations", "id", "hotel_id", "chat_id")
        if conv is not None:
            where = self._mine(scope, conv, conv.c.chat_id.in_(chats))
            await self._run(counts, "conversations", delete(conv).where(where))
        stays = await self._table("stays", "id", "hotel_id", "chat_id")
        if stays is not None:
            theirs = self._mine(scope, stays, stays.c.chat_id.in_(chats))
            fires = await self._table("trigger_fires", "id", "stay_id")
            if fires is not None:
                their_stays = select(stays.c.id).where(theirs)
                await self._run(
                    counts,
                    "trigger_fires",
                    delete(fires).where(fires.c.stay_id.in_(their_stays)),
                )
            await self._run(counts, "stays", delete(stays).where(theirs))
        guests = await self._table("guests", "id", "hotel_id", "chat_id", "phone")
        if guests is not None:
            await self._run(counts, "guests", delete(guests).where(self._guest_rows(scope, guests)))
        return counts

    async def erase_notifications(self, scope: GuestScope) -> dict[str, int]:
        counts: dict[str, int] = {}
        notes = await self._table(
            "notifications", "id", "hotel_id", "chat_id", "body", "processed_at"
        )
        if notes is None:
            return counts
        s = scope
        await self._run(
            counts,
            "notifications",
            delete(notes).where(self._mine(s, notes, notes.c.chat_id.in_(s.chats))),
        )
        named = or_(like_any(s, notes.c.body), *(notes.c.body.like(f'%"{c}"%') for c in s.chats))
        in_groups: list[int] = []
        quoting: list[int] = []
        query = select(notes.c.id, notes.c.chat_id, notes.c.body, notes.c.processed_at)
        for row in await self.conn.execute(query.where(self._mine(s, notes, named))):
            if str(row[1] or "").endswith("@g.us") and s.sent_in_group(row[2]):
                in_groups.append(int(row[0]))
            elif row[3] is not None and s.quotes(row[2]):
                quoting.append(int(row[0]))  # processed: nothing still needs it
        if in_groups:
            await self._run(
                counts, "notifications.in_groups", delete(notes).where(notes.c.id.in_(in_groups))
            )
        if quoting:
            await self._run(
                counts, "notifications.quoting", delete(notes).where(notes.c.id.in_(quoting))
            )
        return counts

    async def erase_dead_letters(self, scope: GuestScope) -> dict[str, int]:
        counts: dict[str, int] = {}
        dead = dead_letters_view(await self._columns())
        if dead is None:
            return counts
        candidates = or_(dead.c.raw_encoding == "base64", like_any(scope, dead.c.raw))
        query = select(dead.c.id, dead.c.raw, dead.c.raw_encoding).where(
            self._mine(scope, dead, candidates)
        )
        matching = [
            int(r[0])
            for r in await self.conn.execute(query)
            if scope.quotes(dead_letter_text(r[1], r[2]))
        ]
        if matching:
            await self._run(counts, "dead_letters", delete(dead).where(dead.c.id.in_(matching)))
        return counts


__all__ = ["SqlGuestErasure"]
