"""The starter set: the four messages the README promises, ready for a new hotel.

`hotelbot trigger add-defaults SLUG` adds them switched off; the operator previews each one
(`trigger preview`), adapts the text (`trigger edit --text`) or the time (`--when`) and
switches it on (`trigger enable`). Nothing here touches a database: these are plain values,
checked by the same parser and template rules as an operator's own trigger (the tests
parse and validate every one).

Timing, chosen from what hotels' messaging tools do by default (docs/scheduling.md):

* welcome: at the stay's check-in time (the hotel default when the stay has none);
* mid-stay check: the morning after arrival, 11:00, after breakfast and before the day's
  plans, so a problem is heard while it can still be fixed; only for stays of two nights or
  more (after one night that morning is the check-out);
* checkout reminder: the evening before check-out, 19:00, outside the default quiet hours;
* review request: four hours after check-out, once the guest has travelled on.

Texts exist in English and Russian; `starter_template` keeps the languages the operator
asks for and falls back to the hotel's default language when it is one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from hotelbot.domain.templates import Template


@dataclass(frozen=True, slots=True)
class StarterTrigger:
    """One message of the starter set: a trigger name, when (trigger grammar) and texts per
    language (template syntax)."""

    name: str
    purpose: str
    when: str
    texts: dict[str, str]
    conditions: tuple[str, ...] = ()


STARTER_SET: Final[tuple[StarterTrigger, ...]] = (
    StarterTrigger(
        name="welcome",
        purpose="welcome at check-in",
        when="at check-in grace 2h",
        texts={
            "en": "Welcome to {hotel_name}, {first_name}! We are glad to have you with us "
            "until {check_out}. If you need anything, just write to us here.",
            "ru": "Добро пожаловать в {hotel_name}, {first_name}! Мы рады, что вы с нами до "
            "{check_out}. Если что-то понадобится, просто напишите нам сюда.",
        },
    ),
    StarterTrigger(
        name="mid-stay",
        purpose="mid-stay check the morning after arrival",
        when="1d after check-in at 11:00 grace 3h",
        conditions=("nights >= 2",),
        texts={
            "en": "Good morning, {first_name}! How is your stay so far? If anything is not "
            "as it should be, tell us and we will fix it.",
            "ru": "Доброе утро, {first_name}! Как вам у нас? Если что-то не так, напишите, "
            "и мы всё исправим.",
        },
    ),
    StarterTrigger(
        name="checkout-reminder",
        purpose="checkout reminder the evening before",
        when="1d before check-out at 19:00 grace 2h",
        texts={
            "en": "{first_name}, a reminder: check-out is tomorrow, {check_out}, by "
            "{check_out_time}. Need a late check-out or a taxi? Just reply here.",
            "ru": "{first_name}, напоминаем: выезд завтра, {check_out}, до {check_out_time}. "
            "Нужен поздний выезд или такси? Просто ответьте здесь.",
        },
    ),
    StarterTrigger(
        name="review-request",
        purpose="review request after check-out",
        when="4h after check-out grace 6h",
        texts={
            "en": "Thank you for staying at {hotel_name}, {first_name}! We would be grateful "
            "for a short review of your stay. Safe travels!",
            "ru": "Спасибо, что выбрали {hotel_name}, {first_name}! Будем благодарны за "
            "короткий отзыв о вашем пребывании. Счастливого пути!",
        },
    ),
)

STARTER_LANGUAGES: Final = ("en", "ru")
"""The languages every starter text exists in."""


class StarterSetError(ValueError):
    """The operator asked for languages the starter set has no texts in."""


def starter_template(
    item: StarterTrigger, languages: Iterable[str], default_language: str
) -> Template:
    """The template of `item` restricted to `languages` (codes, any case), falling back to
    `default_language` when it is one of them, else to the first language given.

    Raises `StarterSetError` naming the languages the set lacks, or when none is left."""
    wanted = list(dict.fromkeys(code.strip().lower() for code in languages if code.strip()))
    missing = [code for code in wanted if code not in item.texts]
    if missing:
        raise StarterSetError(
            f"the starter set has no texts in {', '.join(missing)} (it has "
            f"{', '.join(STARTER_LANGUAGES)}); add your own with `hotelbot trigger edit "
            "--text LANG=...` after adding it"
        )
    if not wanted:
        raise StarterSetError(f"give at least one language of {', '.join(STARTER_LANGUAGES)}")
    texts = {code: item.texts[code] for code in wanted}
    default = default_language.strip().lower()
    return Template(texts, default if default in texts else wanted[0])
