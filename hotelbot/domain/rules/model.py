"""A small trained model of "does this guest need someone?": character n-grams, linear weights.

The model reads a message word by word: each word brings its own features, the word itself
and its character 2- to 4-grams with the word's edges marked (so "ите>" is the end of a
Russian imperative and "<pls" the start of a word). A word's summed weight is cached, so
scoring costs about one dictionary lookup per word. Its weights are a logistic regression trained on
the development parts of the labelled guest messages by ``tests/eval/train_attention.py``
(reproducible: fixed seed, fixed order) and shipped as a package data file; loading reads that
file only, and scoring is a sum of dictionary lookups (no numpy, no download).

Text is normalised the way the rules read it (lowercase, "ё" as "е", transliterated Russian in
Cyrillic, digits as "0"), so the model and the rules see the same words.
"""

from __future__ import annotations

import importlib.resources
import math
import re
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["MODEL_FILE", "AttentionModel", "features", "word_features", "words"]

MODEL_FILE: Final = "attention_model.txt"  # a .txt so the package data rules ship it
MIN_GRAM: Final = 2
MAX_GRAM: Final = 4
_WORD_RE: Final = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)
_DIGITS_RE: Final = re.compile(r"\d")
_MAX_CHARS: Final = 2_000
_CACHE_LIMIT: Final = 50_000


def words(text: str) -> list[str]:
    """The words (and punctuation marks, emoji) of a normalised text, as the model reads them."""
    return _WORD_RE.findall(_DIGITS_RE.sub("0", text[:_MAX_CHARS].lower().replace("ё", "е")))


def word_features(word: str) -> tuple[str, ...]:
    """The distinct features of one word: itself and its edge-marked character n-grams."""
    found = {"w:" + word}
    if word[0].isalnum():  # punctuation and emoji: the word feature is enough
        marked = f"<{word}>"
        size = len(marked)
        for n in range(MIN_GRAM, MAX_GRAM + 1):
            for start in range(size - n + 1):
                found.add(marked[start : start + n])
    return tuple(sorted(found))


def features(text: str) -> list[str]:
    """The features of a normalised text: those of each word, a word counted each time it
    occurs. Pure; training and scoring both use it, so they read a text the same way."""
    return [name for word in words(text) for name in word_features(word)]


class AttentionModel:
    """Logistic regression over `features`. Immutable after construction; thread-safe."""

    __slots__ = ("_bias", "_by_word", "_weights")

    def __init__(self, weights: Mapping[str, float], bias: float) -> None:
        self._weights = dict(weights)
        self._bias = bias
        self._by_word: dict[str, float] = {}  # word -> summed weight of its features

    @property
    def size(self) -> int:
        """Number of features with a weight."""
        return len(self._weights)

    def probability(self, text: str) -> float:
        """P(someone at the hotel must act | text) for a normalised text. Never raises."""
        by_word = self._by_word
        total = self._bias
        for word in words(text):
            value = by_word.get(word)
            if value is None:
                value = self.score(word_features(word)) - self._bias
                if len(by_word) >= _CACHE_LIMIT:
                    by_word.clear()
                by_word[word] = value
            total += value
        return _sigmoid(total)

    def score(self, names: Iterable[str]) -> float:
        """The linear score (log-odds) of a feature set."""
        get = self._weights.get
        return self._bias + sum(get(name, 0.0) for name in names)

    def dumps(self) -> str:
        """The model as the text of its data file (stable order, so retraining diffs well)."""
        lines = [f"#bias\t{self._bias:.6f}"]
        lines += [f"{name}\t{weight:.5f}" for name, weight in sorted(self._weights.items())]
        return "\n".join(lines) + "\n"

    @classmethod
    def loads(cls, text: str) -> AttentionModel:
        """Parse the data file format written by `dumps`. Raises ValueError if malformed."""
        weights: dict[str, float] = {}
        bias = 0.0
        for number, line in enumerate(text.splitlines(), 1):
            if not line:
                continue
            name, sep, value = line.rpartition("\t")
            if not sep:
                raise ValueError(f"{MODEL_FILE}:{number}: expected 'feature<TAB>weight'")
            if name == "#bias":
                bias = float(value)
            else:
                weights[name] = float(value)
        return cls(weights, bias)

    @classmethod
    def load(cls) -> AttentionModel | None:
        """The packaged model, or None when the package ships none."""
        resource = importlib.resources.files("hotelbot.domain.rules") / "data" / MODEL_FILE
        if not resource.is_file():
            return None
        return cls.loads(resource.read_text(encoding="utf-8"))


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)
