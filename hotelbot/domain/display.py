"""Text shown to people: the one place that makes guest-controlled text safe to display.

Everything a guest (or an LLM a guest can steer) wrote passes through `for_people` before
it reaches a staff chat, an operator's terminal or an e-mail. It removes what can forge or
hide content on a screen: line breaks (a sender name with a newline could otherwise fake a
"Reason:" line in an alert), terminal escapes (ESC, CSI), other C0/C1 control characters,
NUL, bidirectional overrides and isolates (which reorder what the reader sees), invisible
format characters, lone surrogates and unassigned private-use noise. Emoji sequences keep
their zero-width joiner and variation selectors, so a family emoji stays one picture.

Pure: no I/O, never raises, idempotent (`for_people(for_people(x)) == for_people(x)`).
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"

# Bidirectional embedding/override/isolate controls and marks: they reorder the text a
# person reads ("Trojan Source"); none is needed to display a chat message.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Format characters that emoji and scripts need: zero-width joiner / non-joiner.
_KEPT_FORMAT = frozenset("\u200c\u200d")
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _keep(ch: str) -> str:
    """What one character becomes: itself, a space (breaks, tabs) or nothing."""
    if ch in _LINE_BREAKS or ch == "\t":
        return " "
    if ch in _BIDI_CONTROLS:
        return ""
    category = unicodedata.category(ch)
    if category == "Cc":  # C0/C1 controls, NUL, ESC, DEL
        return ""
    if category == "Cs":  # a lone surrogate cannot be encoded, let alone shown
        return ""
    if category == "Cf" and ch not in _KEPT_FORMAT:
        return ""
    if category == "Co":  # private use: renders as boxes or vendor glyphs
        return ""
    return ch


def for_people(text: str | None, *, max_chars: int | None = None) -> str:
    """`text` made safe to show on one line: controls removed, whitespace runs collapsed.

    `max_chars` caps the result (the cut is marked with an ellipsis and counts within the
    cap). None or empty input gives "". Never raises.
    """
    if not text:
        return ""
    cleaned = "".join(_keep(ch) for ch in text)
    flat = " ".join(cleaned.split())
    if max_chars is not None and len(flat) > max_chars:
        if max_chars <= 0:
            return ""
        flat = flat[: max_chars - 1].rstrip() + ELLIPSIS
    return flat


def for_people_multiline(text: str | None, *, max_chars: int | None = None) -> str:
    """Like `for_people`, but keeps the author's line breaks as plain newlines.

    For places that show a whole message body (an operator's `conversations show`), where
    the lines matter but nothing may move the cursor or reorder the text. Each line is
    cleaned on its own; blank-line runs collapse to one.
    """
    if not text:
        return ""
    unified = text.replace("\r\n", "\n")
    normalised = "".join("\n" if ch in _LINE_BREAKS else ch for ch in unified)
    lines = [for_people(line) for line in normalised.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    body = "\n".join(kept).strip("\n")
    if max_chars is not None and len(body) > max_chars:
        if max_chars <= 0:
            return ""
        body = body[: max_chars - 1].rstrip() + ELLIPSIS
    return body
