"""Turning a chat message into tokens: words, numbers, punctuation, emoji and emoticons.

Pure and allocation-light: one precompiled regex pass. Contractions are expanded so that
negation is always a separate "not" token ("doesn't" -> "does", "not"), "ё" is read as "е",
hyphenated words are split ("wi-fi" -> "wi", "fi"), and balanced parentheses are dropped so
that what remains of "(" and ")" can be read as the Russian-style smileys ")))" and "(((".
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

__all__ = ["NUMBER", "PUNCT", "SYMBOL", "WORD", "Token", "tokenize"]

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
# One alternative per token kind; `findall` returns a 5-tuple per match with exactly one
# non-empty member, which is much cheaper than a Match object per token.
_TOKEN_RE: Final = re.compile(
    r"""
    ([^\W\d_]+(?:'[^\W\d_]+)*)                               # 1 word
    | ((?<![:/])[:;=][-'^o]?[)(\]\[dpo/\\|*3$@]+(?![\w/])       # 2 emoticon :) :-( ;) :D :/
      | <3+ | </3 | \^_*\^                                       #   hearts, ^_^
      | (?<!\d)\)+ | \(+)                                        #   ))) ((( and a lone ) or (
    | (\d+(?:[.,:]\d+)*)                                       # 3 number
    | ([.!?;,…:]+)                                              # 4 punctuation
    | ([^\s\w])                                                 # 5 any other symbol (emoji)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_XD_RE: Final = re.compile(r"x+d+", re.IGNORECASE)
# Emoji modifiers that carry no sentiment of their own (variation selectors, skin tones, ZWJ).
_IGNORED_SYMBOLS: Final = frozenset(
    ["\ufe0f", "\ufe0e", "\u200d", *(chr(c) for c in range(0x1F3FB, 0x1F400))]
)
_SEPARATORS: Final = frozenset("-/—–_\"'*#&+=<>|~`@%^[]{}\\")
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
    if "ё" in text or "Ё" in text:
        text = text.replace("ё", "е").replace("Ё", "Е")
    if "’" in text:
        text = text.replace("’", "'")
    tokens: list[Token] = []
    append = tokens.append
    contractions = _CONTRACTIONS
    # tuple.__new__ skips the NamedTuple's Python-level __new__: a third of the tokenizer's time
    new = tuple.__new__
    for word, emo, num, punct, sym in _TOKEN_RE.findall(text):
        if word:
            low = word.lower()
            caps = len(word) > 1 and word.isupper()
            if "'" not in low and low not in contractions:
                if low[0] == "x" and _XD_RE.fullmatch(low):
                    append(new(Token, ("xd", SYMBOL, False)))
                else:
                    append(new(Token, (low, WORD, caps)))
                continue
            expanded = contractions.get(low)
            if expanded is not None:
                append(new(Token, (expanded[0], WORD, caps)))
                append(new(Token, ("not", WORD, caps)))
                continue
            if low.endswith("n't"):
                if len(low) > 3:
                    append(new(Token, (low[:-3], WORD, caps)))
                append(new(Token, ("not", WORD, caps)))
                continue
            head, _, tail = low.partition("'")
            append(new(Token, (head, WORD, caps)))  # the regex guarantees letters on both sides
            if tail == "d":
                append(new(Token, ("would", WORD, caps)))  # "I'd like": a request marker
            elif tail not in ("re", "ve", "ll", "m", "s"):  # 's, 're carry no sentiment
                append(new(Token, (tail, WORD, caps)))
        elif punct:
            append(new(Token, (punct, PUNCT, False)))
        elif emo:
            append(new(Token, (_emoticon(emo), SYMBOL, False)))
        elif num:
            append(new(Token, (num, NUMBER, False)))
        elif sym not in _IGNORED_SYMBOLS and sym not in _SEPARATORS:
            append(new(Token, (sym, SYMBOL, False)))
    return tokens
