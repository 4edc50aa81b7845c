"""Stays (a guest's booking at a hotel) and the triggers that message guests about them.

A stay links a WhatsApp chat to dates; triggers say what to send when; `trigger_fires` is
the exactly-once record: one row per (trigger, stay, scheduled instant), inserted in the same
transaction as the outbox row it causes (or the reason nothing was sent).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotelbot.storage.models import Base, BigId
from hotelbot.storage.types import UtcDateTime


class Stay(Base):
    """One booking. Dates are the hotel's local calendar dates; times are local "HH:MM" or
    NULL for the hotel default. `external_ref` (the PMS booking id) is unique per hotel when
    given; stays without one are identified by (hotel, chat, check-in date)."""

    __tablename__ = "stays"
    __table_args__ = (
        UniqueConstraint("hotel_id", "external_ref"),
        UniqueConstraint("hotel_id", "chat_id", "check_in"),
        Index("ix_stays_hotel_check_out", "hotel_id", "check_out"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(64))
    guest_name: Mapped[str] = mapped_column(String(200))
    room: Mapped[str | None] = mapped_column(String(32))
    check_in: Mapped[date] = mapped_column(Date)
    check_out: Mapped[date] = mapped_column(Date)
    check_in_time: Mapped[str | None] = mapped_column(String(5))
    check_out_time: Mapped[str | None] = mapped_column(String(5))
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), server_default="booked")
    external_ref: Mapped[str | None] = mapped_column(String(100))
    # For trigger conditions: where the booking came from ("booking.com", "direct") and the
    # room's tags ("suite sea-view"), lower-case, space-separated.
    source: Mapped[str | None] = mapped_column(String(64))
    room_tags: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
