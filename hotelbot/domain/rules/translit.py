"""Russian written in Latin letters, and words that mix both scripts, turned into Cyrillic.

Guests type Russian on Latin keyboards ("polotenca ne prinesli", "mozhno pozdniy vyezd?") and
mix scripts inside one word ("нoмер" with a Latin "o"). Both are rewritten to plain Cyrillic
before the message is tokenised, so the Russian lexicon, its stems and its morphology rules
read them like any other Russian message.

How a message is judged (pure, cached per word):

- Only Latin words that are no English word we know count as Russian evidence; a word is
  Russian evidence when one of its Cyrillic readings is a word or stem the Russian lexicon
  knows (``is_russian``, supplied by the caller) or a known chat spelling ("4to", "eshe").
- The message is transliterated Russian when such evidence outweighs the English words in it
  (one Russian word and no English one, or at least two and more than the English ones).
- Then every Latin word with a Russian reading is rewritten (in a Russian message "my" is
  "мы"), and so is every word that is not English; English words with no Russian reading
  stay ("wifi", "late", "checkout"), so "wifi ne rabotaet" becomes "wifi не работает".

Latin letters have more than one Cyrillic reading ("j" is "й" or "ж", a leading "e" is "е" or
"э", "c" is "ц" or "к"); the first reading the lexicon knows wins, else the most common one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["Transliterator", "fix_mixed_scripts", "to_cyrillic_candidates"]

# Longest first: the reader tries 4-, 3-, 2- and 1-letter chunks at each position.
_CHUNKS: Final[dict[str, tuple[str, ...]]] = {
    "shch": ("щ",),
    "tsya": ("тся",),
    "tsia": ("тся",),
    "sch": ("щ", "сч"),
    "tsk": ("тск",),
    "zh": ("ж",),
    "kh": ("х",),
    "ch": ("ч",),
    "sh": ("ш",),
    "ts": ("ц", "тс"),
    "tz": ("ц",),
    "yo": ("е",),
    "yu": ("ю",),
    "ya": ("я",),
    "ju": ("ю",),
    "ja": ("я",),
    "jo": ("е",),
    "ia": ("я", "ия"),
    "iu": ("ю", "ию"),
    "ck": ("к",),
    "a": ("а",),
    "b": ("б",),
    "v": ("в",),
    "g": ("г",),
    "d": ("д",),
    "e": ("е", "э"),
    "z": ("з",),
    "i": ("и",),
    "j": ("й", "ж"),
    "k": ("к",),
    "l": ("л",),
    "m": ("м",),
    "n": ("н",),
    "o": ("о",),
    "p": ("п",),
    "r": ("р",),
    "s": ("с",),
    "t": ("т",),
    "u": ("у",),
    "f": ("ф",),
    "h": ("х",),
    "c": ("ц", "к"),
    "x": ("х", "кс"),
    "w": ("ш", "в"),
    "q": ("к",),
    "'": ("ь",),
    "`": ("ь",),
}
_VOWELS: Final = frozenset("аеёиоуыэюяaeiouy")
# Chat spellings no letter rule reaches (digits for letters, dropped soft signs).
_WHOLE_WORDS: Final[dict[str, str]] = {
    "4to": "что", "4e": "че", "4ego": "чего", "4as": "час", "4asa": "часа", "4asov": "часов",
    "sei4as": "сейчас", "sej4as": "сейчас", "shas": "щас", "schas": "щас", "4em": "чем",
    "eshe": "еще", "ewe": "еще", "esho": "еще", "ischo": "еще", "tolko": "только",
    "pojaluista": "пожалуйста", "pozhalusta": "пожалуйста", "pozhaluista": "пожалуйста",
    "plz": "плз", "sps": "спс", "spasibki": "спасибки", "nichego": "ничего", "nichogo": "ничего",
    "segodnia": "сегодня", "vsyo": "все", "vse": "все", "vsio": "все", "kogda": "когда",
    "mne": "мне", "menya": "меня", "menia": "меня", "tut": "тут", "net": "нет", "ne": "не",
    "nas": "нас", "nam": "нам", "vas": "вас", "vam": "вам", "uzhe": "уже", "uje": "уже",
}  # fmt: skip
_LATIN_WORD_RE: Final = re.compile(r"[A-Za-z][A-Za-z'`]*[A-Za-z]|[A-Za-z]")
_CYRILLIC_RE: Final = re.compile(r"[а-яА-ЯёЁ]")
_LATIN_RE: Final = re.compile(r"[A-Za-z]")
_LETTERS_RE: Final = re.compile(r"[^\W\d_]+")
_EDGE_BLOCK_RE: Final = re.compile(
    r"[A-Za-z]{2,}[а-яА-ЯёЁ]{2,}|[а-яА-ЯёЁ]{2,}[A-Za-z]{2,}", re.IGNORECASE
)
_BOUNDARY_RE: Final = re.compile(r"(?<=[A-Za-z])(?=[а-яА-ЯёЁ])|(?<=[а-яА-ЯёЁ])(?=[A-Za-z])")
# Latin letters that look like Cyrillic ones, and back: "нoмер" (Latin o) is "номер".
_TO_CYRILLIC_LOOK: Final = str.maketrans("aeopcxykmthbAEOPCXYKMTHB", "аеорсхукмтнвАЕОРСХУКМТНВ")
_TO_LATIN_LOOK: Final = str.maketrans("аеорсхукмтнвАЕОРСХУКМТНВ", "aeopcxykmthbAEOPCXYKMTHB")
_MAX_CANDIDATES: Final = 8
_SOFT_RE: Final = re.compile(r"л(?=[бвгджзкмнпстфхцчшщ])")
_SOFT_FINALS: Final = frozenset("нтлдсчщ")
# One-letter Russian words ("v nomere", "u nas", "s detmi", "k vam", "ya", "i", "a", "o").
_SINGLE_LETTER_WORDS: Final = frozenset("vsukoyaiy")
_CACHE_LIMIT: Final = 50_000


def fix_mixed_scripts(text: str) -> str:
    """Rewrite words that mix Latin and Cyrillic letters into the script most of the word
    uses, via look-alike letters ("нoмер" -> "номер"). Words where that is impossible are
    split at the script boundary ("wifiне" -> "wifi не"). Never raises."""
    if not (_CYRILLIC_RE.search(text) and _LATIN_RE.search(text)):
        return text
    return _LETTERS_RE.sub(_fix_word, text)


def _fix_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if not (_CYRILLIC_RE.search(word) and _LATIN_RE.search(word)):
        return word
    cyrillic = sum(1 for ch in word if "\u0400" <= ch <= "\u04ff")
    latin = sum(1 for ch in word if ch.isascii() and ch.isalpha())
    to_cyrillic = word.translate(_TO_CYRILLIC_LOOK)
    to_latin = word.translate(_TO_LATIN_LOOK)
    if _EDGE_BLOCK_RE.fullmatch(word):
        # two words run together ("wifiне"): a block of one script at an edge, not look-alike
        # letters scattered inside a word ("нoмер")
        return _BOUNDARY_RE.sub(" ", word)
    cyrillic_ok = not any(ch.isascii() and ch.isalpha() for ch in to_cyrillic)
    latin_ok = not any("\u0400" <= ch <= "\u04ff" for ch in to_latin)
    if cyrillic_ok and (cyrillic >= latin or not latin_ok):
        return to_cyrillic
    if latin_ok:
        return to_latin
    return _BOUNDARY_RE.sub(" ", word)  # a real mix: keep both parts as separate words


def to_cyrillic_candidates(word: str) -> list[str]:
    """Cyrillic readings of a lowercase Latin word: the most common reading first, then
    readings that change one ambiguous letter (at most a handful). Pure."""
    whole = _WHOLE_WORDS.get(word)
    if whole is not None:
        return [whole]
    # Split into chunks with their alternatives.
    pieces: list[tuple[str, ...]] = []
    index = 0
    size = len(word)
    while index < size:
        for length in (4, 3, 2, 1):
            chunk = word[index : index + length]
            if len(chunk) == length and chunk in _CHUNKS:
                options = _CHUNKS[chunk]
                break
        else:
            chunk, options, length = word[index], (word[index],), 1
        if chunk == "y":
            options = _y_options(pieces, index, word)
        elif chunk == "ye":
            options = ("е",) if not pieces or pieces[-1][0][-1] in _VOWELS else ("ые", "ье")
        elif chunk == "e" and pieces:
            options = ("е",)  # "э" inside a word is rare
        elif chunk == "i" and pieces and pieces[-1][0][-1] in _VOWELS:
            # after a vowel "i" may be "й": mostly so at the end ("kakoi", "goryachei"),
            # inside a word only when "и" makes no word ("bassein", but "stoit")
            options = ("и", "й") if index + 1 < size else ("й", "и")
        pieces.append(options)
        index += length
    primary = "".join(p[0] for p in pieces)
    candidates = [primary]
    # the soft sign is usually left out: "skolko" is "сколько", "den" is "день"
    softened = _SOFT_RE.sub("ль", primary)
    if softened != primary:
        candidates.append(softened)
    if primary[-1:] in _SOFT_FINALS and len(primary) > 2:
        candidates.append(primary + "ь")
    for at, options in enumerate(pieces):
        for alternative in options[1:]:
            candidates.append(
                "".join(p[0] if i != at else alternative for i, p in enumerate(pieces))
            )
            if len(candidates) >= _MAX_CANDIDATES:
                return candidates
    return candidates


def _y_options(pieces: list[tuple[str, ...]], index: int, word: str) -> tuple[str, ...]:
    if len(word) == 1:
        return ("у",)  # "y menya": a Latin y standing for the look-alike "у"
    if not pieces:
        return ("й", "ы")
    if pieces[-1][0][-1] in _VOWELS:
        return ("й", "ы")  # "pozhaluysta", "moy", "novyy"
    return ("ы", "и", "й")  # "vy", "byl", "dobry"


class Transliterator:
    """Decides whether a message is Russian in Latin letters and rewrites it.

    `is_russian(cyrillic_word)` tells whether the Russian lexicon knows a word (or a stem of
    it); `is_english(latin_word)` whether the English lexicon does. Both are called once per
    distinct word (results are cached, bounded). Thread-safe enough: concurrent use only
    risks recomputation."""

    __slots__ = ("_english", "_is_english", "_is_function_word", "_is_russian", "_reading")

    def __init__(
        self,
        is_russian: Callable[[str], bool],
        is_english: Callable[[str], bool],
        is_function_word: Callable[[str], bool] = lambda word: False,
    ) -> None:
        self._is_russian = is_russian
        self._is_english = is_english
        self._is_function_word = is_function_word
        # word -> its first Cyrillic reading the Russian lexicon knows, or "" when none is
        self._reading: dict[str, str] = {}
        # word -> whether it counts as an English word (a chat spelling never does)
        self._english: dict[str, bool] = {}

    def normalise(self, text: str) -> str:
        """`text` with mixed-script words fixed and, when it is transliterated Russian, its
        Latin words in Cyrillic. English text comes back unchanged. Never raises."""
        text = fix_mixed_scripts(text)
        words = _LATIN_WORD_RE.findall(text)
        if not words:
            return text
        # English words first (a dictionary lookup each): the Cyrillic readings, the costly
        # part, are only worked out while the other words could still outnumber them
        english_of = self._english_word
        others = [word for word in map(str.lower, words) if not english_of(word)]
        english = len(words) - len(others)
        russian = strong = 0
        left = len(others)
        for word in others:
            if russian + left <= english:
                return text  # even if every word left read as Russian, English would win
            left -= 1
            reading = self._read(word)
            if reading:
                russian += 1
                strong += word in _WHOLE_WORDS or self._is_function_word(reading)
        # one Russian-looking word alone proves little ("compatability" reads as Russian
        # stems too); two, or one that is a Russian function word ("ne", "mne"), do
        if russian <= english or not (russian >= 2 or strong):
            return text
        return _LATIN_WORD_RE.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        word = raw.lower()
        reading = self._read(word)
        if reading:
            return reading  # "my" is "мы" and "on" is "он" in a Russian message
        if self._english_word(word):
            return raw  # an English word inside Russian: "wifi", "late checkout"
        return to_cyrillic_candidates(word)[0]

    def _english_word(self, word: str) -> bool:
        """Whether the English lexicon knows the word (a chat spelling such as "mne" never
        counts as English). Cached."""
        found = self._english.get(word)
        if found is None:
            found = word not in _WHOLE_WORDS and self._is_english(word)
            if len(self._english) >= _CACHE_LIMIT:
                self._english.clear()
            self._english[word] = found
        return found

    def _read(self, word: str) -> str:
        """The first Cyrillic reading of `word` the Russian lexicon knows, or "". Cached."""
        found = self._reading.get(word)
        if found is not None:
            return found
        reading = _WHOLE_WORDS.get(word, "")
        if not reading and (len(word) > 1 or word in _SINGLE_LETTER_WORDS):
            for candidate in to_cyrillic_candidates(word):
                if self._is_russian(candidate):
                    reading = candidate
                    break
        if len(self._reading) >= _CACHE_LIMIT:
            self._reading.clear()
        self._reading[word] = reading
        return reading
