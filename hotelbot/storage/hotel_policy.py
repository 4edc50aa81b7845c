"""The slice of a hotel's settings that interpreting its messages needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

from hotelbot.domain.zones import zone_or_utc
from hotelbot.storage.models import Hotel


@dataclass(frozen=True, slots=True)
class HotelPolicy:
    """The hotel settings interpretation needs (a slice of the hotels row)."""

    id: int
    slug: str
    staff_chat_id: str | None
    alert_cooldown_min: int
    staff_pause_h: float
    groups_as_guests: bool
    timezone: str = "UTC"
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validated on import; a zone this host does not know must not stall alerts.
        object.__setattr__(self, "zone", zone_or_utc(self.timezone)[0])

    def is_guest_chat(self, chat_id: str) -> bool:
        """Guest conversations: personal/@lid chats, groups only with groups_as_guests, and
        never the staff chat itself."""
        if chat_id == self.staff_chat_id:
            return False
        return self.groups_as_guests or not chat_id.endswith("@g.us")


def guest_chat_sql(chat_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """`HotelPolicy.is_guest_chat` as SQL, for queries joined with `hotels`: the CLI lists
    guest conversations and messages with the same rule the processor uses (never the staff
    chat, groups only with groups_as_guests)."""
    return and_(
        or_(Hotel.staff_chat_id.is_(None), chat_id != Hotel.staff_chat_id),
        or_(Hotel.groups_as_guests.is_(True), ~chat_id.like("%@g.us")),
    )


async def load_hotel_policies(conn: AsyncConnection) -> dict[int, HotelPolicy]:
    query = select(
        Hotel.id,
        Hotel.slug,
        Hotel.staff_chat_id,
        Hotel.alert_cooldown_min,
        Hotel.staff_pause_h,
        Hotel.groups_as_guests,
        Hotel.timezone,
    )
    return {
        r[0]: HotelPolicy(r[0], r[1], r[2] or None, int(r[3]), float(r[4]), bool(r[5]), r[6])
        for r in await conn.execute(query)
    }
