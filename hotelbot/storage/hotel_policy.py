"""The slice of a hotel's settings that interpreting its messages needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

from hotelbot.domain.signals import DEFAULT_MODES, SignalKind, SignalMode, parse_mode
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
    # What each kind of non-text guest signal does (domain.signals); the staff's language
    # (the hotel's staff_language, else its default_language; texts fall back to English).
    signal_modes: Mapping[SignalKind, SignalMode] = field(default_factory=lambda: DEFAULT_MODES)
    staff_language: str | None = None
    escalation_chat_id: str | None = None  # the duty manager (escalations of open alerts)

    def __post_init__(self) -> None:
        # Validated on import; a zone this host does not know must not stall alerts.
        object.__setattr__(self, "zone", zone_or_utc(self.timezone)[0])

    def is_staff_chat(self, chat_id: str) -> bool:
        """The staff chat or the escalation chat: where alerts go and are acknowledged."""
        return chat_id in (self.staff_chat_id, self.escalation_chat_id)

    def is_guest_chat(self, chat_id: str) -> bool:
        """Guest conversations: personal/@lid chats, groups only with groups_as_guests, and
        never the staff or escalation chat."""
        if self.is_staff_chat(chat_id):
            return False
        return self.groups_as_guests or not chat_id.endswith("@g.us")

    def signal_mode(self, kind: SignalKind) -> SignalMode:
        return self.signal_modes.get(kind, DEFAULT_MODES[kind])


def guest_chat_sql(chat_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """`HotelPolicy.is_guest_chat` as SQL, for queries joined with `hotels`: the CLI lists
    guest conversations and messages with the same rule the processor uses (never the staff
    or escalation chat, groups only with groups_as_guests)."""
    return and_(
        or_(Hotel.staff_chat_id.is_(None), chat_id != Hotel.staff_chat_id),
        or_(Hotel.escalation_chat_id.is_(None), chat_id != Hotel.escalation_chat_id),
        or_(Hotel.groups_as_guests.is_(True), ~chat_id.like("%@g.us")),
    )


_SIGNAL_COLUMNS = [getattr(Hotel, kind.column) for kind in SignalKind]


def signal_modes_of(values: Mapping[SignalKind, str | None]) -> dict[SignalKind, SignalMode]:
    """Stored mode strings -> modes; a value no mode names (written by hand into the
    database) counts as the default, so it cannot silence a kind nobody meant to silence."""
    modes: dict[SignalKind, SignalMode] = {}
    for kind in SignalKind:
        raw = values.get(kind)
        modes[kind] = (parse_mode(raw) if raw else None) or DEFAULT_MODES[kind]
    return modes


async def load_hotel_policies(conn: AsyncConnection) -> dict[int, HotelPolicy]:
    query = select(
        Hotel.id,
        Hotel.slug,
        Hotel.staff_chat_id,
        Hotel.alert_cooldown_min,
        Hotel.staff_pause_h,
        Hotel.groups_as_guests,
        Hotel.timezone,
        Hotel.staff_language,
        Hotel.escalation_chat_id,
        Hotel.default_language,
        *_SIGNAL_COLUMNS,
    )
    policies: dict[int, HotelPolicy] = {}
    for r in await conn.execute(query):
        modes = signal_modes_of(dict(zip(SignalKind, r[10:], strict=True)))
        policies[r[0]] = HotelPolicy(
            r[0], r[1], r[2] or None, int(r[3]), float(r[4]), bool(r[5]), r[6],
            signal_modes=modes, staff_language=r[7] or r[9] or None,
            escalation_chat_id=r[8] or None,
        )  # fmt: skip
    return policies
