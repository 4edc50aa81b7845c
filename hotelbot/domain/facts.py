"""A hotel's own facts (Wi-Fi, breakfast, check-in times ...) and the rule that answers a
guest's information question from them.

The facts come from a TOML file the hotel writes (`parse_facts`), one table per topic with a
text per language::

    mode = "rules"                 # off | rules (default rules)

    [wifi]
    en = "Network GrandRiga-Guest, password sea-breeze-42."
    ru = "Сеть GrandRiga-Guest, пароль sea-breeze-42."

    [breakfast]
    en = "Breakfast is 7:00-10:30 in the Garden Room, ground floor."
    file_url = "https://hotel.example/menu.pdf"   # optional: a file sent after the answer
    file_name = "menu.pdf"

Topics are fixed (`Topic`); an unknown table, an empty text or a bad language code is an
error naming the table and what to fix, so a typo never silently disables an answer.

`match_question` decides, by rules only, whether a message is an *information question*
about exactly one topic: it must read as a question (a question mark or a question word of
its language), name the topic with one of the topic's words, carry no number of its own
(a time, a room, an amount: "can we check in at 10am?"), and contain no sign of a
problem or a request for action ("does not work", "bring", "please fix"). Anything
ambiguous (two topics, no question form, a complaint) gives None: the message is left to
staff. The caller also never answers a message the sentiment stage flagged for staff.
Pure; English and Russian.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from hotelbot.domain.attachments import AttachmentError, FileAttachment


class FactsError(ValueError):
    """The facts file is not valid; `problems` lists every problem, each with its place."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


class FactsMode(StrEnum):
    """Per hotel: no automatic answers; answers by the rules; or by the rules and, for the
    questions they do not recognise, by the LLM grounded on the facts (when configured)."""

    OFF = "off"
    RULES = "rules"
    LLM = "llm"


class Topic(StrEnum):
    WIFI = "wifi"
    BREAKFAST = "breakfast"
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    PARKING = "parking"
    POOL = "pool"
    SPA = "spa"
    TRANSFER = "transfer"
    PETS = "pets"
    QUIET_HOURS = "quiet_hours"
    ADDRESS = "address"


_LANGUAGE: Final = re.compile(r"^[a-z]{2}(-[a-z0-9]{2,8})?$")
MAX_FACT_CHARS: Final = 2000


@dataclass(frozen=True, slots=True)
class HotelFacts:
    """The parsed facts: mode and, per topic, the answer text per language."""

    mode: FactsMode
    answers: Mapping[Topic, Mapping[str, str]]
    files: Mapping[Topic, FileAttachment] = field(default_factory=dict)

    def answer(self, topic: Topic, languages: tuple[str, ...]) -> tuple[str, str] | None:
        """(language, text) of the first of `languages` (or its primary subtag) the topic has
        a text in; None when the topic is unknown or has none of them."""
        texts = self.answers.get(topic)
        if not texts:
            return None
        for language in languages:
            for code in (language.lower(), language.lower().split("-")[0]):
                if code in texts:
                    return code, texts[code]
        return None

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode.value,
            "answers": {
                t.value: {**texts, **_file_keys(self.files.get(t))}
                for t, texts in self.answers.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> HotelFacts:
        answers = data.get("answers")
        if not isinstance(answers, Mapping):
            raise FactsError(["stored facts have no answers table"])
        return _build(str(data.get("mode", "rules")), answers, where="stored facts")


def _file_keys(file: FileAttachment | None) -> dict[str, str]:
    return {} if file is None else {"file_url": file.url, "file_name": file.file_name}


def parse_facts(text: str, *, where: str = "facts file") -> HotelFacts:
    """Parse and validate a facts TOML file. Raises FactsError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FactsError([f"{where}: not valid TOML ({exc})"]) from None
    mode = data.pop("mode", "rules")
    data.pop("version", None)  # the hotel's own note; hotelbot numbers imports itself
    return _build(mode, data, where=where)


def _build(mode: object, tables: Mapping[str, object], *, where: str) -> HotelFacts:
    problems: list[str] = []
    try:
        parsed_mode = FactsMode(str(mode))
    except ValueError:
        problems.append(f"{where}: mode {mode!r}: use 'off', 'rules' or 'llm'")
        parsed_mode = FactsMode.OFF
    answers: dict[Topic, dict[str, str]] = {}
    files: dict[Topic, FileAttachment] = {}
    topics = ", ".join(t.value for t in Topic)
    for name, table in tables.items():
        try:
            topic = Topic(name)
        except ValueError:
            problems.append(f"{where}: [{name}] is not a topic; topics are: {topics}")
            continue
        if not isinstance(table, Mapping) or not table:
            problems.append(f'{where}: [{name}] needs texts per language, e.g. en = "..."')
            continue
        file_url, file_name = table.get("file_url"), table.get("file_name")
        if file_url is not None or file_name is not None:
            try:
                if not isinstance(file_url, str) or not isinstance(file_name, str):
                    raise AttachmentError("give file_url and file_name together")
                files[topic] = FileAttachment(file_url, file_name)
            except AttachmentError as exc:
                problems.append(f"{where}: [{name}] file: {exc}")
        texts: dict[str, str] = {}
        for code, value in table.items():
            if code in ("file_url", "file_name"):
                continue
            if not _LANGUAGE.match(str(code)):
                problems.append(f"{where}: [{name}] {code!r} is not a language code (en, ru)")
            elif not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: [{name}] {code} is empty; write the answer text")
            elif len(value) > MAX_FACT_CHARS:
                problems.append(f"{where}: [{name}] {code} is over {MAX_FACT_CHARS} characters")
            else:
                texts[str(code)] = " ".join(value.split())
        answers[topic] = texts
    if problems:
        raise FactsError(problems)
    return HotelFacts(parsed_mode, answers, files)


# --- recognising an information question -----------------------------------------------------

# Words that name a topic, per language (lower-case; a trailing "*" matches any ending, for
# Russian inflection). A topic matches when one of its words is a word of the message.
_TOPIC_WORDS: Final[dict[Topic, dict[str, tuple[str, ...]]]] = {
    Topic.WIFI: {
        "en": ("wifi", "wi-fi", "wi fi", "wireless", "internet", "network password",
               "wifi password", "password"),
        "ru": ("wifi", "wi-fi", "вайфай", "вай-фай", "вайфая", "интернет*", "пароль*", "сеть",
               "wi fi"),
    },
    Topic.BREAKFAST: {
        "en": ("breakfast", "breakfasts"),
        "ru": ("завтрак*",),
    },
    Topic.CHECK_IN: {
        "en": ("check-in", "check in", "checkin"),
        "ru": ("заселени*", "заезд*", "заселиться", "заселят", "въезд*"),
    },
    Topic.CHECK_OUT: {
        "en": ("check-out", "check out", "checkout"),
        "ru": ("выезд*", "выселени*", "освободить номер"),
    },
    Topic.PARKING: {
        "en": ("parking", "car park", "garage", "park the car", "park my car", "park our car",
               "where can i park", "where can we park", "can i park", "can we park"),
        "ru": ("парковк*", "паркинг*", "припарковать*", "парковаться", "стоянк*"),
    },
    Topic.POOL: {
        "en": ("pool", "swimming"),
        "ru": ("бассейн*",),
    },
    Topic.SPA: {
        "en": ("spa", "sauna", "massage", "wellness"),
        "ru": ("спа", "сауна*", "сауну", "массаж*", "хаммам*"),
    },
    Topic.TRANSFER: {
        "en": ("transfer", "airport shuttle", "shuttle", "airport taxi", "taxi to the airport",
               "pick us up from the airport", "pick-up from the airport"),
        "ru": ("трансфер*", "из аэропорта", "в аэропорт", "до аэропорта"),
    },
    Topic.PETS: {
        "en": ("pet", "pets", "dog", "dogs", "cat", "cats", "pet-friendly"),
        "ru": ("животн*", "питом*", "собак*", "кошк*", "кошек", "кот", "котом"),
    },
    Topic.QUIET_HOURS: {
        "en": ("quiet hours", "quiet time"),
        "ru": ("тихий час", "тихие часы", "часы тишины", "время тишины"),
    },
    Topic.ADDRESS: {
        "en": ("address", "directions to the hotel", "directions to you",
               "how do i get to the hotel", "how do we get to the hotel", "how to get to the hotel",
               "how do i get to you", "how do we get to you", "how to get to you",
               "where is the hotel", "where are you located", "where exactly are you"),
        "ru": ("адрес*", "как добраться до отеля", "как до вас добраться", "как к вам добраться",
               "как доехать до отеля", "как к вам доехать", "как до вас доехать",
               "где находится отель", "где вы находитесь", "где находится ваш отель"),
    },
}  # fmt: skip

_QUESTION_WORDS: Final = {
    "en": ("what", "when", "where", "how", "which", "is there", "are there", "do you",
           "does the", "can i", "can we", "could i", "could we", "is it", "is the", "are pets",
           "are dogs", "may i", "may we", "any", "tell me", "i would like to know",
           "what's", "whats", "where's", "till", "until", "until when", "from what time"),
    "ru": ("какой", "какая", "какое", "какие", "когда", "где", "как", "во сколько",
           "до скольки", "со скольки", "сколько", "есть ли", "можно ли", "можно", "есть",
           "подскажите", "скажите", "а", "ли", "во сколько"),
}  # fmt: skip

# Signs that the message reports a problem or asks for something to be done: staff take it.
_NOT_A_QUESTION: Final = {
    "en": ("not working", "doesn't work", "does not work", "isn't working", "is not working",
           "don't work", "broken", "no hot", "cold", "dirty", "slow", "keeps", "can't connect",
           "cannot connect", "can not connect", "won't", "doesn't", "didn't", "not ",
           "no one", "nobody", "still", "please fix", "fix", "bring me", "bring us",
           "bring some", "bring extra", "bring more", "bring up", "can you bring",
           "could you bring", "to our room", "to my room", "room service", "send someone",
           "early", "earlier", "late", "later", "safe", "door", "gate", "locker", " tv",
           "complain", "refund", "charged", "noise", "noisy", "book", "reserve", "order",
           "change my", "cancel", "extend", "we need", "i need", "i want", "help",
           "problem", "issue", "terrible", "awful", "worst", "disappointed", "angry",
           "why", "again", "lost", "stolen", "emergency", "urgent", "asap", "arrange",
           "possible", "tomorrow", "tonight", "in the room ", "for us", "for me", "no ",
           "reserve", "remind",
           # sub-questions a topic's text rarely answers: payment, luggage, papers,
           # children, accessibility, supplies (staff know)
           "deposit", "cash", "card", "pay", "receipt", "invoice", "bags", "luggage",
           "suitcase", "kids", "children", "child", "baby", "under-", "wheelchair", "towel",
           "van", "only on"),
    "ru": ("не работает", "не работают", "не включается", "сломан", "нет горяч", "холодн",
           "грязн", "медленн", "не могу", "не получается", "не подключа", "не ", "нет ",
           "никто", "до сих пор", "почините", "исправьте", "принесите", "пришлите",
           "жалоб", "верните", "списали", "шум", "шумно", "забронир", "закаж", "заказать",
           "отмен", "продлить", "нужн", "хочу", "помогите", "проблем", "ужасн",
           "отвратительн", "разочарован", "почему", "опять", "снова", "потерял",
           "украл", "срочно", "ранн", "поздн", "раньше", "позже", "сейф", "двер", "ворот",
           "шкафчик", "телевизор", "возможно", "завтра ", "сегодня вечером", "в номер ",
           "для нас", "для меня", "организ", "напомн",
           # sub-questions a topic's text rarely answers (see the English list)
           "налич", "карт", "расплат", "чек ", "счет", "вещи", "чемодан", "багаж", "камер",
           "дет", "ребен", "коляск", "полотенц", "пораньше", "оставим", "оставить"),
}  # fmt: skip

_WORD: Final = re.compile(r"[\w'-]+")
# A question that brings its own number (a time, a room, a date, an amount) proposes or
# checks a value ("check in at 10am?", "в 13:00?") the fact's text may contradict: staff.
_HAS_DIGIT: Final = re.compile(r"\d")
_MAX_WORDS: Final = 16
_MAX_WORDS_WITHOUT_MARK: Final = 8


def _normalise(text: str) -> str:
    cleaned = text.casefold().replace("ё", "е").replace("’", "'")
    return " " + " ".join(_WORD.findall(cleaned)) + " "


def _has_phrase(normalised: str, phrase: str) -> bool:
    if phrase.endswith("*"):
        return re.search(rf"\s{re.escape(phrase[:-1])}\w*\s", normalised) is not None
    return f" {' '.join(_WORD.findall(phrase))} " in normalised


def _language_of(normalised: str) -> str:
    cyrillic = sum(1 for ch in normalised if "а" <= ch <= "я")
    latin = sum(1 for ch in normalised if "a" <= ch <= "z")
    return "ru" if cyrillic > latin else "en"


def question_language(text: str) -> str:
    """The language the rules read a question in: "ru" for mostly Cyrillic, else "en"."""
    return _language_of(_normalise(text))


def has_problem_sign(text: str) -> bool:
    """Whether `text` reports a problem or asks for something to be done (staff take it)."""
    normalised = _normalise(text)
    signs = _NOT_A_QUESTION[_language_of(normalised)]
    return any(f" {sign.lstrip()}" in normalised for sign in signs)


def looks_like_question(text: str) -> bool:
    """A short message that reads as a question (a question mark or a question word)."""
    if not text or len(text) > 300:
        return False
    normalised = _normalise(text)
    words = normalised.split()
    if len(words) > (_MAX_WORDS if "?" in text else _MAX_WORDS_WITHOUT_MARK):
        return False
    return "?" in text or any(
        normalised.startswith(f" {' '.join(_WORD.findall(w))} ")
        for w in _QUESTION_WORDS[_language_of(normalised)]
    )


def match_question(text: str) -> Topic | None:
    """The one topic an information question in `text` asks about, or None (not a question,
    no topic, several topics, or a sign of a problem or a request). Rules in the module
    docstring. Pure and deterministic."""
    # A quick question is short (a long message is a story: staff read it); each problem
    # sign starts a word ("нет" is a sign, the end of "интернет" is not), and a trailing
    # space in a sign makes it a whole word ("не " is not "нельзя").
    if not looks_like_question(text) or has_problem_sign(text) or _HAS_DIGIT.search(text):
        return None
    normalised = _normalise(text)
    language = _language_of(normalised)
    found = {
        topic
        for topic, words in _TOPIC_WORDS.items()
        if any(_has_phrase(normalised, w) for w in words.get(language, ()))
    }
    # "Is check-in at 3 and check-out at 11?" names two topics: staff answer that one.
    return next(iter(found)) if len(found) == 1 else None


def match_questions(text: str) -> tuple[Topic, ...]:
    """The topics an information question in `text` asks about (empty: none, staff)."""
    topic = match_question(text)
    return () if topic is None else (topic,)
