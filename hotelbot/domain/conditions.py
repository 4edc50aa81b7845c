"""Conditions on a trigger: which stays it applies to ("nights >= 3", "language = ru", ...).

An operator writes them as short strings (`trigger add --if "nights >= 3"`, repeatable);
`parse_conditions` turns them into a typed `Conditions` value once, with an error that
quotes the input and shows the accepted forms. There is no eval: a tiny grammar of fixed
subjects and operators, matched by regular expressions.

Grammar (case-insensitive; clauses joined by "and", several --if options are joined by "and"
too)::

    clause := "nights" OP INT                      OP: >= <= > < = == !=
            | "language" ("=" | "!=") CODE         e.g. language = ru
            | "language" ["not"] "in" CODE ("," CODE)*
            | "room tag" ("=" | "!=") TAG           (also room_tag) e.g. room tag = suite
            | "source" ("=" | "!=") TAG             e.g. source = booking.com
            | "guest" ("=" | "is") ("first" | "returning")
            | "first stay" | "returning guest"

Facts come from `StayContext` (filled by the scheduler): nights, the language the message
would be written in, the room's tags and the booking source from the stay, and whether the
same chat had an earlier stay at the hotel that was not cancelled. A stay without a room tag
or a source fails "=" and passes "!=". Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_NIGHTS: Final = 366


class ConditionError(ValueError):
    """A condition string or stored dict is not valid; the message says what is accepted."""


_FORMS: Final = (
    "'nights >= 3', 'language = ru', 'language in en,de', 'room tag = suite', "
    "'source = booking.com', 'guest = first' or 'guest = returning'"
)


class Comparison(StrEnum):
    GE = ">="
    LE = "<="
    GT = ">"
    LT = "<"
    EQ = "="
    NE = "!="

    def holds(self, left: int, right: int) -> bool:
        return {
            Comparison.GE: left >= right,
            Comparison.LE: left <= right,
            Comparison.GT: left > right,
            Comparison.LT: left < right,
            Comparison.EQ: left == right,
            Comparison.NE: left != right,
        }[self]


@dataclass(frozen=True, slots=True)
class StayContext:
    """What conditions are checked against, for one stay (tags lower-case)."""

    nights: int
    language: str
    room_tags: frozenset[str] = frozenset()
    source: str | None = None
    returning_guest: bool = False


@dataclass(frozen=True, slots=True)
class Nights:
    op: Comparison
    nights: int

    def holds(self, ctx: StayContext) -> bool:
        return self.op.holds(ctx.nights, self.nights)

    def text(self) -> str:
        return f"nights {self.op.value} {self.nights}"


@dataclass(frozen=True, slots=True)
class Language:
    languages: frozenset[str]
    negate: bool = False

    def holds(self, ctx: StayContext) -> bool:
        code = ctx.language.lower()
        found = code in self.languages or code.split("-")[0] in self.languages
        return found != self.negate

    def text(self) -> str:
        codes = ",".join(sorted(self.languages))
        if len(self.languages) == 1:
            return f"language {'!=' if self.negate else '='} {codes}"
        return f"language {'not in' if self.negate else 'in'} {codes}"


@dataclass(frozen=True, slots=True)
class RoomTag:
    tag: str
    negate: bool = False

    def holds(self, ctx: StayContext) -> bool:
        return (self.tag in ctx.room_tags) != self.negate

    def text(self) -> str:
        return f"room tag {'!=' if self.negate else '='} {self.tag}"


@dataclass(frozen=True, slots=True)
class Source:
    source: str
    negate: bool = False

    def holds(self, ctx: StayContext) -> bool:
        return (ctx.source == self.source) != self.negate

    def text(self) -> str:
        return f"source {'!=' if self.negate else '='} {self.source}"


@dataclass(frozen=True, slots=True)
class GuestHistory:
    returning: bool

    def holds(self, ctx: StayContext) -> bool:
        return ctx.returning_guest == self.returning

    def text(self) -> str:
        return f"guest = {'returning' if self.returning else 'first'}"


Clause = Nights | Language | RoomTag | Source | GuestHistory


@dataclass(frozen=True, slots=True)
class Conditions:
    """All clauses must hold (an empty tuple: always)."""

    clauses: tuple[Clause, ...] = ()

    def holds(self, ctx: StayContext) -> bool:
        return all(clause.holds(ctx) for clause in self.clauses)

    def failing(self, ctx: StayContext) -> list[str]:
        """The clauses `ctx` does not meet, as the operator wrote them (canonical form)."""
        return [clause.text() for clause in self.clauses if not clause.holds(ctx)]

    @property
    def needs_history(self) -> bool:
        """Whether checking needs to know about the guest's earlier stays (a query)."""
        return any(isinstance(c, GuestHistory) for c in self.clauses)

    def text(self) -> str:
        """Canonical form; `parse_conditions([c.text()])` == c."""
        return " and ".join(clause.text() for clause in self.clauses)

    def to_dict(self) -> dict[str, object]:
        return {"all": [clause.text() for clause in self.clauses]}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Conditions:
        clauses = data.get("all")
        if not isinstance(clauses, list) or not all(isinstance(c, str) for c in clauses):
            raise ConditionError(f"stored conditions must be a list of strings, got {data!r}")
        return parse_conditions([str(c) for c in clauses])


_CODE = r"[a-z]{2}(?:-[a-z0-9]{2,8})?"
_TAG = r"[a-z0-9][a-z0-9._-]{0,63}"
_NIGHTS = re.compile(r"nights\s*(>=|<=|==|!=|=|>|<)\s*(-?\d+)")
_LANGUAGE_EQ = re.compile(rf"language\s*(==|!=|=)\s*({_CODE})")
_LANGUAGE_IN = re.compile(rf"language\s+(not\s+)?in\s+\(?\s*({_CODE}(?:\s*,\s*{_CODE})*)\s*\)?")
_ROOM_TAG = re.compile(rf"room[\s_-]?tag\s*(==|!=|=)\s*({_TAG})")
_SOURCE = re.compile(rf"source\s*(==|!=|=)\s*({_TAG})")
_GUEST = re.compile(r"guest\s*(?:==|=|is)\s*(first|returning)")
_GUEST_SHORT = re.compile(r"(first\s+stay|first\s+guest|returning\s+guest|returning)")


def _clause(text: str) -> Clause:
    body = " ".join(text.split()).lower()
    if m := _NIGHTS.fullmatch(body):
        nights = int(m[2])
        if not 0 <= nights <= MAX_NIGHTS:
            raise ConditionError(f"nights must be 0..{MAX_NIGHTS}, got {nights} in {text!r}")
        return Nights(Comparison("=" if m[1] == "==" else m[1]), nights)
    if m := _LANGUAGE_EQ.fullmatch(body):
        return Language(frozenset({m[2]}), negate=m[1] == "!=")
    if m := _LANGUAGE_IN.fullmatch(body):
        codes = frozenset(code.strip() for code in m[2].split(","))
        return Language(codes, negate=bool(m[1]))
    if m := _ROOM_TAG.fullmatch(body):
        return RoomTag(m[2], negate=m[1] == "!=")
    if m := _SOURCE.fullmatch(body):
        return Source(m[2], negate=m[1] == "!=")
    if m := _GUEST.fullmatch(body):
        return GuestHistory(returning=m[1] == "returning")
    if m := _GUEST_SHORT.fullmatch(body):
        return GuestHistory(returning=m[1].startswith("returning"))
    subject = body.split(" ")[0] if body else ""
    hint = {
        "nights": "nights takes a whole number: 'nights >= 3'",
        "language": "language takes codes: 'language = ru' or 'language in en,de'",
        "room": "a room tag is lower-case letters, digits, . _ -: 'room tag = sea-view'",
        "source": "a source is lower-case letters, digits, . _ -: 'source = booking.com'",
        "guest": "'guest = first' or 'guest = returning'",
    }.get(subject)
    if hint is not None:
        raise ConditionError(f"{text!r}: {hint}")
    raise ConditionError(f"{text!r} is not a condition; use {_FORMS}")


def parse_conditions(texts: list[str]) -> Conditions:
    """Parse --if strings (each may hold clauses joined by "and"); raises ConditionError.
    Exact duplicates are dropped; order is kept (it is how `trigger show` prints them)."""
    clauses: list[Clause] = []
    for text in texts:
        if not text.strip():
            raise ConditionError(f"empty condition; use {_FORMS}")
        for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
            clause = _clause(part)
            if clause not in clauses:
                clauses.append(clause)
    return Conditions(tuple(clauses))


def tags_of(text: str | None) -> frozenset[str]:
    """A stored room_tags value ("suite sea-view") as a set of tags."""
    return frozenset((text or "").lower().replace(",", " ").split())
