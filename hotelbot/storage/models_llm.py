"""LLM spend per hotel and day, and verdicts reused for identical questions within a day."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from hotelbot.storage.models import Base
from hotelbot.storage.types import UtcDateTime


class LlmUsageRow(Base):
    """One row per (hotel, UTC day), incremented in place (ON CONFLICT DO UPDATE), so the
    daily budget survives a restart. `calls` counts requests that reached the provider
    (a retried message is a second call: it cost twice). `cache_hits` counts verdicts
    reused without a call, `limited` messages refused by a rate or the budget.
    `over_budget_logged` makes the "budget reached" warning once per hotel and day."""

    __tablename__ = "llm_usage"

    hotel_id: Mapped[int] = mapped_column(
        ForeignKey("hotels.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date, UTC
    calls: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_hits: Mapped[int] = mapped_column(Integer, default=0)
    limited: Mapped[int] = mapped_column(Integer, default=0)
    over_budget_logged: Mapped[bool] = mapped_column(Boolean, server_default=false())


class LlmCacheRow(Base):
    """A verdict keyed by `domain.llm_context.cache_key` (a hash: no guest text stored).
    Rows of past days are not used and are deleted by the retention purge."""

    __tablename__ = "llm_cache"
    __table_args__ = (Index("ix_llm_cache_day", "day"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    day: Mapped[str] = mapped_column(String(10))
    verdict: Mapped[str] = mapped_column(Text)  # Verdict.as_dict() as JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
