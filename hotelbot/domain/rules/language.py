"""Guessing the language of a message from its script and its function words.

Pure. Only the languages whose scripts differ are told apart reliably (Latin -> "en", Cyrillic ->
"ru"); a Latin message is called English only when it has an English function word or sentiment
word, so "Guten Morgen" or a lone emoji give "und".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from hotelbot.domain.rules.tokens import WORD, Token

__all__ = ["UNDETERMINED", "detect_language", "is_cyrillic"]

UNDETERMINED: Final = "und"


def is_cyrillic(word: str) -> bool:
    """Whether a (lowercase) word starts with a Cyrillic letter."""
    return bool(word) and "\u0400" <= word[0] <= "\u04ff"


def detect_language(
    tokens: Sequence[Token],
    stopwords: Mapping[str, frozenset[str]],
    known_words: int = 0,
) -> str:
    """ "en", "ru" or "und".

    A message is Russian when its Cyrillic words are at least as many as its Latin words, or
    as many as the English function words among them ("можно late checkout?" is Russian,
    "Thanks, всё ок, see you at the pool" English). Otherwise a Latin message is English if
    at least one English stopword occurs or `known_words` (lexicon hits) is positive.
    Never raises."""
    cyrillic = latin = 0
    english_hits = 0
    en_stop = stopwords.get("en", frozenset())
    seen = 0
    for text, kind, _caps in tokens:
        if kind != WORD:
            continue
        seen += 1
        if seen > 60:
            break  # the first sixty words decide; a 10k-character message costs no more
        first = text[0]
        if "\u0400" <= first <= "\u04ff":
            cyrillic += 1
        elif first < "\u0250":
            latin += 1
            if text in en_stop:
                english_hits += 1
    if cyrillic == 0 and latin == 0:
        return UNDETERMINED
    if cyrillic >= latin or (cyrillic and cyrillic >= english_hits):
        # Russian guests mix in English nouns ("можно late checkout?"); English guests
        # rarely write Cyrillic, and their Latin words bring English function words
        return "ru"
    if english_hits or known_words:
        return "en"
    return UNDETERMINED
