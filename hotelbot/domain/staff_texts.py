"""What staff read in alerts, escalations and reminders, per staff language (pure).

One table per language (en, ru); any other `staff_language` reads English (the same choice
as `domain.signal_texts.staff_language`). Every value taken from a guest (name, excerpt) is
sanitised by the caller through `domain.display.for_people`; these templates only place it.
Add a language by adding an entry to every table below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.languages import NAMES as LANGUAGE_NAMES_EN
from hotelbot.domain.signal_texts import staff_language

_LINES: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "alert": "⚠️ Guest needs attention: {who}",
        "urgent": "🚨 URGENT, possible emergency: {who}",
        "reason": "Reason: {reason}",
        "about": "Category: {category} · writes in {guest_language}",
        "earlier": "(+{count} more {messages} from this guest since the last alert)",
        "followup": "⚠️ +{count} more {messages} from this guest: {who}",
        "latest_reason": "Latest reason: {reason}",
        "latest": "Latest: “{text}”",
        "reference": "Ref #{ref}: reply to this message or react to it when you are on it.",
        "escalation": "⏰ Not acknowledged for {minutes} min, alert #{ref} ({hotel}): {who}",
        "reminder": "⏰ Reminder, alert #{ref} is still open ({minutes} min): {who}",
        "escalation_hint": "Nobody has acknowledged it yet; the duty manager was told.",
        "reminder_hint": "Reply to the alert, react to it or write “#{ref}” when you are on it.",
    },
    "ru": {
        "alert": "⚠️ Гостю нужно внимание: {who}",
        "urgent": "🚨 СРОЧНО, возможна чрезвычайная ситуация: {who}",
        "reason": "Причина: {reason}",
        "about": "Категория: {category} · пишет на языке: {guest_language}",
        "earlier": "(ещё {count} с прошлого оповещения об этом госте)",
        "followup": "⚠️ Ещё {count} от этого гостя: {who}",
        "latest_reason": "Последняя причина: {reason}",
        "latest": "Последнее: «{text}»",
        "reference": "Номер #{ref}: ответьте на это сообщение или поставьте реакцию.",
        "escalation": "⏰ Без ответа {minutes} мин, оповещение #{ref} ({hotel}): {who}",
        "reminder": "⏰ Напоминание: оповещение #{ref} всё ещё открыто ({minutes} мин): {who}",
        "escalation_hint": "Никто не подтвердил его; дежурный менеджер уведомлён.",
        "reminder_hint": "Ответьте на оповещение, поставьте реакцию или напишите «#{ref}».",
    },
}

_CATEGORIES: Final[Mapping[str, Mapping[AttentionCategory, str]]] = {
    "en": {category: category.value.replace("_", " ") for category in AttentionCategory},
    "ru": {
        AttentionCategory.EMERGENCY: "чрезвычайная ситуация",
        AttentionCategory.SAFETY: "безопасность",
        AttentionCategory.COMPLAINT: "жалоба",
        AttentionCategory.STAFF_CONDUCT: "поведение персонала",
        AttentionCategory.BILLING: "оплата",
        AttentionCategory.TRANSPORT: "транспорт",
        AttentionCategory.BOOKING: "бронирование",
        AttentionCategory.HOUSEKEEPING_ITEM: "хозяйственная просьба",
        AttentionCategory.BILLING_DOCUMENT: "документы об оплате",
        AttentionCategory.STAY_CHANGE: "изменение проживания",
        AttentionCategory.SPECIAL_NEED: "особые потребности",
        AttentionCategory.FOLLOW_UP: "напоминание гостя",
        AttentionCategory.OTHER: "другое",
    },
}

_LANGUAGE_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "en": LANGUAGE_NAMES_EN,
    "ru": {
        "en": "английский", "ru": "русский", "uk": "украинский", "de": "немецкий",
        "fr": "французский", "es": "испанский", "pt": "португальский", "it": "итальянский",
        "nl": "нидерландский", "pl": "польский", "lv": "латышский", "lt": "литовский",
        "et": "эстонский", "fi": "финский", "sv": "шведский", "tr": "турецкий",
        "cs": "чешский", "el": "греческий", "ar": "арабский", "he": "иврит",
        "zh": "китайский", "ja": "японский", "ko": "корейский",
    },
}  # fmt: skip

_UNKNOWN: Final[Mapping[str, str]] = {"en": "unknown", "ru": "не определено"}

SUPPORTED: Final = frozenset(_LINES)
"""Staff languages with their own texts (others read English)."""


def line(key: str, language: str | None, **values: object) -> str:
    """One template of the staff language filled with `values` (already sanitised)."""
    return _LINES[staff_language(language)][key].format(**values)


def category_name(category: AttentionCategory | None, language: str | None) -> str:
    """The category as staff read it ("complaint", "жалоба"); "unknown" when None."""
    lang = staff_language(language)
    if category is None:
        return _UNKNOWN[lang]
    return _CATEGORIES[lang][category]


def language_name(code: str | None, language: str | None) -> str:
    """The guest's language as staff read it ("Russian", "русский"); the code if unnamed."""
    lang = staff_language(language)
    if not code or code == "und":
        return _UNKNOWN[lang]
    return _LANGUAGE_NAMES[lang].get(code, code)


def messages_word(count: int, language: str | None) -> str:
    """ "message"/"messages" for English; Russian templates need no noun."""
    return "message" if count == 1 else "messages"
