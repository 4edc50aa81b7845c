"""Parse the receiveNotification response envelope into a Delivery (pure, never raises).

`{"receiptId": int, "body": {...}}` or the literal `null` (empty queue). Anything else is
malformed: we still try to find the receipt id, so the item can be dead-lettered and deleted
rather than block the hotel's queue forever.

Wire strings are normalised here, once (see normalise.py): bytes that are not UTF-8 are
decoded with U+FFFD, lone surrogates and control characters are cleaned out of every string
of the body, the indexed values (type, chat id, idMessage, dedupe key) are capped to their
columns. What cannot be made storable (too large, nested too deeply, any failure while
parsing) becomes a MalformedDelivery that keeps the raw bytes, so both databases accept
whatever the queue serves.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from hotelbot.domain.inbound import Delivery, MalformedDelivery
from hotelbot.greenapi.normalise import (
    MAX_DEPTH,
    STORED_CHAT_ID_CHARS,
    STORED_DEDUPE_KEY_CHARS,
    STORED_ID_MESSAGE_CHARS,
    STORED_TYPE_WEBHOOK_CHARS,
    cap,
    clean_json,
    depth,
    may_be_deep,
    needs_cleaning,
)

# The largest response taken as a notification. A WhatsApp text is at most ~65,000
# characters (≤ 260 KB in UTF-8); anything above this is not a real notification and is
# dead-lettered (its first bytes kept) instead of being stored and interpreted.
MAX_RESPONSE_BYTES = 1024 * 1024

_RECEIPT_RE = re.compile(rb'"receiptId"\s*:\s*(\d{1,18})')
_MESSAGE_TYPES = frozenset(
    {"incomingMessageReceived", "outgoingMessageReceived", "outgoingAPIMessageReceived"}
)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def dedupe_key(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(key, chat_id, id_message) for a notification body, each within its column width.

    Message notifications: type + chat + idMessage (idMessage is unique per chat only).
    Status notifications: also the status, so sent/delivered/read are three events.
    Calls: caller + idMessage + status. Anything else: a hash of the canonical body, so an
    exact duplicate collapses and distinct events (e.g. two state changes) do not. A key
    longer than its column (hostile ids) is replaced by a hash of itself: still one key per
    event, and the capped chat id / idMessage never merge two events.
    """
    kind = str(body.get("typeWebhook"))
    id_message = _str_or_none(body.get("idMessage"))
    chat_id: str | None = None
    sender = body.get("senderData")
    if isinstance(sender, dict):
        chat_id = _str_or_none(sender.get("chatId"))
    if chat_id is None:
        chat_id = _str_or_none(body.get("chatId")) or _str_or_none(body.get("from"))
    if id_message is not None and kind in _MESSAGE_TYPES:
        key = f"{kind}|{chat_id or ''}|{id_message}"
    elif id_message is not None and kind in ("outgoingMessageStatus", "incomingCall"):
        status = body.get("status")
        key = f"{kind}|{chat_id or ''}|{id_message}|{status}"
    else:
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:40]
        key = f"{cap(kind, STORED_TYPE_WEBHOOK_CHARS)}|#{digest}"
    if len(key) > STORED_DEDUPE_KEY_CHARS:
        digest = hashlib.sha256(key.encode()).hexdigest()
        key = f"{cap(kind, STORED_TYPE_WEBHOOK_CHARS)}|##{digest}"
    return (
        key,
        cap(chat_id, STORED_CHAT_ID_CHARS),
        cap(id_message, STORED_ID_MESSAGE_CHARS),
    )


def parse_receive_response(raw: bytes) -> Delivery | MalformedDelivery | None:
    """None for an empty queue; a Delivery; or a MalformedDelivery. Never raises: any
    failure (RecursionError, MemoryError, a bug) makes the item malformed, not the poll
    step, so it is dead-lettered and deleted instead of retried forever."""
    try:
        return _parse(raw)
    except Exception as exc:
        return _malformed(raw, f"cannot parse: {type(exc).__name__}")


def _parse(raw: bytes) -> Delivery | MalformedDelivery | None:
    if len(raw) > MAX_RESPONSE_BYTES:
        return _malformed(raw, f"too large: {len(raw)} bytes (limit {MAX_RESPONSE_BYTES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # A real notification with one bad byte should still reach staff: decode what can be
        # decoded. The exact bytes of a response that then fails are kept in dead_letters.
        text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except RecursionError:
        return _malformed(raw, f"nested deeper than {MAX_DEPTH} levels")
    except ValueError as exc:
        return _malformed(raw, f"not JSON: {type(exc).__name__}", retryable=True)
    if data is None:
        return None
    if not isinstance(data, dict):
        return _malformed(raw, "envelope is not an object")
    receipt = data.get("receiptId")
    if not isinstance(receipt, int) or isinstance(receipt, bool) or not 0 < receipt < 2**63:
        return _malformed(raw, "receiptId missing or not an integer")
    body = data.get("body")
    if not isinstance(body, dict):
        return MalformedDelivery(receipt, raw, "body missing or not an object")
    body_json = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if may_be_deep(body_json) and depth(body) > MAX_DEPTH:
        return MalformedDelivery(receipt, raw, f"nested deeper than {MAX_DEPTH} levels")
    if needs_cleaning(body_json):
        body = clean_json(body)
        body_json = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    kind = body.get("typeWebhook")
    if not isinstance(kind, str) or not kind:
        return MalformedDelivery(receipt, raw, "typeWebhook missing")
    key, chat_id, id_message = dedupe_key(body)
    stored_kind = cap(kind, STORED_TYPE_WEBHOOK_CHARS)
    assert stored_kind is not None
    return Delivery(receipt, stored_kind, key, chat_id, id_message, body_json, raw=raw)


def _malformed(raw: bytes, error: str, *, retryable: bool = False) -> MalformedDelivery:
    match = _RECEIPT_RE.search(raw[:4096])
    receipt = int(match.group(1)) if match else None
    if receipt is not None and not 0 < receipt < 2**63:
        receipt = None
    return MalformedDelivery(receipt, raw, error, retryable)
