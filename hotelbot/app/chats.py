"""What one processing transaction knows of each chat it touches: the guest and the
conversation, read once at its start, changed in memory by `app.understand`, written back
once at its end (`storage.chat_state`). Plain values: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

Key = tuple[int, str]  # (hotel_id, chat_id)
MessageKey = tuple[int, str, str]  # (hotel_id, chat_id, idMessage)


@dataclass(slots=True)
class GuestState:
    """A guest row as the transaction sees it; `dirty` marks it for writing back."""

    id: int
    name: str | None
    language: str | None
    opted_out: bool
    first_message_at: datetime | None
    dirty: bool = False
    opted_out_at: datetime | None = None
    # domain.guest_language: who set `language`, and a language seen once, not confirmed.
    language_source: str | None = None
    language_candidate: str | None = None


@dataclass(slots=True)
class ConvState:
    """A conversation row as the transaction sees it; `touched` marks it for writing back."""

    id: int
    guest_id: int | None
    last_message_at: datetime | None
    last_guest_message_at: datetime | None
    last_staff_reply_at: datetime | None
    handled_by_staff_until: datetime | None
    last_alert_at: datetime | None
    open_alert_id: int | None
    suppressed_alerts: int
    last_suppressed_message_id: int | None
    touched: bool = False
    handled_at: datetime | None = None  # staff last answered or acknowledged (any route)


__all__ = ["ConvState", "GuestState", "Key", "MessageKey"]
