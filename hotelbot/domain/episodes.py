"""Episodes of operator-visible trouble (pure): when to tell someone and when to say it is
over. A condition ("instance of riga not authorized") must hold for its threshold before its
episode opens (told once); the episode closes (told "resolved") the first time the condition
is seen cleared. Nothing here sends or stores anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Change(StrEnum):
    OPENED = "opened"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Transition:
    key: str
    change: Change
    since: datetime  # when the condition was first seen
    detail: str  # one line for people; never a secret or guest text


@dataclass
class EpisodeTracker:
    """`observe()` each condition every check; it returns the transitions to announce.
    `confirm()` marks an opened episode as told (an unannounced one is not resolved in
    mail either: a condition that cleared before anyone was told leaves no trace)."""

    _seen_since: dict[str, datetime] = field(default_factory=dict)
    _open: set[str] = field(default_factory=set)

    def observe(
        self, key: str, active: bool, now: datetime, hold: timedelta, detail: str = ""
    ) -> Transition | None:
        if active:
            since = self._seen_since.setdefault(key, now)
            if key not in self._open and now - since >= hold:
                return Transition(key, Change.OPENED, since, detail)
            return None
        first_seen = self._seen_since.pop(key, now)
        if key in self._open:
            self._open.discard(key)
            return Transition(key, Change.RESOLVED, first_seen, detail)
        return None

    def confirm(self, transition: Transition) -> None:
        """The transition was announced (mailed)."""
        if transition.change is Change.OPENED:
            self._open.add(transition.key)

    def is_open(self, key: str) -> bool:
        return key in self._open

    def keys_seen(self) -> set[str]:
        return set(self._seen_since) | self._open
