"""Staff acknowledging alerts and answering guests (pure: no I/O).

One rule, used by every route by which staff show they are on it (`hotelbot.app.handled`):
a conversation is *handled* at a moment `at` when staff answered the guest (from the hotel
phone, with `hotelbot send`), acknowledged one of its alerts in the staff chat (a reply
quoting it, a reaction, its reference "#12"), or an operator ran `hotelbot conversations
handled`. Then:

* `handled_at` moves to `at` (messages needing attention sent before it are handled: they
  leave `messages list --attention` and `conversations list --attention`);
* messages counted during the alert cooldown need no follow-up any more;
* automated messages to that guest pause until `at + pause` (never shortened by a later,
  smaller pause, except by an operator's explicit `--hours`);
* the open alerts of the conversation raised before `at` are acknowledged (`AckRoute`
  says how), which stops their escalation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class AckRoute(StrEnum):
    """How an alert was acknowledged (column `alerts.acknowledged_via`)."""

    QUOTE = "quote"  # a reply in the staff or escalation chat quoting the alert
    REACTION = "reaction"  # a reaction to the alert message
    REFERENCE = "reference"  # a message in the staff chat naming the alert's "#12"
    STAFF_REPLY = "staff_reply"  # staff wrote to the guest from the hotel phone (or the API)
    SEND = "send"  # `hotelbot send` to the guest
    HANDLED = "handled"  # `hotelbot conversations handled`
    EARLIER = "earlier"  # staff handled the guest after they wrote, before the alert was made


@dataclass(frozen=True, slots=True)
class Handling:
    """What a conversation remembers about staff handling it (columns of `conversations`)."""

    handled_at: datetime | None
    handled_by_staff_until: datetime | None
    last_staff_reply_at: datetime | None
    suppressed_alerts: int
    last_suppressed_message_id: int | None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def handled(
    state: Handling,
    at: datetime,
    *,
    route: AckRoute,
    pause: timedelta,
    replace_pause: bool = False,
) -> Handling:
    """The conversation after staff handled it at `at` by `route` (see the module doc).

    `pause` = how long automated messages pause (a zero pause pauses nothing);
    `replace_pause` (an operator's explicit `--hours`) sets the pause to exactly that,
    0 resuming automated messages now. Pure and idempotent for equal arguments."""
    until = at + pause if pause > timedelta(0) else None
    if not replace_pause:
        until = _later(state.handled_by_staff_until, until)
    answered = route in (AckRoute.STAFF_REPLY, AckRoute.SEND)
    return replace(
        state,
        handled_at=_later(state.handled_at, at),
        handled_by_staff_until=until,
        last_staff_reply_at=_later(state.last_staff_reply_at, at)
        if answered
        else state.last_staff_reply_at,
        suppressed_alerts=0,
        last_suppressed_message_id=None,
    )


# "#12", "# 12", "№12" (Russian keyboards): the reference staff quote. Digits only, so a
# hashtag or a room number without "#" is never taken for one.
_REFERENCE = re.compile(r"(?:#|№)\s?(\d{1,9})\b")


def mentioned_references(text: str | None) -> frozenset[int]:
    """The alert references a staff message names ("#12 done" -> {12}); empty if none."""
    if not text:
        return frozenset()
    return frozenset(int(m) for m in _REFERENCE.findall(text))
