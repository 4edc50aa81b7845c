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

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from hotelbot.domain.attachments import AttachmentError, FileAttachment
from hotelbot.domain.rules.lexicon import Lexicon
from hotelbot.domain.rules.translit import Transliterator


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


def _word_set(*lines: str) -> frozenset[str]:
    """The words of `lines` (a list written as text, one space between words)."""
    return frozenset(" ".join(lines).split())


#
# A message is read clause by clause (split at ? ! . ; , and at "and" / "и"), each clause
# normalised (lower case, "ё" as "е", Russian typed in Latin letters turned into Cyrillic, a
# typo of a topic word mended). A clause *asks* when it ends with "?", starts with a question
# word, or says "tell me" / "подскажите". The message is answered when:
# - as a whole it is a short question and shows no sign of a problem or a request, carries no
#   number of its own, and
# - every asking clause names exactly one topic (or only asks "what time?" of its neighbour),
#   and no asking clause is about something else ("... and is there a gym?" leaves it all to
#   staff): the topics of the asking clauses are the answer, one text per topic.
# A clause that names two topics ("is there wifi by the pool?") is ambiguous: staff.

# Words that name a topic, per language (lower-case; a trailing "*" matches any ending, for
# Russian inflection). A topic matches when one of its words is a word of the clause.
_TOPIC_WORDS: Final[dict[Topic, dict[str, tuple[str, ...]]]] = {
    Topic.WIFI: {
        "en": ("wifi", "wi-fi", "wi fi", "wify", "wlan", "wireless", "internet", "network",
               "password", "get online", "go online", "login", "log in"),
        "ru": ("wifi", "wi-fi", "wi fi", "вайфа*", "вай-фа*", "вай фа*", "интернет*", "пароль*",
               "сеть", "сети", "сетью", "wlan", "логин*"),
    },
    Topic.BREAKFAST: {
        "en": ("breakfast", "breakfasts"),
        "ru": ("завтрак*", "позавтрака*"),
    },
    Topic.CHECK_IN: {
        "en": ("check-in", "check in", "checkin", "check-ins", "checking in", "into the room",
               "into our room", "into my room", "get the room", "get our room", "get my room",
               "get the keys", "get our keys"),
        "ru": ("заселени*", "засел*", "заезд*", "заех*", "въех*", "чекин*", "чек-ин*",
               "получить номер", "получить ключ*"),
    },
    Topic.CHECK_OUT: {
        "en": ("check-out", "check out", "checkout", "check-outs", "checking out",
               "leave the room", "leave our room", "leave my room", "vacate*", "departure day",
               "day of departure", "departure time"),
        "ru": ("выезд*", "выех*", "выезжа*", "выселени*", "выселя*", "выселит*", "чекаут*",
               "чек-аут*",
               "освободить номер", "освобождать номер", "освободить комнату", "расчетн* час*",
               "сдать номер", "день отъезда"),
    },
    Topic.PARKING: {
        "en": ("parking", "car park", "garage", "park the car", "park my car", "park our car",
               "to park", "i park", "we park", "guests park", "can park", "could park",
               "parking lot", "leave the car", "leave my car", "leave our car"),
        "ru": ("парковк*", "паркинг*", "припарков*", "паркова*", "паркуе*", "паркую*", "стоянк*",
               "оставить машин*", "поставить машин*", "оставить авто*", "машиномест*"),
    },
    Topic.POOL: {
        "en": ("pool", "pools", "swimming"),
        "ru": ("бассейн*",),
    },
    Topic.SPA: {
        "en": ("spa", "sauna", "saunas", "massage", "massages", "wellness", "steam room",
               "hammam"),
        "ru": ("спа", "спа-центр*", "саун*", "массаж*", "хаммам*", "баня", "бани", "баню",
               "велнес*", "веллнес*"),
    },
    Topic.TRANSFER: {
        "en": ("transfer", "transfers", "airport shuttle", "shuttle", "shuttles", "airport taxi",
               "taxi to the airport", "taxi from the airport", "airport pick*",
               "pick us up from the airport", "pick-up from the airport",
               "pickup from the airport", "pick us up at the airport"),
        "ru": ("трансфер*", "шаттл*", "такси из аэропорта", "такси в аэропорт",
               "такси до аэропорта", "встречаете в аэропорту", "встретить в аэропорту",
               "встретите в аэропорту"),
    },
    Topic.PETS: {
        "en": ("pet", "pets", "dog", "dogs", "cat", "cats", "pet-friendly", "puppy", "puppies",
               "animal", "animals"),
        "ru": ("животн*", "питом*", "собак*", "собач*", "кошк*", "кошек", "кошеч*", "кот",
               "кота", "котом", "котик*", "котенк*", "щен*"),
    },
    Topic.QUIET_HOURS: {
        "en": ("quiet hours", "quiet time", "quiet period"),
        "ru": ("тихий час", "тихие часы", "часы тишины", "время тишины", "режим тишины",
               "у вас тишина", "тишина с"),
    },
    Topic.ADDRESS: {
        "en": ("address", "directions to the hotel", "directions to you",
               "where is the hotel", "where's the hotel", "where are you located",
               "where exactly are you", "where exactly is the hotel", "hotel located",
               "location of the hotel", "the hotel's location", "your location",
               "where is your hotel", "where's your hotel", "where are you", "what street",
               "which street"),
        "ru": ("адрес*", "где находится отель", "где вы находитесь", "где находится ваш отель",
               "где находится гостиница", "где именно находится отель",
               "где именно находится гостиница", "где расположен отель",
               "где расположена гостиница", "на какой улице", "где ваш отель",
               "где ваша гостиница", "где вы находит*", "геолокаци*", "локаци*"),
    },
}  # fmt: skip

# Getting to or finding the hotel: a verb of the way there and the hotel (not "the old town").
_WAY_TO_HOTEL: Final = {
    "en": re.compile(
        r" (get|go|find|reach|drive|walk|come|getting|finding) (to |back to )?"
        r"(the hotel|your hotel|you|the property|your place) "
    ),
    "ru": re.compile(
        r" (добраться|доехать|дойти|найти|проехать|пройти|добираться|доезжать) "
        r"(до |к )?(вас|отел\w*|гостиниц\w*) |"
        r" (вас|отель|гостиницу) (найти|найду|найдем) |"
        r" (до |к )(вас|вам|отел\w*|гостиниц\w*) (добраться|доехать|дойти|пройти|проехать) "
    ),
}

_QUESTION_WORDS: Final = {
    "en": ("what", "when", "where", "how", "which", "is there", "are there", "do you",
           "does the", "can i", "can we", "could i", "could we", "is it", "is the", "are pets",
           "are dogs", "may i", "may we", "any", "tell me", "i would like to know",
           "what's", "whats", "where's", "till", "until", "until when", "by when", "from what time",
           "by what time", "from when", "is", "are", "do", "does", "did", "should", "would"),
    "ru": ("какой", "какая", "какое", "какие", "каков", "когда", "где", "как", "во сколько",
           "до скольки", "со скольки", "сколько", "есть ли", "можно ли", "можно", "есть",
           "подскажите", "скажите", "а", "ли", "до какого", "с какого", "на каком", "в какое",
           "куда", "вы", "у вас"),
}  # fmt: skip
# Asking words that may stand anywhere in the clause ("Время заселения подскажите").
_ASKING_ANYWHERE: Final = re.compile(
    r" (tell me|let me know|send me|share|remind me|подскаж\w*|скажите|сообщите|напишите|"
    r"уточните|пришлите|отправьте|скиньте|напомните|расскажите) |"
    r" (details|info|information|password|code|address|hours|time|times|детали|данные|логин|"
    r"пароль|адрес|время) (please|pls|плиз|пожалуйста) |"
    r" (password|пароль|адрес) (от|для|of|for) (the )?[\w-]+ (please|pls|плиз|пожалуйста) "
)
# Word order is free in chat and in Russian: "время выезда какое", "завтрак когда",
# "sauna today till what time".
_QUESTION_ANYWHERE: Final = {
    "en": re.compile(r" (what time|till when|until when|how much|how late) "),
    "ru": re.compile(
        r" (какой|какая|какое|какие|когда|где|куда|во сколько|до скольки|со скольки) "
    ),
}
# Words that carry no subject of their own: a clause of only these (and question words)
# neither names a topic nor asks about something else ("Hi!", "Could you tell me,").
_FILLER: Final = _word_set(
    "hi hello hey good morning evening afternoon please pls plz tell me could can would you "
    "i we us know let like to the a an thanks thank ok okay so and also sorry quick question "
    "one more there what when where how which time times hours is are it that this just "
    "dear team much many cost costs price it its they them free long far per night day hour "
    "floor open close closes opens "
    "здравствуйте привет добрый доброе добрая день утро вечер ночь пожалуйста "
    "подскажите скажите подскажете не могли бы вы мне нам а и еще также вопрос спасибо "
    "извините уточните уточнить хотел хотела хотели узнать когда где как во сколько какое "
    "какой какая какие время часы ли есть можно у вас сколько стоит стоят цена это он она оно "
    "они бесплатно сутки ночь час за этаж этаже открыт открыто работает",
)

_FILLER_STEMS: Final = (
    "этаж", "етаж", "стои", "цен", "открыт", "открыва", "закрыва", "работа", "бесплат", "платн",
    "каком", "какое", "какой", "како", "скольк",
)  # fmt: skip


def _is_filler(word: str) -> bool:
    """Whether a word says nothing of its own about what is asked (see `_FILLER`)."""
    return len(word) <= 2 or word in _FILLER or word.startswith(_FILLER_STEMS)


# Signs that the message reports a problem or asks for something to be done: staff take it.
_NOT_A_QUESTION: Final = {
    "en": ("not working", "doesn't work", "does not work", "isn't working", "is not working",
           "don't work", "broken", "no hot", "cold", "dirty", "slow", "keeps", "can't connect",
           "cannot connect", "can not connect", "won't", "doesn't", "didn't", "not ",
           "no one", "nobody", "still", "please fix", "fix", "bring me", "bring us",
           "bring some", "bring extra", "bring more", "bring up", "can you bring",
           "could you bring", "to our room", "to my room", "room service", "send someone",
           "early", "earlier", "late", "later", "safe", "door", "gate", "locker", " tv",
           "complain", "refund", "charged", "noise", "noisy", "book ", "reserve", "order",
           "change my", "cancel", "extend", "we need", "i need", "i want", "help",
           "problem", "issue", "terrible", "awful", "worst", "disappointed", "angry",
           "why", "again", "lost", "stolen", "emergency", "urgent", "asap", "arrange",
           "possible", "tomorrow", "tonight", "in the room ", "for us", "for me", "no ",
           "remind", "how many times", "anyone", "anybody", "someone", "ever ", "always",
           "crowded", "smell", "stink", "drop", "who do i call", "who should i call",
           "confirm", "in writing", "sign us", "sign me", "put us", "put me", "add us",
           "count us", "never", "what now", "what do we do", "what should we do",
           "recommend", "suggest", "in town", "in the city", "wait", "update", "driver",
           "kitchen", "gluten", "coeliac", "celiac", "diet", "dairy",
           # who to turn to, a fine: a problem for staff ("who do I talk to about ...")
           "who do i talk", "who should i talk", "who can i talk", "who do i speak",
           "who can i speak", "who should i speak", "who do i contact", "who should i contact",
           "fined", "a fine ", "parking fine", "penalty", "neighbour", "neighbor", "next door",
           "upstairs", "downstairs", "ask them", "tell them", "ask the ", "tell the ",
           # something went wrong or ran out ("what happened to the eggs, there were none")
           "happened", "none", "ran out", "run out",
           "lactose", "allerg", "vegan", "vegetarian", "halal", "kosher", "high chair",
           "crutch", "stairs", "steps",
           # sub-questions a topic's text rarely answers: payment, luggage, papers,
           # children, accessibility, supplies (staff know)
           "deposit", "cash", "card", "pay", "receipt", "invoice", "bags", "luggage",
           "suitcase", "kids", "children", "child", "baby", "under-", "wheelchair", "towel",
           "van", "only on", "minivan", "motorbike", "motorcycle", "camper", "caravan",
           "trailer", "bus ", "truck", "ev ", "electric car", "charging"),
    "ru": ("не работает", "не работают", "не включается", "сломан", "нет горяч", "холодн",
           "грязн", "медленн", "не могу", "не получается", "не подключа", "не ", "нет ",
           "никто", "до сих пор", "почините", "исправьте", "принесите", "пришлите",
           "жалоб", "верните", "списали", "шум", "шумно", "забронир", "закаж", "заказать",
           "отмен", "продлить", "нужн", "надо", "хочу", "помогите", "проблем", "ужасн",
           "отвратительн", "разочарован", "почему", "опять", "снова", "потерял",
           "украл", "срочно", "ранн", "поздн", "раньше", "позже", "сейф", "двер", "ворот",
           "шкафчик", "телевизор", "возможно", "завтра ", "сегодня вечером", "в номер ",
           "для нас", "для меня", "организуйте", "организовать", "организуй ", "напомн",
           "сколько раз", "сколько можно", "кто-нибудь", "кто нибудь", "кто-то", "всегда",
           "постоянно", "пропада", "пахн", "воня", "вонь", "кому звонить", "починит",
           "подтверд", "письменн", "когда-нибудь", "когда нибудь", "что делать", "что теперь",
           "в городе", "жд", "рано ", "с собой", "собрать", "запиш", "записат", "update", "апдейт",
           "новост",
           "водител", "кухн", "глютен", "целиаки", "лактоз", "аллерг", "веган", "вегетариан",
           "халял", "кошерн", "костыл", "ступен", "лестниц", "безглютен", "безлактоз", "диет",
           "штраф", "кому обратиться", "к кому обратиться", "случил", "закончил", "кончил", "сосед",
           # sub-questions a topic's text rarely answers (see the English list)
           "налич", "карт", "расплат", "чек ", "счет", "вещи", "чемодан", "багаж", "камер",
           "дет", "ребен", "коляск", "полотенц", "пораньше", "оставим", "оставить",
           "минивэн", "микроавтобус", "мотоцикл", "автобус", "автодом", "прицеп", "электромоб",
           "зарядк"),
}  # fmt: skip
# Phrases that contain a sign but ask for information ("the latest check-out time", "во
# сколько нам нужно выехать", "не подскажете"): taken out before the signs are looked for.
_HARMLESS: Final = {
    "en": (
        re.compile(r" (latest|earliest)(?= )"),
        re.compile(r" (?P<keep>how) late(?= )"),
        # asking whether a booking is needed: "do I need to reserve a parking spot?"
        re.compile(r" (do|does|will) (i|we|you|guests) (need|have) to (book|reserve)(?= )"),
        # asking whether one has to: "do I need to come to reception?" (not "we need towels")
        re.compile(r" (do|does|will) (i|we|you|guests) (need|have) to(?= )"),
        # asking to be reminded: "what was the wifi code again?"
        re.compile(r" (?P<keep>what (was|is|were|'s) [\w' -]{1,40}?) again(?= )"),
        re.compile(r" remind me( of)?(?= )"),
        re.compile(r" key ?card(?= )"),
        re.compile(r" (?P<keep>when|time|until when) (do|must|should) (we|i) (need|have) to(?= )"),
    ),
    "ru": (
        re.compile(r" (самое|самый|самая) (раннее|ранний|ранняя|позднее|поздний|поздняя)(?= )"),
        re.compile(r" не (подскажете|подскажите|могли бы)(?= )"),
        re.compile(r" (нужно|надо) ли(?= )"),  # "нужно ли подходить на ресепшен?" asks
        re.compile(r" (?P<keep>(во|до|со) скольки?) можно(?= )"),  # not "сколько можно!"
        re.compile(r" (оставить|поставить) (машин\w*|авто\w*)(?= )"),
        re.compile(r" (въехать|заехать|заселиться|попасть|зайти) в номер(?= )"),
        re.compile(
            r" (пришлите|скиньте|отправьте|напомните)( мне| нам)?( пожалуйста)? "
            r"(?P<keep>адрес|пароль|время|геолокаци\w*|локаци\w*)(?= )"
        ),
        re.compile(
            r" (?P<keep>когда|сколько|времени|скольки) ((нам|мне|завтра|сегодня) ){0,2}"
            r"(нужно|надо)(?= )"
        ),
        # maps, not a bank card: "в картах два места", "на гугл картах"
        re.compile(r" (в|на) ((гугл|google|яндекс|yandex) )?(картах|карте|карты)(?= )"),
        # whether a booking is needed asks about the rule: "парковку нужно бронировать?"
        re.compile(r" (нужно|надо) (ли )?(заранее )?(бронировать|резервировать)(?= )"),
    ),
}
# "When does the spa close tonight?" asks a time: the day named is no request for it.
_TIME_QUESTION: Final = {
    "en": re.compile(
        r" (when|what time|until when|till when|how late|until what time|(opening )?hours) "
    ),
    "ru": re.compile(
        r" (когда|во сколько|до скольки|со скольки|(до|с) какого (времени|часа)|часы работы) "
    ),
}
# Asked with a time, making noise is the quiet hours ("until what time can we play music?",
# "с какого часа нельзя шуметь?"); without one it is no topic ("can you ask them to keep it
# down?" is a complaint), and a time question makes the phrase no sign of a problem.
_NOISE_WORDS: Final = {
    "en": ("make noise", "be loud", "play music", "keep it down", "keep the noise down"),
    "ru": ("можно шуметь", "нельзя шуметь", "шуметь можно", "шуметь нельзя"),
}
# Only the guests themselves between the time and the noise ("until when can we play
# music", not "until when will the neighbours make noise").
_NOISE_WHO: Final = {
    "en": r"((can|may|should|must|do|could) )?(we|i|guests|one|people) "
    r"((be )?(allowed|able) to |have to |need to )?",
    "ru": r"((нам|мне|гостям) )?",
}
_NOISE_ASKED: Final = {
    language: re.compile(
        r"(?P<keep>"
        + _TIME_QUESTION[language].pattern.strip()
        + r") "
        + _NOISE_WHO[language]
        + "("
        + "|".join(words)
        + r")(?= )"
    )
    for language, words in _NOISE_WORDS.items()
}
_DAY_SIGNS: Final = frozenset({"tomorrow", "tonight", "завтра ", "сегодня вечером"})
# A negated English auxiliary, with or without its apostrophe ("dont", "isnt").
_NEGATED: Final = re.compile(
    r" (do|does|did|is|are|was|were|ca|wo|have|has|could|would|should)n'?t "
)

# A Russian imperative asks staff to act ("запишите", "организуйте"); these only ask to be
# told something, or excuse (and "сайте" is a place: "на сайте").
_IMPERATIVE: Final = re.compile(r"^\w{2,}(ите|йте)$")
_ASKING_IMPERATIVES: Final = _word_set(
    "подскажите скажите уточните напишите сообщите извините простите сайте объясните "
    "поясните здравствуйте расскажите",
)

_WORD: Final = re.compile(r"[\w'-]+")
# A question that brings its own number (a time, a room, a date, an amount) proposes or
# checks a value ("check in at 10am?", "в 13:00?") the fact's text may contradict: staff.
_HAS_DIGIT: Final = re.compile(r"\d")
_NUMBERS_EN: Final = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_NUMBERS_RU: Final = (
    "час|два|двух|три|трех|четыре|четырех|пять|пяти|шесть|шести|семь|семи|восемь|восьми|"
    "девять|девяти|десять|десяти|одиннадцать|одиннадцати|двенадцать|двенадцати|полдень|обед"
)
# The same in words: "at two", "around noon", "в два часа", "к обеду".
_TIME_IN_WORDS: Final = {
    "en": re.compile(
        rf" ((at|around|by|till|until|before|after|about) ({_NUMBERS_EN}|noon)|"
        rf"({_NUMBERS_EN}) (o'clock|pm|am|p m|a m)) "
    ),
    "ru": re.compile(rf" (в|к|до|после|около|часа в|часов в) ({_NUMBERS_RU})( |$)"),
}
_SENTENCES: Final = re.compile(r"([?!.;\n]+)")
_CONJUNCTIONS: Final = re.compile(r"\s(?:and|also|plus|и|а также|также)\s", re.IGNORECASE)
_MAX_WORDS: Final = 16
_MAX_WORDS_WITHOUT_MARK: Final = 10
_MIN_FUZZY: Final = 6  # shorter words are not mended ("cat" is no typo of "car")


@functools.cache
def _lexicon() -> Lexicon:
    return Lexicon.load()


@functools.cache
def _topic_vocabulary() -> tuple[frozenset[str], tuple[str, ...]]:
    """The one-word Russian topic words: (whole words, stems of the words ending in "*")."""
    words: set[str] = set()
    stems: set[str] = set()
    for per_language in _TOPIC_WORDS.values():
        for word in per_language.get("ru", ()):
            if " " not in word and re.search("[а-я]", word):
                (stems if word.endswith("*") else words).add(word.rstrip("*"))
    return frozenset(words), tuple(sorted(stems))


def _knows_russian(word: str) -> bool:
    """The lexicon's Russian words and the topic words, so that Russian typed in Latin
    letters reads as a topic even when the lexicon lacks it ("adres", "vaifaya")."""
    words, stems = _topic_vocabulary()
    return _lexicon().knows_russian(word) or word in words or word.startswith(stems)


@functools.cache
def _transliterator() -> Transliterator:
    lexicon = _lexicon()
    return Transliterator(
        _knows_russian,
        lexicon.knows_english,
        lexicon.stopwords.get("ru", frozenset()).__contains__,
    )


@functools.cache
def _known_word(word: str) -> bool:
    lexicon = _lexicon()
    return lexicon.knows_english(word) or lexicon.knows_russian(word)


# Chat spellings read as the words they stand for ("where r u located").
_CHAT: Final = {"u": "you", "r": "are", "ur": "your", "pls": "please", "plz": "please",
                "wat": "what", "wht": "what", "thx": "thanks", "chek": "check",
                "скока": "сколько", "скоко": "сколько", "какои": "какой"}  # fmt: skip


def _normalise(text: str) -> str:
    cleaned = text.casefold().replace("ё", "е").replace("’", "'")
    return " " + " ".join(_CHAT.get(w, w) for w in _WORD.findall(cleaned)) + " "


@functools.cache
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A topic word as a pattern: whole words, a trailing "*" of a word any ending."""
    words = [
        re.escape(w[:-1]) + r"[\w-]*" if w.endswith("*") else re.escape(w) for w in phrase.split()
    ]
    return re.compile(r"\s" + r"\s".join(words) + r"(?=\s)")


def _has_phrase(normalised: str, phrase: str) -> bool:
    return _phrase_pattern(phrase).search(normalised) is not None


def _language_of(normalised: str) -> str:
    cyrillic = sum(1 for ch in normalised if "а" <= ch <= "я")
    latin = sum(1 for ch in normalised if "a" <= ch <= "z")
    return "ru" if cyrillic > latin else "en"


def _read(text: str) -> str:
    """The text as the rules read it: Russian typed in Latin letters in Cyrillic."""
    if re.search("[a-zA-Z]", text) is None:
        return text
    return _transliterator().normalise(text[:300])


def question_language(text: str) -> str:
    """The language the rules read a question in: "ru" for mostly Cyrillic (also Russian
    typed in Latin letters), else "en"."""
    return _language_of(_normalise(_read(text)))


def _kept(match: re.Match[str]) -> str:
    kept = match.groupdict().get("keep")
    return f" {kept} " if kept else " "


def has_problem_sign(text: str) -> bool:
    """Whether `text` reports a problem or asks for something to be done (staff take it)."""
    normalised = _normalise(_read(text))
    language = _language_of(normalised)
    normalised = _NOISE_ASKED[language].sub(_kept, normalised)
    for harmless in _HARMLESS[language]:  # a "keep" group stays: "when", "когда", "адрес"
        normalised = harmless.sub(_kept, normalised)
    if language == "en" and _NEGATED.search(normalised):
        return True
    if language == "ru" and any(
        _IMPERATIVE.search(word) and word not in _ASKING_IMPERATIVES for word in normalised.split()
    ):
        return True  # "запишите нас", "организуйте": a request, whatever it is about
    signs = _NOT_A_QUESTION[language]
    if _TIME_QUESTION[language].search(normalised):
        signs = tuple(sign for sign in signs if sign not in _DAY_SIGNS)
    return any(f" {sign.lstrip()}" in normalised for sign in signs)


# Greetings and politeness that may open a question ("Hi! What...", "Добрый день, где...").
_OPENERS: Final = _word_set(
    "hi hello hey dear good morning evening afternoon day please sorry excuse me so ok okay "
    "здравствуйте привет добрый доброе доброй день утро вечер ночи пожалуйста извините",
)


def _starts_with_question_word(normalised: str, language: str) -> bool:
    words = normalised.split()
    while words and words[0] in _OPENERS:
        words.pop(0)
    normalised = " " + " ".join(words) + " "
    return any(
        normalised.startswith(f" {' '.join(_WORD.findall(w))} ") for w in _QUESTION_WORDS[language]
    )


def looks_like_question(text: str) -> bool:
    """A short message that reads as a question (a question mark or a question word)."""
    if not text or len(text) > 300:
        return False
    normalised = _normalise(_read(text))
    words = normalised.split()
    if len(words) > (_MAX_WORDS if "?" in text else _MAX_WORDS_WITHOUT_MARK):
        return False
    if "?" in text or _ASKING_ANYWHERE.search(normalised):
        return True
    language = _language_of(normalised)
    if _QUESTION_ANYWHERE[language].search(normalised):
        return True  # "завтрак до скольки", "checkout what time"
    return any(
        _starts_with_question_word(_normalise(clause), language)
        for sentence in _SENTENCES.split(_read(text))[::2]
        for clause in _CONJUNCTIONS.split(sentence)
    )


def _one_typo(word: str, target: str) -> bool:
    """Whether `word` is `target` with one letter added or dropped, or two neighbours
    swapped. A changed letter does not count: it joins real words ("message", "massage")."""
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == target[diff[1]]
            and word[diff[1]] == target[diff[0]]
        )
    if abs(len(word) - len(target)) != 1:
        return False
    short, long = (word, target) if len(word) < len(target) else (target, word)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@functools.cache
def _fuzzy_targets(language: str) -> tuple[tuple[str, bool], ...]:
    """(word or stem, is a stem) of every one-word topic word long enough to mend typos of."""
    found: list[tuple[str, bool]] = []
    for words in _TOPIC_WORDS.values():
        for word in words.get(language, ()):
            stem = word.endswith("*")
            bare = word.rstrip("*")
            if " " not in bare and "-" not in bare and len(bare) >= _MIN_FUZZY - stem:
                found.append((bare, stem))
    return tuple(found)


def _mend(normalised: str, language: str) -> str:
    """`normalised` with each unknown word that is one typo away from a topic word (or the
    start of a topic stem) replaced by it: "brekfast", "chekout", "завтарк"."""
    words = normalised.split()
    changed = False
    for index, word in enumerate(words):
        if len(word) < _MIN_FUZZY or not word.isalpha() or _known_word(word):
            continue
        for target, stem in _fuzzy_targets(language):
            if stem:
                hit = next(
                    (
                        word[:n]
                        for n in (len(target) - 1, len(target), len(target) + 1)
                        if word[0] == target[0] and _one_typo(word[:n], target)
                    ),
                    None,
                )
                if hit is not None:
                    words[index] = target + word[len(hit) :]
                    changed = True
                    break
            elif (
                word[0] == target[0]
                and not word.startswith(target)  # "checking" is no typo of "checkin"
                and not target.startswith(word)
                and _one_typo(word, target)
            ):
                words[index] = target
                changed = True
                break
    return " " + " ".join(words) + " " if changed else normalised


def _topics_of(normalised: str, language: str) -> set[Topic]:
    found = {
        topic
        for topic, words in _TOPIC_WORDS.items()
        if any(_has_phrase(normalised, w) for w in words.get(language, ()))
    }
    if _WAY_TO_HOTEL[language].search(normalised):
        found.add(Topic.ADDRESS)
    if _NOISE_ASKED[language].search(normalised):
        found.add(Topic.QUIET_HOURS)
    return found


def match_questions(text: str) -> tuple[Topic, ...]:
    """The topics an information question in `text` asks about, in the order asked; empty
    when the message is not such a question, names no topic, asks something else as well,
    or shows a sign of a problem or a request (rules in the comment above). Pure and
    deterministic."""
    # A quick question is short (a long message is a story: staff read it); each problem
    # sign starts a word ("нет" is a sign, the end of "интернет" is not), and a trailing
    # space in a sign makes it a whole word ("не " is not "нельзя").
    if not looks_like_question(text) or has_problem_sign(text) or _HAS_DIGIT.search(text):
        return ()
    read = _read(text)
    language = _language_of(_normalise(read))
    if _TIME_IN_WORDS[language].search(_normalise(read)):
        return ()
    parts = _SENTENCES.split(read)
    clauses = [
        (clause, index + 1 < len(parts) and "?" in parts[index + 1], index)
        for index in range(0, len(parts), 2)
        for clause in _CONJUNCTIONS.split(parts[index])
    ]  # (clause, its sentence ends with "?", its sentence): "Завтрак включен и есть ли парковка?"
    asked: list[Topic] = []
    unasked: list[Topic] = []
    # A clause that is only a topic ("address and parking info please", "pool and spa
    # opening hours?") shares the question of its sentence: asked when a clause of that
    # sentence asks, so the answer covers every topic named and never only some of them.
    bare: dict[int, list[Topic]] = {}
    asking_sentences: set[int] = set()
    for raw, ends_with_mark, sentence in clauses:
        clause = _mend(_normalise(raw), language)
        if not clause.strip():
            continue
        asking = (
            ends_with_mark
            or _starts_with_question_word(clause, language)
            or _ASKING_ANYWHERE.search(clause) is not None
            or _QUESTION_ANYWHERE[language].search(clause) is not None
        )
        topics = _topics_of(clause, language)
        if topics == {Topic.PETS, Topic.CHECK_IN}:
            topics = {Topic.PETS}  # "можно заселиться с котом?" asks about the cat
        if len(topics) > 1:
            return ()  # "is there wifi by the pool?": which one is asked about?
        if asking:
            asking_sentences.add(sentence)
            asked.extend(topics)
        elif topics and _only_topic(clause, language):
            bare.setdefault(sentence, []).extend(topics)
        else:
            unasked.extend(topics)
        if asking and not topics and not all(map(_is_filler, clause.split())):
            return ()  # "... and is there a gym?": a question the facts do not cover
    for sentence, named in bare.items():
        (asked if sentence in asking_sentences else unasked).extend(named)
    if not asked and len(set(unasked)) == 1:
        asked = unasked  # "Breakfast, what time?": the question word stands apart
    return tuple(dict.fromkeys(asked))


def _only_topic(clause: str, language: str) -> bool:
    """Whether `clause` says nothing but the name of a topic (and filler words)."""
    rest = clause
    for words in _TOPIC_WORDS.values():
        for word in words.get(language, ()):
            rest = _phrase_pattern(word).sub(" ", rest)
    return all(map(_is_filler, rest.split()))


def match_question(text: str) -> Topic | None:
    """The one topic an information question in `text` asks about, or None (not a question,
    no topic, several topics, or a sign of a problem or a request). See `match_questions`."""
    topics = match_questions(text)
    return topics[0] if len(topics) == 1 else None
