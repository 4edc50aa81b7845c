"""Is an LLM's answer grounded in the hotel's facts? The check that keeps a made-up Wi-Fi
password, price or opening time from reaching a guest.

A *value* is anything a guest could act on: a number or time ("7:00", "10.30", "25"), an
amount, a URL or e-mail, a phone number, a word with digits ("sea-breeze-42", "B12") and a
quoted string. `ungrounded_values` lists the values of an answer that appear nowhere in
the facts; an answer is usable only when that list is empty. Words without digits are not
checked (the model rephrases freely), so the check is about values, not style. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_VALUE: Final = re.compile(
    r"""https?://\S+                      # a link
      | [\w.+-]+@[\w-]+\.[\w.-]+          # an e-mail
      | \+?\d[\d\s()-]{6,}\d              # a phone number
      | \d{1,2}[:.]\d{2}                  # a time of day
      | (?:\w+-)*\w*\d[\w-]*              # a word with digits: 25, 42EUR, sea-breeze-42
      | "[^"]{1,80}" | «[^»]{1,80}» | “[^”]{1,80}”   # a quoted string
    """,
    re.VERBOSE,
)
_QUOTES: Final = '"«»“”'


def _normal(value: str) -> str:
    value = value.strip(_QUOTES + " .,;:!?()").casefold()
    if re.fullmatch(r"\d{1,2}[:.]\d{2}", value):
        hh, mm = re.split(r"[:.]", value)
        return f"{int(hh)}:{mm}"  # 07:00, 7.00 and 7:00 are one time
    return re.sub(r"\s+", "", value) if re.fullmatch(r"[\d\s()+-]+", value) else value


def values_in(text: str) -> set[str]:
    """The values of `text`, normalised (case, the form of a time, spaces in numbers)."""
    return {_normal(m.group(0)) for m in _VALUE.finditer(text) if _normal(m.group(0))}


def ungrounded_values(answer: str, facts: Iterable[str]) -> list[str]:
    """The values of `answer` that no fact contains (sorted); empty = grounded."""
    known: set[str] = set()
    flat: list[str] = []
    for text in facts:
        known |= values_in(text)
        flat.append(" ".join(text.casefold().split()))
    haystack = " ".join(flat)
    missing = []
    for value in values_in(answer):
        # As a whole word of a fact too ("10:30" inside "7:00-10:30"); "1" is not in "15".
        if value in known or re.search(rf"(?<!\w){re.escape(value)}(?!\w)", haystack):
            continue
        missing.append(value)
    return sorted(missing)
