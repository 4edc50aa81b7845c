"""Hotel rows -> `domain.hotel.HotelPolicy` (parsed once here), and the guest-chat rule as SQL."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

from hotelbot.domain.hotel import (
    DEFAULT_CHECK_IN,
    DEFAULT_CHECK_OUT,
    HotelPolicy,
    quiet_hours_or_default,
    time_of_day,
)
from hotelbot.domain.report_schedule import ReportSchedule, parse_schedule
from hotelbot.domain.signals import DEFAULT_MODES, SignalKind, SignalMode, parse_mode
from hotelbot.storage.hotels import HotelRecord, list_hotels
from hotelbot.storage.models import Hotel


def guest_chat_sql(chat_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """`HotelPolicy.is_guest_chat` as SQL, for queries joined with `hotels`: the CLI lists
    guest conversations and messages with the same rule the processor uses (never the staff
    or escalation chat, groups only with groups_as_guests)."""
    return and_(
        or_(Hotel.staff_chat_id.is_(None), chat_id != Hotel.staff_chat_id),
        or_(Hotel.escalation_chat_id.is_(None), chat_id != Hotel.escalation_chat_id),
        or_(Hotel.groups_as_guests.is_(True), ~chat_id.like("%@g.us")),
    )


def signal_modes_of(values: Mapping[SignalKind, str | None]) -> dict[SignalKind, SignalMode]:
    """Stored mode strings -> modes; a value no mode names (written by hand into the
    database) counts as the default, so it cannot silence a kind nobody meant to silence."""
    modes: dict[SignalKind, SignalMode] = {}
    for kind in SignalKind:
        raw = values.get(kind)
        modes[kind] = (parse_mode(raw) if raw else None) or DEFAULT_MODES[kind]
    return modes


def hotel_policy(hotel: HotelRecord) -> HotelPolicy:
    """The hotel's row, parsed once into the value every consumer reads."""
    schedule: ReportSchedule | None = None
    problem: str | None = None
    try:
        schedule = parse_schedule(hotel.report_schedule)
    except ValueError as exc:  # written by hand into the database: no digest, a warning
        problem = str(exc)
    return HotelPolicy(
        id=hotel.id,
        slug=hotel.slug,
        name=hotel.name,
        timezone=hotel.timezone,
        default_language=hotel.default_language,
        quiet_hours=quiet_hours_or_default(hotel.quiet_hours),
        # 0 in the hotel settings means "no cap" (send_policy takes None for that).
        daily_cap=hotel.max_automated_per_day or None,
        default_check_in=time_of_day(hotel.check_in_time, DEFAULT_CHECK_IN),
        default_check_out=time_of_day(hotel.check_out_time, DEFAULT_CHECK_OUT),
        staff_chat_id=hotel.staff_chat_id or None,
        escalation_chat_id=hotel.escalation_chat_id or None,
        alert_cooldown_min=int(hotel.alert_cooldown_min),
        staff_pause_h=float(hotel.staff_pause_h),
        groups_as_guests=bool(hotel.groups_as_guests),
        signal_modes=signal_modes_of({kind: getattr(hotel, kind.column) for kind in SignalKind}),
        staff_language=hotel.staff_language or hotel.default_language or None,
        manager_chat_id=hotel.manager_chat_id or None,
        report_schedule=schedule,
        report_schedule_problem=problem,
    )


async def load_hotel_policies(conn: AsyncConnection) -> dict[int, HotelPolicy]:
    """Every hotel (enabled or not: a disabled hotel's stored messages are still read),
    by id."""
    return {hotel.id: hotel_policy(hotel) for hotel in await list_hotels(conn)}
