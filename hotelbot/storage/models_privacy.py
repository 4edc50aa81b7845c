"""Tables that keep privacy promises: the opt-out suppression list and its hashing key.

`optout_suppressions` remembers that a chat of a hotel said STOP after everything else about
the guest was erased (`hotelbot guest forget`): one keyed hash per (hotel, chat id), never the
number itself, so a later stay import or trigger cannot message them again (issue 18).
`local_secrets` holds the random per-database key of that hash (created by the migration),
so the hashes cannot be matched against another installation's or a precomputed table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotelbot.storage.models import Base, BigId
from hotelbot.storage.types import UtcDateTime


class OptOutSuppression(Base):
    __tablename__ = "optout_suppressions"
    __table_args__ = (UniqueConstraint("hotel_id", "chat_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    chat_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LocalSecret(Base):
    __tablename__ = "local_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
