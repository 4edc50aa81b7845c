"""A hotel's time zone at run time: never an exception, UTC when the name is unknown here.

Zones are validated when an operator sets them, but the daemon may run on a host whose tzdata
is older (or the row was edited directly): a zone unknown *there* must not stop alerts or
scheduling. `zone_or_utc` answers UTC for such a name and says so; callers that schedule by
local time warn the operator (log, `hotelbot status`, `doctor`). Pure (reads tzdata only).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")


def zone_or_utc(name: str | None) -> tuple[ZoneInfo, bool]:
    """(zone, known): the zone named `name`, or (UTC, False) when it is empty, malformed or
    not in this host's tzdata. Never raises."""
    if not name:
        return UTC_ZONE, False
    try:
        return ZoneInfo(name), True
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC_ZONE, False


def unknown_zone_warning(name: str | None) -> str | None:
    """The warning shown for a hotel whose zone is unknown here, or None when it is known."""
    if zone_or_utc(name)[1]:
        return None
    return f"unknown time zone {name!r} on this host: local times use UTC"
