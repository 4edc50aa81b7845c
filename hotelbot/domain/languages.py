"""Which language a guest wrote in: enough to tell whether the rule analyser can read it.

Pure. `identify(text)` returns an ISO 639-1 code or "und" (undetermined). Scripts decide
first (Greek, Arabic, Hebrew, Thai, Georgian, Armenian, Devanagari, Hangul, kana, Han;
Cyrillic is Ukrainian when it has і ї є ґ, else Russian). Latin text is scored on frequent
function and hotel words and on letters only some languages use (ã õ → Portuguese, ñ →
Spanish, ß → German, ā ē ķ ļ → Latvian ...); the best score wins when it is clearly ahead.
Short or ambiguous text ("ok", "👍", a room number) is "und": it says nothing about which
language the guests of a hotel write in. This is not a general language identifier; it
covers the languages hotel guests in Europe, the Middle East and Asia most often write in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

UNDETERMINED: Final = "und"

NAMES: Final = {
    "en": "English", "ru": "Russian", "uk": "Ukrainian", "de": "German", "fr": "French",
    "es": "Spanish", "pt": "Portuguese", "it": "Italian", "nl": "Dutch", "pl": "Polish",
    "lv": "Latvian", "lt": "Lithuanian", "et": "Estonian", "fi": "Finnish", "sv": "Swedish",
    "tr": "Turkish", "cs": "Czech", "el": "Greek", "ar": "Arabic", "he": "Hebrew",
    "th": "Thai", "ka": "Georgian", "hy": "Armenian", "hi": "Hindi", "ko": "Korean",
    "ja": "Japanese", "zh": "Chinese",
}  # fmt: skip

# Frequent words of each Latin-script language, chosen to be rare in the others.
_WORDS: Final = {
    "en": "the and is are was were you your my we this that have has with for please thank "
    "thanks room not there what when where why can could would should our from they been",
    "de": "der die das und ist nicht ich wir sie ein eine mit auf für zimmer bitte danke kein "
    "keine sehr gibt wasser warum noch schon hallo guten auch funktioniert kaputt immer",
    "fr": "le la les et est je nous vous une des pas avec pour dans chambre merci bonjour très "
    "il elle ne sont mais où fonctionne toujours eau chaude aussi rien",
    "es": "el los las y es está por favor gracias habitación hola muy pero con una del mi hay "
    "agua baño estoy funciona nada también ningún todavía",
    "pt": "o os e é não um uma com para por favor obrigado obrigada quarto olá muito mas está "
    "do da em meu minha água banho você funciona nada também ainda estou ninguém",
    "it": "il lo gli è non per grazie camera ciao buongiorno molto ma sono della che ho bagno "
    "acqua funziona niente anche ancora",
    "nl": "de het een en is niet ik wij we met voor kamer dank bedankt hallo graag geen maar "
    "zijn er werkt nog ook",
    "pl": "jest nie się na do pokój dziękuję proszę dzień bardzo ale mam jak działa woda "
    "jeszcze też",
    "lv": "un ir nav es mēs jūs ar uz par lūdzu paldies istaba numurs labdien ļoti bet kā "
    "strādā ūdens",
    "lt": "ir yra ne aš mes jūs su į ačiū prašau kambarys labas labai bet neveikia vanduo",
    "et": "ja on ei ma me te palun aitäh tuba tere väga aga see ei tööta vesi",
    "fi": "ja on ei minä me te kiitos huone hei moi hyvin mutta se toimi vesi",
    "sv": "och är inte jag vi ni med för rum tack hej mycket men det fungerar vatten",
    "tr": "ve bir bu değil ben biz siz ile için oda teşekkür teşekkürler merhaba çok ama lütfen "
    "yok var çalışmıyor su",
    "cs": "je není já my vy pro pokoj děkuji prosím dobrý velmi ale nefunguje voda",
    # Russian written in Latin letters (the rule analyser reads it too).
    "ru": "spasibo pozhaluysta pozhalujsta mozhno nuzhen nuzhna nuzhno est eshche eshe "
    "segodnya zavtra net da kak chto pochemu rabotaet voda vody goryachey holodno gryazno "
    "polotence polotenca zhdu uzhe nomer nomere privet zdravstvuyte ochen vse tolko "
    "gde kogda mne nam nas vas u v s na ne",
}
_WORD_SETS: Final = {lang: frozenset(words.split()) for lang, words in _WORDS.items()}

# Letter groups typical of one language (Portuguese -ção/-ões/-ão).
_ENDINGS: Final = {"pt": ("ção", "ções", "ões", "ão")}

# Letters that only some Latin-script languages use.
_LETTERS: Final = {
    "pt": "ãõ", "es": "ñ¿¡", "de": "ß", "lv": "āēīķļņģ", "pl": "ąęłśźżćń", "lt": "ėįų",
    "tr": "ığş", "cs": "ěřů", "sv": "å", "fr": "œ",
}  # fmt: skip

_SCRIPTS: Final = (
    ("\u0370", "\u03ff", "el"), ("\u0600", "\u06ff", "ar"), ("\u0590", "\u05ff", "he"),
    ("\u0e00", "\u0e7f", "th"), ("\u10a0", "\u10ff", "ka"), ("\u0530", "\u058f", "hy"),
    ("\u0900", "\u097f", "hi"), ("\uac00", "\ud7af", "ko"), ("\u1100", "\u11ff", "ko"),
    ("\u3040", "\u30ff", "ja"), ("\u4e00", "\u9fff", "zh"),
)  # fmt: skip
_UKRAINIAN: Final = frozenset("іїєґ")
_WORD: Final = re.compile(r"[^\W\d_]+", re.UNICODE)
_MIN_LEAD: Final = 1


def _script_language(text: str) -> str | None:
    counts: Counter[str] = Counter()
    cyrillic = ukrainian = latin = 0
    for ch in text:
        if "\u0400" <= ch <= "\u04ff":
            cyrillic += 1
            ukrainian += ch.lower() in _UKRAINIAN
            continue
        if (ch.isascii() and ch.isalpha()) or "\u00c0" <= ch <= "\u024f":
            latin += 1
            continue
        for low, high, lang in _SCRIPTS:
            if low <= ch <= high:
                counts[lang] += 1
                break
    if counts.get("ja") and counts.get("zh"):  # kanji with kana is Japanese
        counts["ja"] += counts.pop("zh")
    best = counts.most_common(1)
    other = best[0][1] if best else 0
    if cyrillic > max(latin, other):
        return "uk" if ukrainian else "ru"
    if other > latin:
        return best[0][0]
    return None


def identify(text: str) -> str:
    """The language of `text` as an ISO 639-1 code, or "und" when it cannot be told
    (too short, mixed, numbers and emoji only). Never raises; reads at most 2,000 chars."""
    text = text[:2000]
    by_script = _script_language(text)
    if by_script is not None:
        return by_script
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return UNDETERMINED
    scores: Counter[str] = Counter()
    for word in words:
        for lang, vocabulary in _WORD_SETS.items():
            if word in vocabulary:
                scores[lang] += 1
    lowered = text.lower()
    for lang, letters in _LETTERS.items():
        scores[lang] += sum(1 for letter in letters if letter in lowered)
    for lang, endings in _ENDINGS.items():
        scores[lang] += sum(1 for word in words if word.endswith(endings))
    ranked = scores.most_common(2)
    if not ranked or ranked[0][1] == 0:
        return UNDETERMINED
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < _MIN_LEAD:
        return UNDETERMINED
    return ranked[0][0]


def name(code: str) -> str:
    """ "Portuguese (pt)" for a code; the code alone when it has no name here."""
    return f"{NAMES[code]} ({code})" if code in NAMES else code


@dataclass(frozen=True, slots=True)
class LanguageGap:
    """A language a hotel's guests write in that the rules do not read."""

    language: str
    messages: int
    share: float  # of the hotel's guest messages whose language is known

    def describe(self) -> str:
        return f"{name(self.language)} {self.share:.0%} ({self.messages} messages)"


MIN_GAP_SHARE: Final = 0.05
MIN_GAP_MESSAGES: Final = 3


def coverage_gaps(mix: Mapping[str, int], covered: frozenset[str]) -> list[LanguageGap]:
    """The languages in `mix` (language -> guest messages) that `covered` lacks, with at
    least 5 % of the messages of a known language and at least 3 messages, most used first.
    "und" (undetermined) counts for neither. Pure."""
    known = {lang: n for lang, n in mix.items() if lang and lang != UNDETERMINED and n > 0}
    total = sum(known.values())
    gaps = [
        LanguageGap(lang, n, n / total)
        for lang, n in known.items()
        if lang not in covered and n >= MIN_GAP_MESSAGES and n / total >= MIN_GAP_SHARE
    ]
    return sorted(gaps, key=lambda gap: (-gap.messages, gap.language))


def names(codes: Iterable[str]) -> str:
    """ "English, Russian" """
    return ", ".join(NAMES.get(code, code) for code in sorted(codes))
