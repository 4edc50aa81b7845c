"""What staff read in alerts, escalations and reminders, per staff language (pure).

One table per language (en, ru); any other `staff_language` reads English (the same choice
as `domain.signal_texts.staff_language`). Every value taken from a guest (name, excerpt) is
sanitised by the caller through `domain.display.for_people`; these templates only place it.
Add a language by adding an entry to every table below.
"""

from __future__ import annotations

import re
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
        "room": "{who}, room {room}",
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
        "room": "{who}, номер {room}",
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

# The rules' reasons (domain/rules/attention.py) are labels, "<kind>: <detail>" or a fixed
# phrase, written in English; staff of another language read them through these tables. A
# reason of another shape (the LLM's, written in the guest's language) is shown as it is, and
# so is a detail without an entry (it stays readable, in English).
_REASON_PHRASES: Final[Mapping[str, Mapping[str, str]]] = {
    "ru": {
        "negative tone": "негативный тон",
        "likely needs staff (model)": "вероятно, нужен персонал (модель)",
        "request": "просьба",
        "request: urgent": "срочная просьба",
        "negative reaction": "негативная реакция",
        "praise": "похвала",
        "neutral": "нейтрально",
    },
}

_REASON_KINDS: Final[Mapping[str, Mapping[str, str]]] = {
    "ru": {
        "complaint": "жалоба",
        "request": "просьба",
        "follow-up": "повторное обращение",
        "emergency": "ЧС",
    },
}

_REASON_DETAILS: Final[Mapping[str, Mapping[str, str]]] = {
    "ru": {
        # emergencies (domain.categories.EmergencyKind and named details)
        "fire": "пожар", "gas": "газ", "flood": "затопление", "intruder": "посторонний",
        "theft": "кража", "assault": "нападение", "harassment": "домогательства",
        "medical": "здоровье", "help": "зовёт на помощь", "emergency": "экстренный случай",
        "lift": "лифт", "missing person": "пропал человек", "trapped": "заперт, не может выйти",
        "electric shock": "удар током", "sparks": "искры", "leak": "протечка",
        "doctor": "врач", "smoke detector": "датчик дыма",
        # complaints
        "amount": "сумма", "general": "общее недовольство", "broken": "что-то сломано",
        "cleanliness": "чистота", "noise": "шум", "billing": "счёт", "hazard": "опасность",
        "room": "номер", "food": "еда", "privacy": "приватность", "staff": "персонал",
        "wifi": "Wi-Fi", "electricity": "электричество", "housekeeping": "уборка",
        "access": "доступ", "air conditioning": "кондиционер", "smell": "запах",
        "pests": "насекомые или грызуны", "tv": "телевизор", "refused": "отказ",
        "plumbing": "сантехника", "smoking": "курение", "temperature": "температура",
        "rude": "грубость", "shower": "душ", "pool": "бассейн", "heating": "отопление",
        "rhetorical": "недовольство", "inappropriate": "неуместное поведение",
        "hot water": "горячая вода", "missing item": "пропала вещь",
        "falling fixture": "падает крепление", "water": "вода", "minibar": "мини-бар",
        "broken glass": "разбитое стекло", "wires": "провода", "fine": "штраф",
        "slippery floor": "скользкий пол", "appliances": "техника",
        "room service": "обслуживание номеров", "escalation": "просит руководство",
        "room not ready": "номер не готов", "toilet": "туалет",
        "near miss": "чуть не случилась беда", "sharp edge": "острый край",
        "lost item": "потерянная вещь", "railing": "перила", "ceiling": "потолок",
        "stairs": "лестница", "trip hazard": "можно споткнуться", "furniture": "мебель",
        "safe": "сейф", "open drain": "открытый сток", "glass": "стекло",
        "fire exit": "пожарный выход", "broken promise": "не выполнили обещание",
        "transport": "транспорт", "open hatch": "открытый люк", "floor": "пол",
        "hole": "дыра", "booking": "бронирование", "parking": "парковка",
        "ignored": "игнорируют", "mattress": "матрас", "spa": "спа", "fall risk": "риск падения",
        "not as booked": "не то, что бронировали", "tiles": "плитка", "lock": "замок",
        "security": "безопасность", "window": "окно", "key": "ключ", "balcony": "балкон",
        "bedding": "постельное бельё", "towels": "полотенца", "fridge": "холодильник",
        "kettle": "чайник", "socket": "розетка", "heater": "обогреватель", "fan": "вентилятор",
        "door": "дверь", "money": "деньги", "fee": "сбор", "discrepancy": "расхождение",
        "cleaning": "уборка", "laundry": "стирка", "luggage": "багаж",
        # follow-ups
        "reminder": "напоминание", "waiting": "ждёт", "waited": "долго ждал",
        "ping": "ждёт ответа", "no response": "нет ответа", "ordered time": "заказ опаздывает",
        "answer": "ответ",
        # requests
        "taxi": "такси", "invoice": "счёт-фактура", "car": "автомобиль",
        "room change": "смена номера", "excursion": "экскурсия", "printing": "печать",
        "transfer": "трансфер", "table": "столик", "reservation": "бронь",
        "late checkout": "поздний выезд", "extension": "продление", "diet": "питание",
        "receipt": "чек", "tickets": "билеты", "baby": "ребёнок",
        "early check-in": "ранний заезд", "coffee and tea": "кофе и чай",
        "accessibility": "доступная среда", "iron": "утюг", "documents": "документы",
        "kids club": "детский клуб", "toiletries": "туалетные принадлежности",
        "baby cot": "детская кроватка", "crockery": "посуда", "upgrade": "повышение категории",
        "allergy": "аллергия", "extra bed": "доп. кровать", "bathrobe": "халат",
        "maintenance": "ремонт", "letter": "письмо", "copy": "копия", "rental": "прокат",
        "registration": "регистрация", "visa letter": "письмо для визы", "sunbeds": "шезлонги",
        "hangers": "вешалки", "manager": "менеджер", "order": "заказ", "medicine": "лекарство",
        "court": "корт", "call back": "перезвонить", "class": "занятие", "golf": "гольф",
        "shorter stay": "сокращение проживания", "gazebo": "беседка",
        "confirmation": "подтверждение", "occasion": "особый повод",
        "wake-up call": "звонок-будильник", "turndown": "вечерняя подготовка номера",
        "room transfer": "переселение", "ice": "лёд", "adapter": "переходник",
        "slippers": "тапочки", "certificate": "справка", "cabana": "кабана",
        "boarding pass": "посадочный талон", "charger": "зарядка", "clock": "часы",
        "currency": "обмен валюты", "first aid kit": "аптечка", "hair dryer": "фен",
        "pillows": "подушки", "umbrella": "зонт", "voucher": "ваучер",
        "repellent": "средство от комаров", "do not disturb": "не беспокоить",
        "mirror": "зеркало", "gym": "спортзал", "info": "информация",
    },
}  # fmt: skip

# domain.unreadable.review's reason: "<Language> (<code>) message the rules cannot read, with
# signs of trouble: <sign>, <sign>"
_UNREADABLE = re.compile(
    r"^(?:[^()]* \((?P<code>[a-z]{2,3})\)|(?P<raw>\S+)) message the rules cannot read, "
    r"with signs of trouble: (?P<signs>.+)$"
)
_UNREADABLE_TEXT: Final[Mapping[str, str]] = {
    "ru": "сообщение на языке, который правила не читают ({language}), признаки проблемы: {signs}",
}
_TROUBLE_SIGNS: Final[Mapping[str, Mapping[str, str]]] = {
    "ru": {
        "negative emoji": "негативные эмодзи",
        "exclamation": "восклицания",
        "capitals": "заглавные буквы",
        "repeated messages": "повторные сообщения",
    },
}

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


def reason(text: str, language: str | None) -> str:
    """A verdict's reason as staff read it: a rules label ("complaint: hot water",
    "negative tone") in the staff language ("жалоба: горячая вода"); any other text (the
    LLM's own words) unchanged. `text` is sanitised by the caller."""
    lang = staff_language(language)
    phrases = _REASON_PHRASES.get(lang)
    if phrases is None:
        return text
    if text in phrases:
        return phrases[text]
    unreadable = _UNREADABLE.match(text)
    if unreadable is not None:
        code = unreadable["code"] or unreadable["raw"]
        signs = _TROUBLE_SIGNS[lang]
        return _UNREADABLE_TEXT[lang].format(
            language=language_name(code, lang),
            signs=", ".join(signs.get(s, s) for s in unreadable["signs"].split(", ")),
        )
    kind, sep, detail = text.partition(": ")
    kinds = _REASON_KINDS[lang]
    if not sep or kind not in kinds:
        return text
    return f"{kinds[kind]}: {_REASON_DETAILS[lang].get(detail, detail)}"


def subject(who: str, room: str | None, language: str | None) -> str:
    """ "Anna, room 101" in the staff language; `who` alone without a room. Both sanitised
    by the caller."""
    return line("room", language, who=who, room=room) if room else who


def messages_word(count: int, language: str | None) -> str:
    """ "message"/"messages" for English; Russian templates need no noun."""
    return "message" if count == 1 else "messages"
