"""What the labels in the lexicon files mean: attention categories, emergency kinds and cues.

A label in ``[problems]``, ``[urgent]``, ``[objects]``, ``[faults]`` or ``[actions]`` is either
a detail ("hot water", "towels") or a category and a detail ("housekeeping_item: towels").
Without a category the detail decides through `DETAIL_CATEGORY` (the built-in details), and
otherwise the table's default applies (a complaint for problems, OTHER for actions).

``[cues]`` labels are one of the `Cue` values: they never need attention on their own, they
steer how the findings are read ("where is..." asks for information, "fixed now" reports a
problem as solved, "rain" is outside the hotel).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from hotelbot.domain.categories import AttentionCategory, EmergencyKind, parse_category

__all__ = [
    "DETAIL_CATEGORY",
    "EMERGENCY_KINDS",
    "WEAK",
    "Cue",
    "split_label",
]


class Cue(StrEnum):
    """Words and phrases that steer the reading of a sentence or a message."""

    STAFF = "staff"  # addresses staff: "could you", "please", "прошу", "можете"
    ASK = "ask"  # the guest asks whether something is possible: "can I", "можно", "is it possible"
    NEED = "need"  # "I need", "we'd like", "нужно", "хотим": a want stated as a fact
    IMPERATIVE = "imperative"  # a verb that orders at the start of a sentence: "bring", "book"
    NOT_IMPERATIVE = "not_imperative"  # "-ите" words that order nothing: "извините", "здравствуйте"
    INFO = "info"  # asks for a fact: "what time", "how far", "во сколько", "до скольки"
    TELL = "tell"  # asks to be told: "tell me", "recommend", "подскажите" (a request may follow)
    ALTERNATIVE = "alternative"  # "or should we", "или лучше": weighing options, asking a fact
    QUESTION = "question"  # a question word: "where", "what time", "how far", "есть ли", "где"
    SELF = "self"  # the guest's own action: "walk", "my own", "с собой", "курить"
    OPENER = "opener"  # words that do not start the sentence's content: "hi", "please", "so"
    RESOLVED = "resolved"  # a problem reported as solved: "fixed now", "починили"
    DENIAL = "denial"  # "no complaints", "nothing is wrong", "никаких проблем"
    OUTSIDE = "outside"  # weather, traffic, flights, the city: not the hotel's to fix
    LEAVING = "leaving"  # sad to leave: "last day", "уезжаем", "miss you"
    RHETORICAL = "rhetorical"  # "is this normal?", "how hard is it", "сколько можно"
    PING = "ping"  # "hello?", "anyone there", "ау", "алло": a bare ping when alone
    AGO = "ago"  # a wait counted: "ago", "already", "уже", "назад", "for two hours"
    NOW = "now"  # "now", "сейчас": an ordered time compared with the time now
    REMINDER = "reminder"  # "as I asked", "reminder", "напоминаю", "ещё раз"
    DISCREPANCY = "discrepancy"  # "instead of", "we agreed", "вместо", "договаривались"
    MONEY = "money"  # a charge or a payment: "charged", "bill", "списали", "счет"
    CURRENCY = "currency"  # "eur", "$", "руб": marks a number as an amount
    TIME_UNIT = "time_unit"  # "hours", "minutes", "часа", "минут"
    VERSUS = "versus"  # "whereas", "а", "хотя": two facts set against each other
    CLOCK = "clock"  # "am", "pm", "утра", "вечера": the number before it is a time of day
    AGAIN = "again"  # "again", "still", "опять", "снова": a solved problem is back
    THANKS = "thanks"  # "thank you", "спасибо": gratitude
    NOTICE = "notice"  # the guest tells their plans: "we arrive around 6 pm", "приедем к вечеру"


# A request topic label starting with this belongs to a verb ("book"): it names the category
# only when nothing else in the sentence does ("book a taxi" is transport).
WEAK: Final = "~"

# The details used by the built-in files, and the category each belongs to.
DETAIL_CATEGORY: Final[dict[str, AttentionCategory]] = {
    "billing": AttentionCategory.BILLING,
    "staff": AttentionCategory.STAFF_CONDUCT,
    "privacy": AttentionCategory.STAFF_CONDUCT,
    "waiting": AttentionCategory.FOLLOW_UP,
    "no response": AttentionCategory.FOLLOW_UP,
    "reminder": AttentionCategory.FOLLOW_UP,
    "hazard": AttentionCategory.SAFETY,
    "late checkout": AttentionCategory.STAY_CHANGE,
    "early check-in": AttentionCategory.STAY_CHANGE,
    "extension": AttentionCategory.STAY_CHANGE,
    "room change": AttentionCategory.STAY_CHANGE,
    "upgrade": AttentionCategory.STAY_CHANGE,
    "luggage": AttentionCategory.STAY_CHANGE,
    "bedding": AttentionCategory.HOUSEKEEPING_ITEM,
    "towels": AttentionCategory.HOUSEKEEPING_ITEM,
    "amenities": AttentionCategory.HOUSEKEEPING_ITEM,
    "cleaning": AttentionCategory.HOUSEKEEPING_ITEM,
    "baby cot": AttentionCategory.SPECIAL_NEED,
    "transport": AttentionCategory.TRANSPORT,
    "reservation": AttentionCategory.BOOKING,
    "wake-up call": AttentionCategory.OTHER,
    "room service": AttentionCategory.OTHER,
    "food": AttentionCategory.OTHER,
    "parking": AttentionCategory.OTHER,
}

# `[urgent]` details and the emergency each names. Details missing here are urgent without
# being an emergency ("urgent request": hurry, the category comes from the rest).
EMERGENCY_KINDS: Final[dict[str, EmergencyKind]] = {
    "fire": EmergencyKind.FIRE,
    "smoke": EmergencyKind.FIRE,
    "gas": EmergencyKind.GAS,
    "flood": EmergencyKind.FLOOD,
    "leak": EmergencyKind.FLOOD,
    "intruder": EmergencyKind.INTRUDER,
    "security": EmergencyKind.INTRUDER,
    "theft": EmergencyKind.THEFT,
    "assault": EmergencyKind.ASSAULT,
    "harassment": EmergencyKind.ASSAULT,
    "medical": EmergencyKind.MEDICAL,
    "help": EmergencyKind.HELP,
    "missing person": EmergencyKind.HELP,  # a lost child: not a bare call for help
    "trapped": EmergencyKind.HELP,
    "emergency": EmergencyKind.HELP,
    "lift": EmergencyKind.HELP,
}


def split_label(label: str) -> tuple[AttentionCategory | None, str]:
    """("category", "detail") of a lexicon label; the category is None when the label names
    none ("towels") or names an unknown one. "booking: spa" gives (BOOKING, "spa")."""
    head, sep, tail = label.removeprefix(WEAK).partition(":")
    if sep:
        category = parse_category(head)
        if category is not None:
            return category, tail.strip() or category.value.replace("_", " ")
    label = label.removeprefix(WEAK)
    return DETAIL_CATEGORY.get(label), label
