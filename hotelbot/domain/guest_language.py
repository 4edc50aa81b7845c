"""The language a guest's messages are written in: detected from what they write, kept per
guest, changeable by the operator, and chosen for each automated message.

Detection (`observe`, per guest message whose language the analyser determined):

* the first determined message gives a first guess (`source` None: not yet confirmed);
* a second message in the same language confirms it (`source` DETECTED);
* a message in another language is only a candidate; the next one in that same language
  switches the guest to it (DETECTED). One English "thanks" from a Russian guest changes
  nothing: the guest must write *consistently* in the other language;
* once the operator set it (`source` OPERATOR), detection leaves it alone.

Choice (`message_language`): the operator's setting first; then, when the stay names no
language, the guest's (even a first guess beats the hotel default); when it does, the
guest's confirmed language if it differs from the stay's (the booking was made in one
language, the guest writes in another); otherwise the stay's; without any, the hotel's
default. Whether a template has a text in that language is the template's business
(`Template.pick_language` falls back to the hotel default, never to a hole). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from hotelbot.domain.languages import NAMES

UNDETERMINED: Final = "und"


class LanguageSource(StrEnum):
    """Who set a guest's language (column guests.language_source; NULL = a first guess)."""

    DETECTED = "detected"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class GuestLanguage:
    """A guest's language as stored: the code, who set it (None: a first guess), and a
    different language seen once and not yet confirmed."""

    language: str | None = None
    source: LanguageSource | None = None
    candidate: str | None = None

    @classmethod
    def stored(
        cls, language: str | None, source: str | None, candidate: str | None
    ) -> GuestLanguage:
        """From the columns; an unknown source string reads as a first guess."""
        try:
            parsed = LanguageSource(source) if source else None
        except ValueError:
            parsed = None
        return cls(language, parsed, candidate)


def _primary(code: str) -> str:
    return code.lower().split("-")[0]


def observe(current: GuestLanguage, detected: str) -> GuestLanguage:
    """The guest's language after one message detected as `detected` (an ISO code; "und"
    or "" changes nothing). Rules in the module docstring; returns `current` unchanged
    when nothing changes (compare with `is`/`==` to know whether to write)."""
    code = detected.strip().lower()[:8]
    if not code or code == UNDETERMINED or current.source is LanguageSource.OPERATOR:
        return current
    if current.language is None:
        return GuestLanguage(code, None, None)
    if _primary(code) == _primary(current.language):
        if current.source is None or current.candidate is not None:
            return GuestLanguage(current.language, LanguageSource.DETECTED, None)
        return current
    if current.candidate is not None and _primary(current.candidate) == _primary(code):
        return GuestLanguage(code, LanguageSource.DETECTED, None)
    return GuestLanguage(current.language, current.source, code)


def set_by_operator(code: str | None) -> GuestLanguage:
    """The operator's choice; None hands the guest back to detection (forgetting guesses)."""
    if code is None:
        return GuestLanguage()
    return GuestLanguage(code.strip().lower(), LanguageSource.OPERATOR, None)


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """The language of one message to a guest, and why (for `trigger preview`)."""

    code: str
    reason: str


def _name(code: str) -> str:
    return NAMES.get(_primary(code), code)


def message_language(
    *, stay_language: str | None, guest: GuestLanguage, hotel_default: str
) -> LanguageChoice:
    """Which language to write to the guest in (rules in the module docstring)."""
    if guest.source is LanguageSource.OPERATOR and guest.language:
        return LanguageChoice(guest.language, "set by the operator for this guest")
    if not stay_language:
        if guest.language:
            return LanguageChoice(
                guest.language, f"the stay names none; the guest writes {_name(guest.language)}"
            )
        return LanguageChoice(hotel_default, "neither the stay nor the guest's messages say")
    if (
        guest.source is LanguageSource.DETECTED
        and guest.language
        and _primary(guest.language) != _primary(stay_language)
    ):
        return LanguageChoice(
            guest.language,
            f"the guest writes {_name(guest.language)}, the stay says {_name(stay_language)}",
        )
    return LanguageChoice(stay_language, "the stay's language")
