"""Loading, validating and compiling the rule analyser's lexicon files.

A lexicon is a set of TOML files. The built-in ones live in ``hotelbot/domain/rules/data``
(``any.toml`` for emoji and emoticons, ``en.toml``, ``ru.toml``); a hotel may add its own files in
the same format through ``Lexicon.load(extra_paths)``. Files are merged in order, so a later file
overrides an earlier file's entry with the same key and adds new ones. Because English and Russian
are written in different scripts, all languages share one merged table: a Latin token can only hit
an English entry and a Cyrillic token a Russian one, which is what lets mixed messages be scored.

File format (every table is optional except ``language``)::

    language = "en"            # ISO 639-1 code of the entries, or "any" (emoji, emoticons)

    [words]                    # token -> valence in [-4, 4]; > 0 pleased, < 0 unhappy
    good = 1.9
    "disappoint*" = -2.2       # trailing "*": any token that starts with the stem (the stem
                               # must be >= 3 letters; for Russian, the usual way to cover forms)

    [phrases]                  # token sequence -> valence, matched before single words
    "not bad" = 1.2            # elements may be stems ("work*"); "~" skips up to two tokens
                               # and "a|b" matches either token: each alternative is ONE token
                               # ("no one|nobody" reads "no" then "one|nobody"; write two keys)
    "waste ~ money" = -2.5

    [emoji]                    # emoji or emoticon -> valence
    "😡" = -3.0

    [negators]                 # word -> valence added when nothing follows it to negate
    not = -0.4                 # ("it does not charge" is a complaint); 0 for "no", "нет"

    [intensifiers]             # word -> boost of the next sentiment word: 0.3 = 30 % stronger,
    very = 0.3                 # negative values damp ("slightly" = -0.5)

    [contrast]                 # the clause after these words decides ("but", "но", "зато")
    words = ["but", "however"]

    [stopwords]                # frequent function words, used to recognise the language
    words = ["the", "and"]

    [problems]                 # phrase -> problem category; a hit is a complaint
    "dirty" = "cleanliness"
    "still waiting" = "waiting"

    [urgent]                   # phrase -> category; safety matters, always need attention
    "fire" = "fire"

    [objects]                  # amenity phrase -> category. An object plus a fault in the
    "wifi" = "wifi"            # same clause is a complaint about that category

    [faults]                   # phrase -> category used when the clause names no object;
    "broken" = "broken"        # "" = only counts together with an object ("no", "cold")

    [requests]                 # request markers addressed to staff ("could you", "прошу")
    words = ["could you"]

    [request_topics]           # phrase -> what is asked for ("late checkout"); "" = generic;
    "late checkout" = "late checkout"   # "info" = asks for information ("tell", "подскажите"),
                               # which is no request. A request = marker + topic in one sentence.

    [sarcasm]                  # phrases that reliably mark sarcasm ("thanks for nothing")
    words = ["yeah right"]

    [cues]                     # phrase -> cue(s) that steer the reading, "|" between several
    "where" = "question"       # (the cues: hotelbot/domain/rules/labels.py, `Cue`)
    "fixed now" = "resolved"

Labels of ``problems``, ``urgent``, ``objects``, ``faults`` and ``request_topics`` may name an
attention category before the detail: ``"towel*" = "housekeeping_item: towels"``. A
``request_topics`` label starting with "~" belongs to a verb ("~booking: reservation"): it
decides the category only when the sentence names no object.

To neutralise a built-in word in a hotel file, give it 0 ("late" = 0.0). Everything is
lowercased when loaded, and "ё" is read as "е". Loading is pure apart from reading
the files; the compiled ``Lexicon`` is immutable and safe to share between threads and tasks.
"""

from __future__ import annotations

import importlib.resources
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hotelbot.domain.rules.labels import Cue

__all__ = [
    "BUILTIN_FILES",
    "BUILTIN_LANGUAGES",
    "EMPTY_ENTRY",
    "GAP",
    "Lexicon",
    "LexiconError",
    "Matcher",
    "Phrase",
    "PhraseKind",
    "TokenEntry",
    "is_imperative",
    "matches",
]

BUILTIN_FILES: Final = (
    "any.toml",
    "en.toml",
    "en_attention.toml",
    "ru_general.toml",
    "ru.toml",
    "ru_attention.toml",
)
# The languages the built-in files above declare (`language = ...`, "any" aside). Kept as a
# constant so that `status` and `doctor` need not parse the lexicon to name them;
# tests/test_languages.py checks it against a loaded lexicon.
BUILTIN_LANGUAGES: Final = frozenset({"en", "ru"})
MAX_VALENCE: Final = 4.0
MIN_STEM_LEN: Final = 3
GAP: Final = "~"
# How many characters a stem may absorb after it. Russian endings are short ("плох" + "ого",
# "работа" + "ют"); a longer tail usually means a different word ("дел*" must not reach
# "деликатес"). Short stems still over-match, so the data files list exact forms for them.
MAX_STEM_TAIL: Final = 5

_LIST_TABLES: Final = ("contrast", "stopwords", "requests", "sarcasm")
_FLOAT_TABLES: Final = ("words", "phrases", "emoji", "negators", "intensifiers")
_STR_TABLES: Final = ("problems", "urgent", "objects", "faults", "request_topics", "cues")
_KNOWN_KEYS: Final = frozenset(("language", *_LIST_TABLES, *_FLOAT_TABLES, *_STR_TABLES))
_CUES: Final = frozenset(cue.value for cue in Cue)


class LexiconError(ValueError):
    """A lexicon file is unreadable or has an invalid key or value. The message names the file
    and the key (``"extra.toml: words.good: ..."``)."""


class PhraseKind:
    """Kinds of multi-token entries (plain strings keep the hot loop free of enum lookups)."""

    SENTIMENT: Final = "sentiment"
    PROBLEM: Final = "problem"
    URGENT: Final = "urgent"
    OBJECT: Final = "object"
    FAULT: Final = "fault"
    REQUEST: Final = "request"
    TOPIC: Final = "topic"
    SARCASM: Final = "sarcasm"
    CUE: Final = "cue"


Matcher = tuple[frozenset[str], tuple[str, ...]]  # exact forms, stems (no "*")


def compile_element(element: str) -> Matcher:
    """Compile one element: "горяч*|тепл*|hot" gives ({"hot"}, ("горяч", "тепл"))."""
    exact: set[str] = set()
    stems: list[str] = []
    for alternative in element.split("|"):
        if is_stem(alternative):
            stems.append(alternative[:-1])
        elif alternative:
            exact.add(alternative)
    return frozenset(exact), tuple(stems)


@dataclass(frozen=True, slots=True)
class Phrase:
    """One compiled entry matched on token sequences.

    ``elements`` are exact tokens, stems ending in "*", alternatives joined by "|", or ``GAP``.
    ``value`` is a valence for sentiment phrases; ``label`` is the category/topic otherwise."""

    elements: tuple[str, ...]
    kind: str
    value: float
    label: str
    matchers: tuple[Matcher | None, ...] = ()
    length: int = 1

    @classmethod
    def build(cls, key: str, kind: str, value: float, label: str) -> Phrase:
        elements = tuple(key.split(" "))
        matchers = tuple(None if e == GAP else compile_element(e) for e in elements)
        return cls(elements, kind, value, label, matchers, len(elements))


def is_stem(element: str) -> bool:
    """A "stem*" entry: letters followed by "*" (":*" is an emoticon, not a stem)."""
    return len(element) > 1 and element.endswith("*") and element[:-1].isalpha()


def _norm(key: str) -> str:
    return " ".join(key.strip().lower().replace("ё", "е").split())


@dataclass(slots=True)
class _Raw:
    """Merged, not yet compiled file contents (later files override earlier ones)."""

    words: dict[str, float] = field(default_factory=dict)
    phrases: dict[str, float] = field(default_factory=dict)
    emoji: dict[str, float] = field(default_factory=dict)
    negators: dict[str, float] = field(default_factory=dict)
    intensifiers: dict[str, float] = field(default_factory=dict)
    contrast: set[str] = field(default_factory=set)
    stopwords: dict[str, set[str]] = field(default_factory=dict)
    requests: set[str] = field(default_factory=set)
    sarcasm: set[str] = field(default_factory=set)
    problems: dict[str, str] = field(default_factory=dict)
    urgent: dict[str, str] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    request_topics: dict[str, str] = field(default_factory=dict)
    cues: dict[str, str] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)


def _check_key(name: str, table: str, key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise LexiconError(f"{name}: {table}: empty or non-text key {key!r}")
    norm = _norm(key)
    for element in norm.replace("|", " ").split(" "):
        if is_stem(element) and len(element) - 1 < MIN_STEM_LEN:
            raise LexiconError(
                f"{name}: {table}.{key}: stem {element!r} is shorter than {MIN_STEM_LEN} letters"
            )
    if norm.startswith(GAP) or norm.endswith(GAP):
        raise LexiconError(f"{name}: {table}.{key}: a phrase cannot start or end with {GAP!r}")
    return norm


def _merge_file(raw: _Raw, name: str, data: Mapping[str, object]) -> None:
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise LexiconError(f"{name}: {unknown[0]}: unknown table (known: {sorted(_KNOWN_KEYS)})")
    language = data.get("language")
    if not isinstance(language, str) or not language.strip():
        raise LexiconError(f'{name}: language: required, a language code such as "en" or "any"')
    language = language.strip().lower()
    raw.languages.append(language)
    for table in _FLOAT_TABLES:
        entries = _table(name, data, table)
        target: dict[str, float] = getattr(raw, table)
        for key, value in entries.items():
            norm = _check_key(name, table, key)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if not is_number or not math.isfinite(float(value)):  # type: ignore[arg-type]
                raise LexiconError(f"{name}: {table}.{key}: expected a number, got {value!r}")
            number = float(value)  # type: ignore[arg-type]
            if abs(number) > MAX_VALENCE:
                raise LexiconError(
                    f"{name}: {table}.{key}: {number} is outside [-{MAX_VALENCE}, {MAX_VALENCE}]"
                )
            # a one-word "phrase" is a word: store it there so file order decides overrides
            (raw.words if table == "phrases" and " " not in norm else target)[norm] = number
    for table in _STR_TABLES:
        entries = _table(name, data, table)
        labels: dict[str, str] = getattr(raw, table)
        for key, value in entries.items():
            norm = _check_key(name, table, key)
            if not isinstance(value, str):
                raise LexiconError(f"{name}: {table}.{key}: expected a text label, got {value!r}")
            label = value.strip().lower()
            if table == "cues" and not set(label.split("|")) <= _CUES:
                raise LexiconError(
                    f"{name}: {table}.{key}: unknown cue {value!r} (known: {sorted(_CUES)})"
                )
            labels[norm] = label
    for table in _LIST_TABLES:
        entries = _table(name, data, table)
        extra = set(entries) - {"words"}
        if extra:
            raise LexiconError(f"{name}: {table}.{sorted(extra)[0]}: only 'words' is allowed")
        words = entries.get("words", [])
        if not isinstance(words, list):
            raise LexiconError(f"{name}: {table}.words: expected a list of text")
        normed = set()
        for item in words:
            normed.add(_check_key(name, f"{table}.words", item))
        if table == "stopwords":
            raw.stopwords.setdefault(language, set()).update(normed)
        else:
            target_set: set[str] = getattr(raw, table)
            target_set.update(normed)


def _table(name: str, data: Mapping[str, object], table: str) -> Mapping[str, object]:
    value = data.get(table, {})
    if not isinstance(value, dict):
        raise LexiconError(f"{name}: {table}: expected a table, got {type(value).__name__}")
    return value


class _StemMap:
    """Exact tokens plus stem prefixes; the longest matching stem wins."""

    __slots__ = ("exact", "max_stem", "min_stem", "stems")

    def __init__(self, entries: Mapping[str, float]) -> None:
        self.exact: dict[str, float] = {}
        self.stems: dict[str, float] = {}
        for key, value in entries.items():
            if is_stem(key):
                self.stems[key[:-1]] = value
            else:
                self.exact[key] = value
        self.max_stem = max((len(s) for s in self.stems), default=0)
        self.min_stem = min((len(s) for s in self.stems), default=0)

    def get(self, token: str) -> float | None:
        value = self.exact.get(token)
        if value is not None or not self.stems:
            return value
        stems = self.stems
        upper = min(len(token), self.max_stem)
        lower = max(self.min_stem, len(token) - MAX_STEM_TAIL)
        for end in range(upper, lower - 1, -1):
            value = stems.get(token[:end])
            if value is not None:
                return value
        return None


def matches(matcher: Matcher, token: str) -> bool:
    """Whether a compiled phrase element matches a token (stems absorb a short ending only)."""
    exact, stems = matcher
    if token in exact:
        return True
    for stem in stems:  # noqa: SIM110 - a plain loop beats any() over a generator here
        if token.startswith(stem) and len(token) - len(stem) <= MAX_STEM_TAIL:
            return True
    return False


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """Everything the lexicon knows about one token, computed once and cached."""

    valence: float | None
    negator: float | None
    intensity: float
    contrast: bool
    phrases: tuple[Phrase, ...]
    imperative: bool = False  # a Russian plural/polite imperative: "принесите", "закажите"


EMPTY_ENTRY: Final = TokenEntry(None, None, 0.0, False, ())
# Polite imperatives end in -ите, -йте, -ьте (reflexive: -итесь, -йтесь, -ьтесь).
_IMPERATIVE_ENDINGS: Final = ("ите", "йте", "ьте", "итесь", "йтесь", "ьтесь")
_MIN_IMPERATIVE_LEN: Final = 5
_TRIPLE_RE: Final = re.compile(r"(.)\1\1")
_CACHE_LIMIT: Final = 100_000


class Lexicon:
    """The compiled, merged lexicon. Build it with `Lexicon.load`; it is immutable afterwards
    apart from an internal per-token cache (bounded; concurrent use only risks recomputation)."""

    def __init__(self, raw: _Raw, sources: Sequence[str]) -> None:
        self.sources: tuple[str, ...] = tuple(sources)
        self.languages: tuple[str, ...] = tuple(dict.fromkeys(raw.languages))
        valences = dict(raw.words)
        valences.update(raw.emoji)
        self._valence = _StemMap(valences)
        self._negators = _StemMap(raw.negators)
        self._intensity = _StemMap(raw.intensifiers)
        self._contrast = frozenset(raw.contrast)
        self.stopwords: dict[str, frozenset[str]] = {
            lang: frozenset(words) for lang, words in raw.stopwords.items()
        }
        phrases: list[Phrase] = []
        phrases += [
            Phrase.build(k, PhraseKind.SENTIMENT, v, "") for k, v in raw.phrases.items() if " " in k
        ]
        for kind, table in (
            (PhraseKind.PROBLEM, raw.problems),
            (PhraseKind.URGENT, raw.urgent),
            (PhraseKind.OBJECT, raw.objects),
            (PhraseKind.FAULT, raw.faults),
            (PhraseKind.TOPIC, raw.request_topics),
            (PhraseKind.CUE, raw.cues),
        ):
            phrases += [Phrase.build(k, kind, 0.0, v) for k, v in table.items()]
        phrases += [Phrase.build(k, PhraseKind.REQUEST, 0.0, "") for k in raw.requests]
        phrases += [Phrase.build(k, PhraseKind.SARCASM, 0.0, "") for k in raw.sarcasm]
        # Longest first, so the first full match at a position is the best one.
        phrases.sort(key=_phrase_order)
        self._first_exact: dict[str, list[Phrase]] = {}
        self._first_stem: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            first = phrase.matchers[0]
            assert first is not None  # _check_key rejects a leading GAP
            for form in first[0]:
                self._first_exact.setdefault(form, []).append(phrase)
            for stem in first[1]:
                self._first_stem.setdefault(stem, []).append(phrase)
        self._min_stem_len = min((len(s) for s in self._first_stem), default=MIN_STEM_LEN)
        self._cache: dict[str, TokenEntry] = {}
        self._pair_cache: dict[tuple[str, str], tuple[Phrase, ...]] = {}
        self._index_cache: dict[str, _SecondIndex] = {}
        # Valence stems and phrase-start stems probed together: one dictionary lookup per
        # prefix length of a new token instead of one per table (see `_compute`).
        self._prefixes: dict[str, tuple[float | None, list[Phrase]]] = {}
        for stem, value in self._valence.stems.items():
            self._prefixes[stem] = (value, [])
        for stem, starting in self._first_stem.items():
            self._prefixes[stem] = (self._valence.stems.get(stem), starting)
        self._min_prefix = min((len(s) for s in self._prefixes), default=MIN_STEM_LEN)

    @classmethod
    def load(cls, extra_paths: Sequence[Path] = ()) -> Lexicon:
        """Read the built-in files, then each extra file in order (later ones override).

        Raises `LexiconError` naming the file and key for any unreadable or invalid file."""
        raw = _Raw()
        sources: list[str] = []
        package = importlib.resources.files("hotelbot.domain.rules") / "data"
        for name in BUILTIN_FILES:
            text = (package / name).read_text(encoding="utf-8")
            _merge_file(raw, name, _parse(name, text))
            sources.append(f"builtin:{name}")
        for path in extra_paths:
            name = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise LexiconError(f"{name}: cannot read: {exc}") from exc
            _merge_file(raw, name, _parse(name, text))
            sources.append(name)
        return cls(raw, sources)

    def entry(self, token: str) -> TokenEntry:
        """What the lexicon knows about `token` (lowercased). Cached; never raises."""
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        entry = self._compute(token)
        if entry is EMPTY_ENTRY and len(token) > 3 and _TRIPLE_RE.search(token):
            # "goooood" -> "good", then "waaay" -> "way"
            entry = self._compute(_squeeze(token, 2))
            if entry is EMPTY_ENTRY:
                entry = self._compute(_squeeze(token, 1))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = entry
        return entry

    def knows_russian(self, word: str) -> bool:
        """Whether a lowercase Cyrillic word is a Russian word or stem this lexicon knows."""
        return word in self.stopwords.get("ru", ()) or self.entry(word) is not EMPTY_ENTRY

    def knows_english(self, word: str) -> bool:
        """Whether a lowercase Latin word is an English word this lexicon knows."""
        return word in self.stopwords.get("en", ()) or self.entry(word) is not EMPTY_ENTRY

    def candidates(self, entry: TokenEntry, token: str, following: str) -> tuple[Phrase, ...]:
        """The phrases of `entry` (for `token`) that can still match when the next token is
        `following`: one-word phrases, phrases whose second element matches it, and phrases
        with a gap there. Cached per token pair, so "не" with its hundred phrases costs one
        dict lookup after the first time."""
        key = (token, following)
        found = self._pair_cache.get(key)
        if found is None:
            if len(entry.phrases) > _INDEX_FROM:
                found = self._second_index(token, entry).candidates(following)
            else:
                found = tuple(
                    phrase
                    for phrase in entry.phrases
                    if phrase.length == 1
                    or (second := phrase.matchers[1]) is None
                    or matches(second, following)
                )
            if len(self._pair_cache) >= _CACHE_LIMIT:
                self._pair_cache.clear()
            self._pair_cache[key] = found
        return found

    def _second_index(self, token: str, entry: TokenEntry) -> _SecondIndex:
        index = self._index_cache.get(token)
        if index is None or index.phrases is not entry.phrases:
            index = _SecondIndex(entry.phrases)
            if len(self._index_cache) >= _CACHE_LIMIT:
                self._index_cache.clear()
            self._index_cache[token] = index
        return index

    def _compute(self, token: str) -> TokenEntry:
        # The same answers as `self._valence.get(token)` and a walk over `self._first_stem`,
        # from one probe per prefix length: the longest valence stem wins, and phrases
        # starting with a stem are gathered shortest stem first (the stable sort below then
        # keeps the order the separate walks gave).
        size = len(token)
        valence = self._valence.exact.get(token)
        found: list[Phrase] = list(self._first_exact.get(token, ()))
        stem_valence: float | None = None
        prefixes = self._prefixes
        valence_upper = self._valence.max_stem
        for length in range(max(self._min_prefix, size - MAX_STEM_TAIL), size + 1):
            hit = prefixes.get(token[:length])
            if hit is not None:
                if hit[0] is not None and length <= valence_upper:
                    stem_valence = hit[0]  # a longer one found later wins
                if hit[1]:
                    found += hit[1]
        if valence is None:
            valence = stem_valence
        if valence is None:
            valence = self._negated_prefix(token)
        negator = self._negators.get(token)
        intensity = self._intensity.get(token) or 0.0
        contrast = token in self._contrast
        if len(found) > 1:
            found.sort(key=_phrase_order)
        imperative = is_imperative(token)
        if (
            valence is None
            and negator is None
            and not intensity
            and not contrast
            and not found
            and not imperative
        ):
            return EMPTY_ENTRY
        return TokenEntry(valence, negator, intensity, contrast, tuple(found), imperative)

    def _negated_prefix(self, token: str) -> float | None:
        # "неприятно", "недоволен", "unhelpful", "uncomfortable": a negating prefix on a
        # known word flips it. Only for remainders long enough to be words of their own.
        for prefix in ("не", "un"):
            if token.startswith(prefix) and len(token) - len(prefix) >= 4:
                inner = self._valence.get(token[len(prefix) :])
                if inner is not None:
                    return -inner * 0.8 if inner > 0 else -inner * 0.4
        return None


# Above this many phrases a token's candidates are found through a `_SecondIndex`.
_INDEX_FROM: Final = 8


class _SecondIndex:
    """The phrases of one token, indexed by what their second element accepts, so that the
    candidates for a following token cost a few dictionary lookups instead of a `matches`
    call per phrase ("not" and "не" start more than a hundred phrases each)."""

    __slots__ = ("always", "exact", "min_stem", "phrases", "stems")

    def __init__(self, phrases: tuple[Phrase, ...]) -> None:
        self.phrases = phrases
        self.always: list[int] = []  # one-word phrases and a gap in second place
        self.exact: dict[str, list[int]] = {}
        self.stems: dict[str, list[int]] = {}
        for position, phrase in enumerate(phrases):
            second = phrase.matchers[1] if phrase.length > 1 else None
            if second is None:
                self.always.append(position)
                continue
            for form in second[0]:
                self.exact.setdefault(form, []).append(position)
            for stem in second[1]:
                self.stems.setdefault(stem, []).append(position)
        self.min_stem = min((len(s) for s in self.stems), default=MIN_STEM_LEN)

    def candidates(self, following: str) -> tuple[Phrase, ...]:
        """The phrases, in their own order, that `matches` would keep for `following`."""
        hits = set(self.always)
        hits.update(self.exact.get(following, ()))
        stems = self.stems
        if stems:
            size = len(following)
            for length in range(max(self.min_stem, size - MAX_STEM_TAIL), size + 1):
                more = stems.get(following[:length])
                if more:
                    hits.update(more)
        phrases = self.phrases
        return tuple(phrases[position] for position in sorted(hits))


def is_imperative(token: str) -> bool:
    """Whether a lowercase token has the form of a Russian polite imperative ("принесите",
    "закажите", "поставьте", "свяжитесь"). Form only: "извините" passes too; the lexicon's
    ``not_imperative`` cues name the ones that ask for nothing."""
    return (
        len(token) >= _MIN_IMPERATIVE_LEN
        and "\u0430" <= token[0] <= "\u044f"
        and token.endswith(_IMPERATIVE_ENDINGS)
    )


def _phrase_order(phrase: Phrase) -> tuple[int, bool]:
    """Longest first; at equal length an exact sequence beats one with a gap."""
    return (-phrase.length, GAP in phrase.elements)


def _squeeze(token: str, keep: int) -> str:
    """Collapse runs of a repeated letter to `keep` letters ("goooood" -> "good" for 2)."""
    out: list[str] = []
    for ch in token:
        if len(out) >= keep and all(c == ch for c in out[-keep:]):
            continue
        out.append(ch)
    return "".join(out)


def _parse(name: str, text: str) -> Mapping[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{name}: invalid TOML: {exc}") from exc
