"""Stay rows <-> StayInput / StayRecord / StayFacts.

Upserts identify a stay by (hotel, external_ref) when it has one, else by (hotel, chat,
check-in date); re-importing the same data changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.fire_times import StayStatus
from hotelbot.domain.records import StayRecord as StayRecord
from hotelbot.domain.stay_input import StayInput
from hotelbot.domain.zones import zone_or_utc
from hotelbot.storage.models import Hotel
from hotelbot.storage.models_stays import Stay
from hotelbot.storage.types import utcnow

UpsertResult = Literal["added", "updated", "unchanged"]


def _hhmm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


_COLUMNS = [getattr(Stay, f.name) for f in fields(StayRecord)]


def _record(row: Any) -> StayRecord:
    return StayRecord(*row)


def _values(stay: StayInput) -> dict[str, Any]:
    return {
        "chat_id": stay.chat_id,
        "guest_name": stay.guest_name,
        "room": stay.room,
        "check_in": stay.check_in,
        "check_out": stay.check_out,
        "check_in_time": _hhmm(stay.check_in_time),
        "check_out_time": _hhmm(stay.check_out_time),
        "language": stay.language,
        "status": stay.status.value,
        "external_ref": stay.external_ref,
        "source": stay.source,
        "room_tags": stay.room_tags,
    }


async def find_existing(conn: AsyncConnection, hotel_id: int, stay: StayInput) -> StayRecord | None:
    """The stored stay this input describes (by external_ref, else by chat + check-in)."""
    query = select(*_COLUMNS).where(Stay.hotel_id == hotel_id)
    if stay.external_ref:
        query = query.where(Stay.external_ref == stay.external_ref)
    else:
        query = query.where(
            Stay.chat_id == stay.chat_id,
            Stay.check_in == stay.check_in,
        )
    row = (await conn.execute(query)).first()
    return None if row is None else _record(row)


@dataclass(frozen=True, slots=True)
class StayChange:
    """What applying a StayInput does. `changes`: column -> (old, new); `kept_cancelled`:
    the input asked for another status, but the stay stays cancelled (imports never
    un-cancel: `stay edit ID --status booked` does)."""

    stay_id: int | None
    outcome: UpsertResult
    changes: dict[str, tuple[Any, Any]]
    kept_cancelled: bool = False

    def describe(self) -> str:
        return "; ".join(
            f"{k}: {'(none)' if a is None else a} -> {'(none)' if b is None else b}"
            for k, (a, b) in self.changes.items()
        )


def plan_stay(existing: StayRecord | None, stay: StayInput, *, replace: bool) -> StayChange:
    """The change storing `stay` makes (pure). A new stay gets every value. For a stored one
    only the fields the input states change (an empty CSV cell or an option not given keeps
    what is stored, e.g. a room set with `stay edit`), unless `replace`: then unstated fields
    go back to their defaults. A known booking id is never erased, and a cancelled stay is
    never un-cancelled, even with `replace`."""
    values = _values(stay)
    if existing is None:
        return StayChange(None, "added", {k: (None, v) for k, v in values.items()})
    keys = {k for k in values if replace or stay.states(k)}
    if existing.external_ref and not stay.external_ref:
        keys.discard("external_ref")  # a row without a ref never erases a known booking id
    kept_cancelled = False
    if existing.status == StayStatus.CANCELLED.value and values["status"] != existing.status:
        keys.discard("status")
        kept_cancelled = replace or stay.states("status")
    changes = {
        k: (getattr(existing, k), values[k])
        for k in values
        if k in keys and getattr(existing, k) != values[k]
    }
    outcome: UpsertResult = "updated" if changes else "unchanged"
    return StayChange(existing.id, outcome, changes, kept_cancelled)


async def apply_stay(
    conn: AsyncConnection,
    hotel_id: int,
    stay: StayInput,
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> StayChange:
    """Insert or update as `plan_stay` says, in the caller's transaction; the result carries
    the stay id. Idempotent for equal input. Run inside one write transaction (SQLite: BEGIN
    IMMEDIATE serialises it). Two concurrent imports of a new stay on PostgreSQL make one of
    them fail on the unique key; re-running it is safe."""
    now = now or utcnow()
    existing = await find_existing(conn, hotel_id, stay)
    change = plan_stay(existing, stay, replace=replace)
    if existing is None:
        new_id = (
            await conn.execute(
                insert(Stay)
                .values(hotel_id=hotel_id, **_values(stay), created_at=now, updated_at=now)
                .returning(Stay.id)
            )
        ).scalar_one()
        return StayChange(int(new_id), "added", change.changes)
    if change.changes:
        new_values = {k: new for k, (_, new) in change.changes.items()}
        await conn.execute(
            update(Stay).where(Stay.id == existing.id).values(**new_values, updated_at=now)
        )
    return change


async def apply_stay_unless_conflict(
    conn: AsyncConnection,
    hotel_id: int,
    stay: StayInput,
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> StayChange | None:
    """`apply_stay` inside a savepoint of the caller's transaction; None (and nothing of this
    stay written, the transaction still usable) when the database refuses it on a unique
    key: the same phone and check-in as another stay with a different external_ref. For a
    batch (a CSV import) that reports such rows and goes on with the others."""
    try:
        async with conn.begin_nested():
            return await apply_stay(conn, hotel_id, stay, replace=replace, now=now)
    except IntegrityError:
        return None


async def upsert_stay(
    conn: AsyncConnection, hotel_id: int, stay: StayInput, *, now: datetime | None = None
) -> tuple[int, UpsertResult]:
    """`apply_stay` without replace; returns (stay id, what happened)."""
    change = await apply_stay(conn, hotel_id, stay, now=now)
    assert change.stay_id is not None
    return change.stay_id, change.outcome


async def update_stay(
    conn: AsyncConnection, stay_id: int, changes: dict[str, Any], *, now: datetime | None = None
) -> bool:
    """Apply column changes (names as in StayRecord). Returns False for an unknown id."""
    result = await conn.execute(
        update(Stay).where(Stay.id == stay_id).values(**changes, updated_at=now or utcnow())
    )
    return bool(result.rowcount)


async def get_stay(conn: AsyncConnection, stay_id: int) -> StayRecord | None:
    row = (await conn.execute(select(*_COLUMNS).where(Stay.id == stay_id))).first()
    return None if row is None else _record(row)


async def list_stays(
    conn: AsyncConnection,
    *,
    hotel_id: int | None = None,
    status: str | None = None,
    check_out_from: date | None = None,
    limit: int | None = None,
) -> list[StayRecord]:
    """Stays ordered by check-in, then id; filters are optional."""
    query = select(*_COLUMNS).order_by(Stay.check_in, Stay.id)
    if hotel_id is not None:
        query = query.where(Stay.hotel_id == hotel_id)
    if status is not None:
        query = query.where(Stay.status == status)
    if check_out_from is not None:
        query = query.where(Stay.check_out >= check_out_from)
    if limit is not None:
        query = query.limit(limit)
    return [_record(row) for row in await conn.execute(query)]


CURRENT_BEFORE_DAYS = 7
CURRENT_AFTER_DAYS = 2


async def current_stay(
    conn: AsyncConnection, hotel_id: int, chat_id: str, at: datetime
) -> StayRecord | None:
    """The stay a guest message at instant `at` belongs to, or None.

    Candidates: the chat's stays at this hotel that are not cancelled and whose dates, widened
    by 7 days before check-in and 2 days after check-out, contain the hotel-local date of
    `at`. The one closest to that date wins (0 when the date is inside the stay); on a tie the
    later check-in (a guest who extends with a new booking). Read-only.
    """
    tz_name = (await conn.execute(select(Hotel.timezone).where(Hotel.id == hotel_id))).scalar()
    if tz_name is None:
        return None
    # A zone unknown on this host counts as UTC: the room of a staff alert must not fail.
    day = at.astimezone(zone_or_utc(tz_name)[0]).date()
    rows = await conn.execute(
        select(*_COLUMNS).where(
            Stay.hotel_id == hotel_id,
            Stay.chat_id == chat_id,
            Stay.status != StayStatus.CANCELLED.value,
            Stay.check_in <= day + timedelta(days=CURRENT_BEFORE_DAYS),
            Stay.check_out >= day - timedelta(days=CURRENT_AFTER_DAYS),
        )
    )
    best: tuple[int, int, StayRecord] | None = None
    for record in (_record(r) for r in rows):
        if record.check_in <= day <= record.check_out:
            distance = 0
        elif day < record.check_in:
            distance = (record.check_in - day).days
        else:
            distance = (day - record.check_out).days
        key = (distance, -record.check_in.toordinal())
        if best is None or key < best[:2]:
            best = (*key, record)
    return None if best is None else best[2]


async def room_of_current_stay(
    conn: AsyncConnection, hotel_id: int, guest_id: int | None, chat_id: str
) -> str | None:
    """The room of the guest's current stay (for staff alerts), or None. Read-only."""
    stay = await current_stay(conn, hotel_id, chat_id, utcnow())
    return None if stay is None else stay.room


async def has_earlier_stay(conn: AsyncConnection, stay: StayRecord) -> bool:
    """Whether the same chat had a stay at the same hotel before this one (checked in
    earlier, not cancelled): a returning guest. Read-only, one indexed query."""
    query = (
        select(Stay.id)
        .where(
            Stay.hotel_id == stay.hotel_id,
            Stay.chat_id == stay.chat_id,
            Stay.id != stay.id,
            Stay.check_in < stay.check_in,
            Stay.status != StayStatus.CANCELLED,
        )
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None
