"""Wire strings made storable once, here in the adapter, so SQLite and PostgreSQL accept the
same input and nothing downstream meets a value the database rejects. Pure; never raises.

What a notification body may carry and what becomes of it:

* a lone UTF-16 surrogate (`"\\ud83d"`: an emoji cut in half by the sender's software) cannot
  be encoded as UTF-8 by any driver: it becomes U+FFFD;
* NUL is refused by PostgreSQL text columns; other C0 controls (except tab, line feed and
  carriage return), DEL and the C1 controls (U+0080..U+009F, among them a one-character CSI)
  carry no chat content: all are removed;
* nesting deeper than `MAX_DEPTH` is no real notification (they nest about 5 levels) and
  costs stack in every later parse: such an item is refused (dead-lettered).

Length caps per column live with the columns they protect (`cap`, `STORED_*`).
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 32

# Column widths of the notifications table the ingest fills from the wire.
STORED_TYPE_WEBHOOK_CHARS = 64
STORED_CHAT_ID_CHARS = 64
STORED_ID_MESSAGE_CHARS = 128
STORED_DEDUPE_KEY_CHARS = 300

REPLACEMENT = "\ufffd"

# The longest message text kept in `messages` (and analysed); WhatsApp allows ~65,000
# characters, real guest messages are far shorter. The whole text stays in the raw
# notification body, which holds at most envelope.MAX_RESPONSE_BYTES.
MAX_MESSAGE_TEXT_CHARS = 10_000
ELLIPSIS = "\u2026"

# What a chat id looks like (Green API: personal @c.us, groups @g.us, linked ids @lid).
CHAT_ID = re.compile(r"^(\d{5,20}@c\.us|[\d-]{5,40}@g\.us|\d{5,30}@lid)$")

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Found in a body serialised by json.dumps(ensure_ascii=False): an escaped C0 control
# (json writes \n, \r, \t in short form, every other control as \u00XX), a C1 control, DEL
# or a surrogate. No match means the body needs no cleaning (the common case: one C-speed
# scan instead of a walk over every string).
_NEEDS_CLEANING = re.compile(r"\\u00[01][0-9a-fA-F]|[\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without controls (tab, LF, CR kept) and with U+FFFD for lone surrogates."""
    if _SURROGATES.search(text):
        text = _SURROGATES.sub(REPLACEMENT, text)
    if _CONTROLS.search(text):
        text = _CONTROLS.sub("", text)
    return text


def cap_message_text(text: str | None) -> str | None:
    """A message text within MAX_MESSAGE_TEXT_CHARS, the cut marked with an ellipsis."""
    if text is None or len(text) <= MAX_MESSAGE_TEXT_CHARS:
        return text
    return text[: MAX_MESSAGE_TEXT_CHARS - 1] + ELLIPSIS


def cap(text: str | None, limit: int) -> str | None:
    """`text` cut to at most `limit` characters (None stays None)."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit]


def needs_cleaning(serialised: str) -> bool:
    """True when a body serialised with ensure_ascii=False may hold what `clean_text`
    removes (conservative: a false positive only costs the slower walk)."""
    return _NEEDS_CLEANING.search(serialised) is not None


def may_be_deep(serialised: str) -> bool:
    """False when the serialised value surely nests at most MAX_DEPTH levels."""
    return serialised.count("{") + serialised.count("[") > MAX_DEPTH


def depth(value: object) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest


def clean_json(value: Any) -> Any:
    """A copy of a parsed JSON value with every string (keys too) passed through
    `clean_text`. Call only on values no deeper than MAX_DEPTH (it recurses)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value
