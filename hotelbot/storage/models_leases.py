"""Tables that let several daemons share the hotels: one lease row per hotel, one row per daemon.

A hotel is served by the daemon named in its lease while the lease has not expired. Expiry and
heartbeats are stamped with the database clock (PostgreSQL `now()`), never a daemon's clock,
so daemons on different hosts agree on who is alive.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hotelbot.storage.models import Base
from hotelbot.storage.types import UtcDateTime


class HotelLease(Base):
    """Who may act for a hotel. `owner` NULL = free. `epoch` is the fencing token: it grows by
    one on every claim, so a write tagged with an older epoch is recognisably stale."""

    __tablename__ = "hotel_leases"

    hotel_id: Mapped[int] = mapped_column(
        ForeignKey("hotels.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str | None] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RegisteredDaemon(Base):
    """A daemon that takes part in lease balancing; live while `heartbeat_at` is recent."""

    __tablename__ = "daemons"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the daemon name
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
