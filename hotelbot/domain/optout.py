"""Opt-out and opt-in keywords (STOP / START) and their confirmation texts.

A guest opts out by sending a message whose *whole* content is a stop intent ("STOP",
"стоп", "unsubscribe", "не пишите мне", "Stop messages please!"). A message that merely
contains the word ("the water won't stop leaking") is an ordinary message. Opting out stops
automated messages only; staff can still answer the guest, and the guest can still write.

Matching: case-insensitive, "ё" = "е", punctuation and emoji ignored, politeness words
("please", "thanks", "пожалуйста", "спасибо") ignored at either end, immediate repeats
("stop stop") collapsed; the remaining words must then equal one of the phrases below.
Long messages are never keywords.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final, Literal

KeywordIntent = Literal["stop", "start"]

_MAX_WORDS: Final = 6

STOP_PHRASES: Final = frozenset(
    {
        # English
        "stop",
        "stop all",
        "stop messages",
        "stop messaging",
        "stop messaging me",
        "stop sending",
        "stop sending messages",
        "stop sending me messages",
        "stop texting",
        "stop texting me",
        "stop the messages",
        "unsubscribe",
        "unsubscribe me",
        "unsub",
        "opt out",
        "optout",
        "no more messages",
        "don t message me",
        "do not message me",
        "don t text me",
        "do not text me",
        "don t write to me",
        "do not write to me",
        # Russian
        "стоп",
        "отписаться",
        "отписка",
        "отпишите",
        "отпишите меня",
        "отписаться от рассылки",
        "не пишите",
        "не пишите мне",
        "не пишите больше",
        "больше не пишите",
        "больше не пишите мне",
        "не присылайте сообщения",
        "не присылайте мне сообщения",
        "хватит писать",
        "хватит присылать",
        "прекратите рассылку",
        "стоп рассылка",
        "не беспокоить",
        # Other common spellings
        "stopp",
    }
)
START_PHRASES: Final = frozenset(
    {
        "start",
        "start messages",
        "unstop",
        "resume",
        "subscribe",
        "resubscribe",
        "opt in",
        "optin",
        "старт",
        "подписаться",
        "возобновить",
        "возобновить рассылку",
    }
)
_POLITE_WORDS: Final = frozenset(
    {"please", "pls", "plz", "thanks", "thank you", "пожалуйста", "спасибо"}
)

_NON_WORD: Final = re.compile(r"[^\w\s]+")


def _normalise(text: str) -> str:
    lowered = text.casefold().replace("ё", "е").replace("_", " ")
    return " ".join(_NON_WORD.sub(" ", lowered).split())


def _strip_polite(words: list[str]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        for polite in _POLITE_WORDS:
            p = polite.split(" ")
            if words[: len(p)] == p:
                words, changed = words[len(p) :], True
            elif len(words) > len(p) and words[-len(p) :] == p:
                words, changed = words[: -len(p)], True
    return words


def classify_keyword(text: str) -> KeywordIntent | None:
    """ "stop" or "start" when the whole message is that intent, else None. Pure."""
    words = _normalise(text).split(" ")
    # "STOP STOP STOP" is an emphatic stop: collapse immediate repeats first.
    words = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    if len(words) > _MAX_WORDS + 2:
        return None
    phrase = " ".join(_strip_polite(words))
    if not phrase or len(phrase.split(" ")) > _MAX_WORDS:
        return None
    if phrase in STOP_PHRASES:
        return "stop"
    if phrase in START_PHRASES:
        return "start"
    return None


_CONFIRMATIONS: Final[dict[str, dict[KeywordIntent, str]]] = {
    "en": {
        "stop": (
            "You will no longer receive automated messages from us. "
            "Reply START to turn them back on. You can still write to us here at any time."
        ),
        "start": ("Automated messages are on again. Reply STOP at any time to turn them off."),
    },
    "ru": {
        "stop": (
            "Вы больше не будете получать автоматические сообщения от нас. "
            "Чтобы снова их получать, напишите СТАРТ. Писать нам здесь можно в любое время."
        ),
        "start": (
            "Автоматические сообщения снова включены. "
            "Чтобы отключить их, напишите СТОП в любое время."
        ),
    },
}
FALLBACK_LANGUAGE: Final = "en"

_CYRILLIC: Final = re.compile(r"[\u0400-\u04ff]")


def confirmation_language(text: str, guest_language: str | None) -> str:
    """The language to confirm in: Russian if the keyword itself was written in Cyrillic
    (a guest who wrote "СТОП" reads Russian), else the guest's language."""
    if _CYRILLIC.search(text):
        return "ru"
    return guest_language or FALLBACK_LANGUAGE


def confirmation_text(intent: KeywordIntent, language: str | None) -> str:
    """The reply confirming `intent` in `language` ("en", "ru", "ru-RU"); English otherwise."""
    primary = (language or FALLBACK_LANGUAGE).strip().lower().replace("_", "-").split("-")[0]
    texts = _CONFIRMATIONS.get(primary, _CONFIRMATIONS[FALLBACK_LANGUAGE])
    return texts[intent]


def confirmation_key(intent: KeywordIntent, chat_id: str, local_day: date) -> str:
    """The outbox idempotency key of a STOP/START confirmation: one per guest, intent and
    hotel-local day. A guest who sends STOP a thousand times gets one confirmation that day
    (the opt-out itself applies at the first); STOP then START still confirms each."""
    return f"keyword:{intent}:{local_day.isoformat()}:{chat_id}"


def opt_state_after(
    opted_out: bool, opted_out_at: datetime | None, keyword: KeywordIntent | None, at: datetime
) -> tuple[bool, datetime | None]:
    """A guest's (opted_out, opted_out_at) after a message at `at` whose keyword intent is
    `keyword`: STOP opts out (the first STOP's time is kept), START opts back in, anything
    else changes nothing. Staff answers and other routes never change it."""
    if keyword == "stop" and not opted_out:
        return True, at
    if keyword == "start" and opted_out:
        return False, None
    return opted_out, opted_out_at
