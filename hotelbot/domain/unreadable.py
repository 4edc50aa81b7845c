"""Guest text the rule analyser cannot read: the one decision about alerting staff anyway.

The rules read a few languages (English and Russian); an LLM reads every language. When the
rules answered alone (no LLM, or it failed) for a message in another language, their verdict
means little: a Portuguese "the air conditioning does not work" looks neutral to them. Such a
message still needs staff when the conversation shows signs of trouble that need no
vocabulary: exclamation ("!!", "?!"), an angry or sad emoji, capitals shouting, or the guest
writing again and again (three messages within 15 minutes). `review_unreadable` is that
decision; the processor calls it for every analysed message. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.languages import UNDETERMINED, identify, name
from hotelbot.domain.sentiment import AnalyserName, Verdict

RULES_ANALYSER: Final = AnalyserName.RULES
REPEAT_WINDOW: Final = timedelta(minutes=15)
REPEAT_COUNT: Final = 3  # this message and two more within REPEAT_WINDOW before it
_NEGATIVE_EMOJI: Final = frozenset("😡😠🤬😤😞😢😭👎💩🙁☹😩😫🤮🤢😣😖😰😱🆘😒😕😟😥😧😨🥵🥶🤒🤕")
_POSITIVE_EMOJI: Final = frozenset("😊🙂😀😃😄😁👍❤🙏😍🥰👌✨🎉😘🤗💕😇")
_SHOUT_MIN_LETTERS: Final = 8
_SHOUT_SHARE: Final = 0.7


def rules_languages() -> frozenset[str]:
    """The languages the built-in rule lexicon reads ("en", "ru"), without loading it."""
    from hotelbot.domain.rules.lexicon import BUILTIN_LANGUAGES

    return BUILTIN_LANGUAGES


def trouble_signs(
    text: str, *, sent_at: datetime, earlier: Iterable[datetime] = ()
) -> tuple[str, ...]:
    """The signs of trouble in a guest message that need no vocabulary, in a fixed order:
    "negative emoji", "exclamation", "capitals", "repeated messages". `earlier`: when the
    guest's previous messages in this chat were sent (any order; later ones are ignored).
    Exclamation next to a friendly emoji only ("Obrigado!! 😊") is no sign."""
    negative = any(ch in _NEGATIVE_EMOJI for ch in text)
    friendly = any(ch in _POSITIVE_EMOJI for ch in text)
    signs = []
    if negative:
        signs.append("negative emoji")
    bangs = text.count("!") + text.count("！") + text.count("‼") * 2
    if (bangs >= 2 or "?!" in text or "!?" in text) and (negative or not friendly):
        signs.append("exclamation")
    cased = [ch for ch in text if ch.isalpha() and (ch.isupper() or ch.islower())]
    upper = sum(1 for ch in cased if ch.isupper())
    if len(cased) >= _SHOUT_MIN_LETTERS and upper / len(cased) >= _SHOUT_SHARE:
        signs.append("capitals")
    recent = [t for t in earlier if sent_at - REPEAT_WINDOW <= t < sent_at]
    if len(recent) + 1 >= REPEAT_COUNT:
        signs.append("repeated messages")
    return tuple(signs)


def unreadable_language(verdict: Verdict, text: str, covered: frozenset[str]) -> str | None:
    """The language of `text` when the rules answered alone and do not read it (not in
    `covered`), else None (an LLM answered, the language is covered or undetermined)."""
    if verdict.analyser != RULES_ANALYSER:
        return None
    language = identify(text)
    if language == UNDETERMINED or language in covered:
        return None
    return language


def review_unreadable(
    verdict: Verdict,
    text: str,
    *,
    covered: frozenset[str],
    sent_at: datetime,
    earlier: Iterable[datetime] = (),
) -> Verdict:
    """The verdict to store for a guest message. Unchanged unless the rules answered alone
    for a language they do not read; then it records that language (so `doctor` and
    `status` can say which languages a hotel's guests write in), and when the message shows
    signs of trouble (`trouble_signs`) it requires attention, with a reason that says why
    (staff read the message themselves). A verdict that already requires attention keeps its
    reason. Deterministic; never raises."""
    language = unreadable_language(verdict, text, covered)
    if language is None:
        return verdict
    read = dataclasses.replace(verdict, language=language)
    if verdict.requires_attention:
        return read
    signs = trouble_signs(text, sent_at=sent_at, earlier=earlier)
    if not signs:
        return read
    only_repeated = signs == ("repeated messages",)
    return dataclasses.replace(
        read,
        requires_attention=True,
        reason=f"{name(language)} message the rules cannot read, with signs of trouble: "
        + ", ".join(signs),
        category=AttentionCategory.FOLLOW_UP if only_repeated else AttentionCategory.OTHER,
    )
