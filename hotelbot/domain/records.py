"""What the scheduler decides from: a stay and a trigger as they are stored, parsed into
domain values once (`storage/stays.py` and `storage/triggers.py` read them from their rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hotelbot.domain.attachments import FileAttachment
from hotelbot.domain.conditions import Conditions
from hotelbot.domain.fire_times import StayFacts, StayStatus
from hotelbot.domain.templates import Template
from hotelbot.domain.triggers import TriggerSpec


@dataclass(frozen=True, slots=True)
class StayRecord:
    id: int
    hotel_id: int
    chat_id: str
    guest_name: str
    room: str | None
    check_in: date
    check_out: date
    check_in_time: str | None
    check_out_time: str | None
    language: str | None
    status: str
    external_ref: str | None
    created_at: datetime
    updated_at: datetime
    source: str | None = None
    room_tags: str | None = None

    def facts(self, tz: ZoneInfo, *, default_language: str) -> StayFacts:
        """The scheduling view of this stay in the hotel's zone."""
        return StayFacts(
            hotel_tz=tz,
            check_in=self.check_in,
            check_out=self.check_out,
            status=StayStatus(self.status),
            language=self.language or default_language,
            guest_name=self.guest_name,
            room=self.room,
            created_at=self.created_at,
            check_in_time=time_or_none(self.check_in_time),
            check_out_time=time_or_none(self.check_out_time),
        )


def time_or_none(value: str | None) -> time | None:
    if not value:
        return None
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


@dataclass(frozen=True, slots=True)
class TriggerRecord:
    id: int
    hotel_id: int
    name: str
    spec: TriggerSpec
    template: Template
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime
    attachment: FileAttachment | None = None
    conditions: Conditions = field(default_factory=Conditions)

    @property
    def grace_s(self) -> int:
        return self.spec.grace_s
