"""One guest, named exactly: the identity an operator gives for `hotelbot guest forget|export`,
and what counts as "their" data in text (pure; no I/O).

The operator names the guest by phone number (international form, 8 to 15 digits) and/or
exact chat ids (`37120000001@c.us`, `123456789012345@lid`). A phone number stands for its
`@c.us` chat, and for any chat (e.g. an `@lid` one) a guest row links to that number.
Nothing is matched by substring: a number that is the prefix of another never matches it,
and input that could mean several people (too few digits, a group chat, wildcards, a number
written with 00) is refused with the form to use.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"^\+?(\d{8,15})$")
_CUS = re.compile(r"^(\d{8,15})@c\.us$")
_LID = re.compile(r"^(\d{5,30})@lid$")


class IdentityError(ValueError):
    """The operator's input does not name exactly one guest identity (or names no hotel)."""


@dataclass(frozen=True)
class GuestIdentity:
    """Phone numbers (digits) and exact chat ids of one guest."""

    phones: frozenset[str]
    chat_ids: frozenset[str]

    def describe(self) -> str:
        parts = [f"+{p}" for p in sorted(self.phones)]
        parts += sorted(c for c in self.chat_ids if not any(c == f"{p}@c.us" for p in self.phones))
        return ", ".join(parts)


def parse_identity(values: Sequence[str]) -> GuestIdentity:
    """Phone numbers and chat ids -> GuestIdentity. Raises IdentityError for anything that is
    not exactly one of: +<8..15 digits> (spaces, dashes, dots, brackets allowed),
    <digits>@c.us, <digits>@lid."""
    if not values:
        raise IdentityError("name the guest: a phone number like +37120000001 or a chat id")
    phones: set[str] = set()
    chats: set[str] = set()
    for raw in values:
        value = raw.strip()
        if value.endswith("@g.us"):
            raise IdentityError(f"{raw!r} is a group chat, not a guest")
        if match := _CUS.match(value):
            phones.add(match.group(1))
            chats.add(value)
            continue
        if _LID.match(value):
            chats.add(value)
            continue
        compact = _SEPARATORS.sub("", value)
        if compact.startswith("00") or compact.startswith("+00"):
            raise IdentityError(f"{raw!r}: write the number as +<country code><number>, not 00…")
        match = _PHONE.match(compact)
        if match is None:
            raise IdentityError(
                f"{raw!r} is neither a phone number in international form (+ and 8 to 15 "
                "digits, e.g. +37120000001) nor a chat id (…@c.us, …@lid)"
            )
        phones.add(match.group(1))
        chats.add(f"{match.group(1)}@c.us")
    return GuestIdentity(frozenset(phones), frozenset(chats))


@dataclass(frozen=True)
class GuestScope:
    """The guest's identity resolved in the hotels concerned: every chat that is theirs (the
    ones named plus those a guest row links to their number), their numbers, and the exact
    strings (`tokens`) by which other text quotes them."""

    hotel_ids: tuple[int, ...]
    chats: tuple[str, ...]
    phones: tuple[str, ...]
    tokens: tuple[str, ...]

    @classmethod
    def of(
        cls, identity: GuestIdentity, hotel_ids: Iterable[int], linked_chats: Iterable[str] = ()
    ) -> GuestScope:
        """`linked_chats`: chats guest rows of those hotels link to the identity's numbers.
        An `@c.us` chat is quoted by its number, so only other chats are tokens themselves."""
        chats = set(identity.chat_ids) | set(linked_chats)
        tokens = set(identity.phones) | {c for c in chats if not c.endswith("@c.us")}
        return cls(
            tuple(sorted(set(hotel_ids))),
            tuple(sorted(chats)),
            tuple(sorted(identity.phones)),
            tuple(sorted(tokens)),
        )

    def quotes(self, text: str | None) -> bool:
        """`text` holds one of the tokens with no digit right before or after it (so a
        number that is the prefix of another never matches it)."""
        if not text:
            return False
        return any(re.search(rf"(?<!\d){re.escape(t)}(?!\d)", text) for t in self.tokens)

    def sent_in_group(self, body: str) -> bool:
        """A raw group notification `body` whose senderData.sender is one of their chats."""
        try:
            data = json.loads(body)
        except ValueError:
            return False
        sender = data.get("senderData") if isinstance(data, dict) else None
        return isinstance(sender, dict) and sender.get("sender") in set(self.chats)


def dead_letter_text(raw: str, encoding: str | None) -> str:
    """The readable text of a dead letter (base64 ones decoded; undecodable ones as stored)."""
    if encoding == "base64":
        try:
            return base64.b64decode(raw).decode("utf-8", errors="replace")
        except ValueError:
            return raw
    return raw
