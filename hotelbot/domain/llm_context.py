"""What the LLM sees of a guest message besides its text: the chat's previous messages,
whether staff already answered, the language to write the reason in. Pure types and the
cache key derived from all of it.

The context is DATA for the model, like the guest text itself: it travels as JSON values in
the user message and the system prompt says never to follow instructions found there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_CONTEXT_MESSAGES = 6
MAX_CONTEXT_CHARS = 300  # per earlier message: enough for "the AC is broken", cheap in tokens


class Speaker(StrEnum):
    GUEST = "guest"
    STAFF = "staff"
    BOT = "hotel_bot"


@dataclass(frozen=True, slots=True)
class ContextLine:
    """One earlier message of the chat, oldest first in `MessageContext.earlier`."""

    speaker: Speaker
    text: str
    age: str  # coarse (`age_label`), so identical situations share a cache key


def age_label(seconds: float) -> str:
    """How long ago, coarsely: what the model needs ("still nothing" minutes or days after
    a complaint) without making every cache key unique."""
    if seconds < 5 * 60:
        return "just now"
    if seconds < 60 * 60:
        return "minutes ago"
    if seconds < 24 * 60 * 60:
        return "hours ago"
    return "days ago"


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Which message is judged: enough for the stage to find its chat's history."""

    hotel_id: int
    chat_id: str
    sent_at: datetime
    id_message: str | None = None


@dataclass(frozen=True, slots=True)
class MessageContext:
    """`earlier`: up to MAX_CONTEXT_MESSAGES previous messages, oldest first, each cut to
    MAX_CONTEXT_CHARS. `staff_answered`: staff wrote after the guest's last earlier message.
    `reply_language`: ISO 639-1 code the reason is written in ("en" when unknown)."""

    earlier: tuple[ContextLine, ...] = ()
    staff_answered: bool = False
    reply_language: str = "en"

    def as_payload(self) -> dict[str, object]:
        """The JSON-ready form sent to the model (also what the cache key covers)."""
        return {
            "earlier_messages": [
                {"from": line.speaker.value, "when": line.age, "text": line.text}
                for line in self.earlier
            ],
            "staff_already_answered": self.staff_answered,
            "reason_language": self.reply_language,
        }


def normalise_text(text: str) -> str:
    """The form two messages must share to count as identical: case-folded, whitespace
    collapsed. Punctuation is kept ("ok." vs "ok?!" may differ in tone)."""
    return " ".join(text.casefold().split())


def cache_key(
    *, model: str, prompt_version: str, hotel_id: int, text: str, context: MessageContext
) -> str:
    """SHA-256 over everything the model saw: model, prompt version, hotel, normalised text
    and the context payload. Two messages share a verdict only when the model would have
    been asked exactly the same question."""
    material = json.dumps(
        [model, prompt_version, hotel_id, normalise_text(text), context.as_payload()],
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
