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
    """"en", "ru" or "und".

    The script with more words wins (so a mostly Russian message with "wifi" in it is "ru").
    A Cyrillic majority is Russian; a Latin majority is English if at least one English
    stopword occurs or `known_words` (lexicon hits) is positive. Never raises."""
    cyrillic = latin = 0
    english_hits = 0
    en_stop = stopwords.get("en", frozenset())
    for token in tokens:
        if token.kind != WORD:
            continue
        if is_cyrillic(token.text):
            cyrillic += 1
        elif token.text.isascii():
            latin += 1
            if token.text in en_stop:
                english_hits += 1
    if cyrillic == 0 and latin == 0:
        return UNDETERMINED
    if cyrillic >= latin:
        return "ru"
    if english_hits or known_words:
        return "en"
    return UNDETERMINED
