"""What staff read about guest signals, per staff language (pure).

One table per language (en, ru); a language without a table reads English. `who` is the
guest as the alert path labels them (domain.alerts.AlertSubject.label: name, phone, room),
already sanitised. Add a language by adding a table with every kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hotelbot.domain.display import for_people
from hotelbot.domain.signals import SignalKind

FALLBACK_LANGUAGE: Final = "en"
DETAIL_CHARS: Final = 120

_ICONS: Final[Mapping[SignalKind, str]] = {
    SignalKind.CALL: "📞",
    SignalKind.VOICE_NOTE: "🎤",
    SignalKind.PHOTO: "📷",
    SignalKind.VIDEO: "🎬",
    SignalKind.DOCUMENT: "📄",
    SignalKind.LOCATION: "📍",
    SignalKind.STICKER: "💬",
}

# The alert line: {who} is the guest's label.
_ALERTS: Final[Mapping[str, Mapping[SignalKind, str]]] = {
    "en": {
        SignalKind.CALL: "{who}, called on WhatsApp and nobody answered: call back",
        SignalKind.VOICE_NOTE: "{who}, sent a voice note: open WhatsApp to listen",
        SignalKind.PHOTO: "{who}, sent a photo without a caption: open WhatsApp to see it",
        SignalKind.VIDEO: "{who}, sent a video without a caption: open WhatsApp to watch it",
        SignalKind.DOCUMENT: "{who}, sent a document without a caption: open WhatsApp to read it",
        SignalKind.LOCATION: "{who}, shared a location: open WhatsApp to see where",
        SignalKind.STICKER: "{who}, sent a sticker: open WhatsApp to see it",
    },
    "ru": {
        SignalKind.CALL: "{who}: пропущенный звонок в WhatsApp, перезвоните",
        SignalKind.VOICE_NOTE: "{who}: голосовое сообщение, откройте WhatsApp, чтобы прослушать",
        SignalKind.PHOTO: "{who}: фото без подписи, откройте WhatsApp, чтобы посмотреть",
        SignalKind.VIDEO: "{who}: видео без подписи, откройте WhatsApp, чтобы посмотреть",
        SignalKind.DOCUMENT: "{who}: документ без подписи, откройте WhatsApp, чтобы прочитать",
        SignalKind.LOCATION: "{who}: геолокация, откройте WhatsApp, чтобы посмотреть",
        SignalKind.STICKER: "{who}: стикер, откройте WhatsApp, чтобы посмотреть",
    },
}

# Digest counts: (one, many) in English; Russian uses "noun — N" and needs no plural forms.
_EN_NOUNS: Final[Mapping[SignalKind, tuple[str, str]]] = {
    SignalKind.CALL: ("missed call", "missed calls"),
    SignalKind.VOICE_NOTE: ("voice note", "voice notes"),
    SignalKind.PHOTO: ("photo", "photos"),
    SignalKind.VIDEO: ("video", "videos"),
    SignalKind.DOCUMENT: ("document", "documents"),
    SignalKind.LOCATION: ("shared location", "shared locations"),
    SignalKind.STICKER: ("sticker", "stickers"),
}
_RU_NOUNS: Final[Mapping[SignalKind, str]] = {
    SignalKind.CALL: "пропущенные звонки",
    SignalKind.VOICE_NOTE: "голосовые сообщения",
    SignalKind.PHOTO: "фото",
    SignalKind.VIDEO: "видео",
    SignalKind.DOCUMENT: "документы",
    SignalKind.LOCATION: "геолокации",
    SignalKind.STICKER: "стикеры",
}
_EARLIER: Final[Mapping[str, str]] = {
    "en": "(+{count} more since the last alert about this guest)",
    "ru": "(ещё {count} с прошлого оповещения об этом госте)",
}
_DIGEST_HEAD: Final[Mapping[str, str]] = {
    "en": "Also from this guest (no alert of their own): {items}",
    "ru": "Также от этого гостя (без отдельного оповещения): {items}",
}


def staff_language(language: str | None) -> str:
    """The table to use for `language` ("ru", "ru-RU", None...): its primary subtag when
    there is a table for it, else English."""
    primary = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in _ALERTS else FALLBACK_LANGUAGE


def signal_alert_text(
    kind: SignalKind,
    who: str,
    language: str | None = None,
    digest: Mapping[SignalKind, int] | None = None,
    earlier: int = 0,
    detail: str | None = None,
) -> str:
    """The staff alert for one signal, e.g. "🎤 Anna (+37120000001), room 101, sent a voice
    note: open WhatsApp to listen"; `earlier` = messages needing attention counted (not
    alerted) since the last alert; the digest line when `digest` counts anything.
    `detail`: what the signal names itself (a shared location's place name or address),
    shown sanitised on its own line."""
    lang = staff_language(language)
    lines = [f"{_ICONS[kind]} {_ALERTS[lang][kind].format(who=who)}"]
    shown = for_people(detail, max_chars=DETAIL_CHARS)
    if shown:
        lines.append(f"“{shown}”")
    if earlier > 0:
        lines.append(_EARLIER[lang].format(count=earlier))
    line = digest_line(digest or {}, lang)
    if line:
        lines.append(line)
    return "\n".join(lines)


def digest_line(counts: Mapping[SignalKind, int], language: str | None = None) -> str:
    """One line counting digest signals ("" when there are none), kinds in a fixed order."""
    lang = staff_language(language)
    items: list[str] = []
    for kind in SignalKind:
        count = counts.get(kind, 0)
        if count <= 0:
            continue
        if lang == "ru":
            items.append(f"{_RU_NOUNS[kind]} — {count}")
        else:
            one, many = _EN_NOUNS[kind]
            items.append(f"{count} {one if count == 1 else many}")
    if not items:
        return ""
    return _DIGEST_HEAD[lang].format(items=", ".join(items))
