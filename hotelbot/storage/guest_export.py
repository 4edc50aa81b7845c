"""The SQL of exporting a guest's data (`hotelbot.ops.guest_data.export_guest` holds what is
exported, in which order, and the exact matching).

The read side of `storage/guest_erasure.py`: the same rows `app.forget_guest` erases. Tables
are found by introspection (`storage.introspect`) and read whole, every column the database
has (in name order), so the export shows what is stored even for a schema from another
hotelbot; a table the database lacks reads as None or no rows. Texts are matched coarsely in
SQL and exactly in Python by the caller (`GuestScope.quotes`, `GuestScope.sent_in_group`).
Read-only; every method runs on the one connection given (one read transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, TableClause, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.guest_identity import GuestScope
from hotelbot.storage.guest_erasure import hotels_by_slug, linked_chats
from hotelbot.storage.introspect import Schema, read_schema, view

ExportRow = dict[str, object]
"""One whole row: column name -> value as the driver returns it (datetimes and dates as
such; the caller makes them JSON-ready)."""


def _export_rows(result: Iterable[Any]) -> list[ExportRow]:
    return [dict(row._mapping) for row in result]


class SqlGuestExport:
    """The guest's rows on `conn`, table by table. Database errors propagate as SQLAlchemy
    raises them."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._schema: Schema | None = None

    async def _columns(self) -> Schema:
        if self._schema is None:
            self._schema = await read_schema(self.conn)
        return self._schema

    async def _full(self, name: str) -> TableClause | None:
        schema = await self._columns()
        return view(schema, name, *sorted(schema.get(name, ())))

    async def _rows_of(
        self, name: str, s: GuestScope, where: Callable[[TableClause], ColumnElement[bool]]
    ) -> list[ExportRow]:
        """Rows of table `name` in the scope's hotels matching `where`, by id when it has
        one; no rows when the database has no such table."""
        t = await self._full(name)
        if t is None:
            return []
        order = t.c.get("id")
        query = select(t).where(t.c.hotel_id.in_(s.hotel_ids), where(t))
        return _export_rows(
            await self.conn.execute(query.order_by(order) if order is not None else query)
        )

    async def hotels(self, slug: str | None) -> dict[int, str]:
        """Hotel id -> slug: the one with `slug` (empty when none), or every hotel for None."""
        return await hotels_by_slug(self.conn, slug)

    async def linked_chats(self, hotel_ids: Iterable[int], phones: Iterable[str]) -> set[str]:
        """Chats (an @lid one, say) that guest rows of the hotels link to one of the numbers."""
        return await linked_chats(self.conn, await self._columns(), hotel_ids, phones)

    async def guests(self, s: GuestScope) -> list[ExportRow]:
        """Guest rows of their chats or numbers."""
        return await self._rows_of(
            "guests", s, lambda t: or_(t.c.chat_id.in_(s.chats), t.c.phone.in_(s.phones))
        )

    async def chat_rows(self, name: str, s: GuestScope) -> list[ExportRow]:
        """Rows of a table with a `chat_id` (conversations, stays, outbox) in their chats."""
        return await self._rows_of(name, s, lambda t: t.c.chat_id.in_(s.chats))

    async def messages(self, s: GuestScope) -> list[ExportRow]:
        """Messages of their chats, and theirs in group chats (sender is one of their chats)."""
        return await self._rows_of(
            "messages", s, lambda t: or_(t.c.chat_id.in_(s.chats), t.c.sender_id.in_(s.chats))
        )

    async def alerts(self, message_ids: Iterable[int]) -> list[ExportRow] | None:
        """Alert rows about those messages; None when the database has no alerts table."""
        alerts = await self._full("alerts")
        if alerts is None:
            return None
        query = select(alerts).where(alerts.c.message_id.in_(list(message_ids)))
        return _export_rows(await self.conn.execute(query))

    async def outbox_rows(self, s: GuestScope, ids: Iterable[int]) -> list[ExportRow]:
        """Outbox rows of the scope's hotels with those ids (the staff alerts' sends)."""
        wanted = list(ids)
        return await self._rows_of("outbox", s, lambda t: t.c.id.in_(wanted))

    async def trigger_fires(self, stay_ids: Iterable[int]) -> list[ExportRow] | None:
        """Trigger fires of those stays; None when the database has no trigger_fires table."""
        fires = await self._full("trigger_fires")
        if fires is None:
            return None
        query = select(fires).where(fires.c.stay_id.in_(list(stay_ids)))
        return _export_rows(await self.conn.execute(query))

    async def notifications(self, s: GuestScope) -> list[ExportRow]:
        """Candidates: raw notifications of their chats, or whose body names one of their
        chats in quotes (group notifications they sent among them; the caller keeps the
        ones that are theirs)."""
        return await self._rows_of(
            "notifications",
            s,
            lambda t: or_(t.c.chat_id.in_(s.chats), *(t.c.body.like(f'%"{c}"%') for c in s.chats)),
        )

    async def dead_letters(self, s: GuestScope) -> list[ExportRow]:
        """Every dead letter of the scope's hotels, raw as stored (the caller decodes them
        and keeps the ones that quote the guest)."""
        return await self._rows_of("dead_letters", s, lambda t: t.c.id.is_not(None))
