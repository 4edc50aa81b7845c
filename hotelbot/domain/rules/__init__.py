"""Rule-based sentiment for guest chat messages (English and Russian), pure and in-process.

`RuleAnalyser(lexicon=None).analyse(text, language_hint=None) -> Verdict` is the fallback used
when the LLM is unavailable and the fast first pass in the daemon. The module-level
`analyse(text) -> dict` is the same with the built-in lexicon, shaped for
``score_sentiment.py --callable hotelbot.domain.rules:analyse``. The lexicon format, and how a
hotel extends it, is described in `hotelbot.domain.rules.lexicon`::

    analyser = RuleAnalyser(Lexicon.load([Path("/etc/hotelbot/lexicon/hotel.toml")]))
    verdict = analyser.analyse("The jacuzzi is cold again")

Besides tone, a verdict says whether someone at the hotel has to act and why
(`Verdict.category`, `hotelbot.domain.rules.attention`): complaints, hazards, billing facts,
follow-ups and emergencies (with their `EmergencyKind` first in `categories`), and requests
read sentence by sentence (`hotelbot.domain.rules.reading`). Concrete findings always carry
a non-empty `categories`; attention from tone alone, or added by the small trained model
shipped with the rules (`hotelbot.domain.rules.model`), carries none, so an LLM may overrule
those two and never a concrete finding.

Loading reads package data files only (a few tens of ms); analysing is pure CPU work, a few
tens of microseconds per message, safe to call from the event loop.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hotelbot.domain.rules.analyser import RuleAnalyser
    from hotelbot.domain.rules.language import detect_language
    from hotelbot.domain.rules.lexicon import Lexicon, LexiconError

__all__ = [
    "Lexicon",
    "LexiconError",
    "RuleAnalyser",
    "analyse",
    "default_analyser",
    "detect_language",
]

# The package's names are imported on first use, so that a submodule read for a constant
# (`lexicon.BUILTIN_LANGUAGES` for `status` and `doctor`) does not import the analyser.
_LAZY = {
    "RuleAnalyser": "hotelbot.domain.rules.analyser",
    "detect_language": "hotelbot.domain.rules.language",
    "Lexicon": "hotelbot.domain.rules.lexicon",
    "LexiconError": "hotelbot.domain.rules.lexicon",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


@lru_cache(maxsize=1)
def default_analyser() -> RuleAnalyser:
    """The analyser with the built-in lexicon, built once per process (loading takes ~ms)."""
    from hotelbot.domain.rules.analyser import RuleAnalyser

    return RuleAnalyser()


def analyse(text: str) -> dict[str, object]:
    """Analyse one message with the built-in lexicon; returns `Verdict.as_dict()`. Never raises."""
    return default_analyser().analyse(text).as_dict()
