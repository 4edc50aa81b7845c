"""What the scheduler will send for a stay, as the CLI shows it (stay import, triggers).

`upcoming(triggers, policy, stay, now)` is, per clock-driven trigger of the hotel, the next
scheduled message for that stay after `now`, or why there is none, computed with the same
fire-time maths and send policy as the daemon's scheduler. Pure: the caller reads the
hotel's enabled triggers (`storage.triggers.list_triggers`) and the stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hotelbot.domain.fire_times import StayStatus, next_fire_after, why_no_next_fire
from hotelbot.domain.triggers import EventKind, EventTrigger

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hotelbot.domain.hotel import HotelPolicy
    from hotelbot.storage.stays import StayRecord
    from hotelbot.storage.triggers import TriggerRecord


def local(at: datetime, policy: HotelPolicy) -> str:
    """ "2026-03-27 10:00 EET" in the hotel's zone."""
    return at.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M %Z")


def clock_driven(trigger: TriggerRecord) -> bool:
    """Triggers with scheduled times (not the ones fired by guest messages)."""
    spec = trigger.spec
    return not isinstance(spec, EventTrigger) or spec.event is EventKind.STAY_CREATED


@dataclass(frozen=True, slots=True)
class NextMessage:
    trigger: str
    at: datetime | None  # None: nothing more for this stay
    text: str  # "2026-03-27 10:00 EET" or the reason there is none


def next_message(
    trigger: TriggerRecord, stay: StayRecord, policy: HotelPolicy, now: datetime
) -> NextMessage:
    """The next scheduled message of `trigger` for `stay` after `now`, or the reason why
    there is none (a cancelled stay sends nothing)."""
    facts = stay.facts(policy.tz, default_language=policy.default_language)
    if facts.status is StayStatus.CANCELLED:
        return NextMessage(trigger.name, None, "none: the stay is cancelled")
    check_in, check_out = policy.default_check_in, policy.default_check_out
    at = next_fire_after(
        trigger.spec, facts, now, default_check_in=check_in, default_check_out=check_out
    )
    if at is None:
        reason = why_no_next_fire(
            trigger.spec, facts, now, default_check_in=check_in, default_check_out=check_out
        )
        return NextMessage(trigger.name, None, f"none: {reason}")
    return NextMessage(trigger.name, at, local(at, policy))


def upcoming(
    triggers: Iterable[TriggerRecord], policy: HotelPolicy, stay: StayRecord | None, now: datetime
) -> dict[str, NextMessage]:
    """Trigger name -> the next message for `stay` of each clock-driven one of `triggers`
    (the hotel's enabled ones); empty for no stay or no trigger."""
    if stay is None:
        return {}
    return {t.name: next_message(t, stay, policy, now) for t in triggers if clock_driven(t)}


def changed_messages(before: dict[str, NextMessage], after: dict[str, NextMessage]) -> list[str]:
    """ "welcome: 2026-03-27 10:00 EET -> 2026-03-28 10:00 EET" for each trigger whose next
    message moves, appears or goes away."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        old_text = old.text if old else "none"
        new_text = new.text if new else "none"
        if old_text != new_text:
            lines.append(f"{name}: {old_text} -> {new_text}" if old else f"{name}: {new_text}")
    return lines
