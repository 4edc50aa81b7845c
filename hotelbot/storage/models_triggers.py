"""Trigger definitions (edited by the CLI) and the fire log (written by the scheduler)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotelbot.storage.models import Base, BigId
from hotelbot.storage.types import UtcDateTime


class Trigger(Base):
    """An automated message: `spec` is `TriggerSpec.to_dict()` as JSON, `template` is
    `Template.to_dict()` as JSON. `grace_s` mirrors the spec's grace (kept equal by the
    repository). `version` is bumped on every edit."""

    __tablename__ = "triggers"
    __table_args__ = (UniqueConstraint("hotel_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(Text)
    grace_s: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # A file sent after the text (domain.attachments.FileAttachment.to_dict() as JSON) and
    # the conditions a stay must meet (domain.conditions.Conditions.to_dict() as JSON).
    attachment: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TriggerFire(Base):
    """The decision taken for one scheduled fire; the unique key makes it happen once.

    `outcome`: "enqueued" (outbox row due now), "deferred:<reason>" (outbox row due at
    `available_at` of that row), "skipped:<reason>", or "missed" (later than the grace).
    """

    __tablename__ = "trigger_fires"
    __table_args__ = (UniqueConstraint("trigger_id", "stay_id", "scheduled_for"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"))
    stay_id: Mapped[int] = mapped_column(ForeignKey("stays.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(48))
    trigger_version: Mapped[int] = mapped_column(Integer)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    # The outbox row of the trigger's file, when it carries one (withdrawn with the text).
    file_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    decided_by: Mapped[str | None] = mapped_column(String(200))
