"""Turning a chat message into tokens: words, numbers, punctuation, emoji and emoticons.

Pure and allocation-light: one precompiled regex pass. Contractions are expanded so that
negation is always a separate "not" token ("doesn't" -> "does", "not"), "ё" is read as "е",
hyphenated words are split ("wi-fi" -> "wi", "fi"), and balanced parentheses are dropped so
that what remains of "(" and ")" can be read as the Russian-style smileys ")))" and "(((".
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

__all__ = ["Token", "WORD", "NUMBER", "PUNCT", "SYMBOL", "tokenize"]

WORD: Final = "w"
NUMBER: Final = "n"
PUNCT: Final = "p"
SYMBOL: Final = "s"  # emoji, emoticon or bracket smiley


class Token(NamedTuple):
    text: str  # lowercased; for SYMBOL the canonical emoji/emoticon
    kind: str
    caps: bool  # written in capitals (2+ letters), for emphasis


# Balanced "( ... )" that is a parenthesis, not part of an emoticon: the opening bracket is not
# preceded by an emoticon eye/nose, the closing one not preceded by them either.
_PAREN_RE: Final = re.compile(r"(?<![:;=\-'^(])\(([^()]{1,120}?)(?<![:;=\-'^])\)(?!\))")
_TOKEN_RE: Final = re.compile(
    r"""
    (?P<emo>
        (?<![\w:/])[:;=][-'^o]?[)(\]\[dpo/\\|*3$@]+(?![\w/])   # :) :-( ;) :D :P :/
      | (?<!\w)x-?d+(?!\w)                                    # xD
      | <3+ | </3 | \^_*\^                                    # hearts, ^_^
      | (?<!\d)\)+ | \(+                                      # ))) (((  and a lone ")" or "("
    )
    | (?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)
    | (?P<num>\d+(?:[.,:]\d+)*)
    | (?P<punct>[.!?;,…:]+)
    | (?P<sym>[^\s\w])
    """,
    re.VERBOSE | re.IGNORECASE,
)
# Emoji modifiers that carry no sentiment of their own (variation selectors, skin tones, ZWJ).
_IGNORED_SYMBOLS: Final = frozenset(
    ["\ufe0f", "\ufe0e", "\u200d", *(chr(c) for c in range(0x1F3FB, 0x1F400))]
)
_CONTRACTIONS: Final = {
    "can't": ("can", "not"), "cant": ("can", "not"), "cannot": ("can", "not"),
    "won't": ("will", "not"), "wont": ("will", "not"), "ain't": ("is", "not"),
    "shan't": ("shall", "not"), "dont": ("do", "not"), "doesnt": ("does", "not"),
    "didnt": ("did", "not"), "isnt": ("is", "not"), "arent": ("are", "not"),
    "wasnt": ("was", "not"), "werent": ("were", "not"), "havent": ("have", "not"),
    "hasnt": ("has", "not"), "hadnt": ("had", "not"), "couldnt": ("could", "not"),
    "wouldnt": ("would", "not"), "shouldnt": ("should", "not"),
}  # fmt: skip


def _emoticon(raw: str) -> str:
    """Canonical form of a matched emoticon: ")))" -> "))", ":-(" -> ":(", "xDDD" -> "xd"."""
    low = raw.lower()
    if low[0] in ")(":
        return low[0] * min(len(low), 2)
    if low[0] == "x":
        return "xd"
    if low.startswith("<3"):
        return "<3"
    if low[0] in ":;=" and len(low) > 1:
        body = low[1:].lstrip("-'^o") or low[1:]
        return low[0].replace("=", ":") + body[0]
    return low


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens. Never raises; an empty text gives an empty list."""
    if "(" in text and ")" in text:
        text = _PAREN_RE.sub(r" , \1 , ", text)
    text = text.replace("ё", "е").replace("Ё", "Е").replace("’", "'")
    tokens: list[Token] = []
    append = tokens.append
    for match in _TOKEN_RE.finditer(text):
        group = match.lastgroup
        raw = match.group()
        if group == "word":
            low = raw.lower()
            caps = len(raw) > 1 and raw.isupper()
            if "'" in low:
                if low.endswith("n't"):
                    expanded = _CONTRACTIONS.get(low)
                    if expanded is None:
                        expanded = (low[:-3], "not")
                    append(Token(expanded[0], WORD, caps))
                    append(Token("not", WORD, caps))
                    continue
                head, _, tail = low.partition("'")
                append(Token(head, WORD, caps))
                if tail in ("re", "ve", "ll", "d", "m", "s"):
                    continue  # 's / 're carry nothing for sentiment
                append(Token(tail, WORD, caps))
                continue
            expanded = _CONTRACTIONS.get(low)
            if expanded is not None:
                append(Token(expanded[0], WORD, caps))
                append(Token("not", WORD, caps))
                continue
            append(Token(low, WORD, caps))
        elif group == "punct":
            append(Token(raw, PUNCT, False))
        elif group == "emo":
            append(Token(_emoticon(raw), SYMBOL, False))
        elif group == "num":
            append(Token(raw, NUMBER, False))
        elif raw not in _IGNORED_SYMBOLS:
            if raw == "-" or raw == "/" or raw == "—" or raw == "–":
                continue  # hyphens and slashes separate words; nothing more
            append(Token(raw, SYMBOL, False))
    return tokens
