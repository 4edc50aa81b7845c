"""A hotel's facts file, as imported (domain.facts): one row per version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotelbot.storage.models import Base, BigId
from hotelbot.storage.types import UtcDateTime


class HotelFactsRow(Base):
    """`body` is `HotelFacts.to_dict()` as JSON; `sha256` of the body tells an import that
    changes nothing (no new version). The newest version is the one in force."""

    __tablename__ = "hotel_facts"
    __table_args__ = (UniqueConstraint("hotel_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
