"""Parse the receiveNotification response envelope into a Delivery (pure).

`{"receiptId": int, "body": {...}}` or the literal `null` (empty queue). Anything else is
malformed: we still try to find the receipt id, so the item can be dead-lettered and deleted
rather than block the hotel's queue forever.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from hotelbot.domain.inbound import Delivery, MalformedDelivery

_RECEIPT_RE = re.compile(rb'"receiptId"\s*:\s*(\d{1,18})')
_MESSAGE_TYPES = frozenset(
    {"incomingMessageReceived", "outgoingMessageReceived", "outgoingAPIMessageReceived"}
)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def dedupe_key(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(key, chat_id, id_message) for a notification body.

    Message notifications: type + chat + idMessage (idMessage is unique per chat only).
    Status notifications: also the status, so sent/delivered/read are three events.
    Calls: caller + idMessage + status. Anything else: a hash of the canonical body, so an
    exact duplicate collapses and distinct events (e.g. two state changes) do not.
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
        return f"{kind}|{chat_id or ''}|{id_message}", chat_id, id_message
    if id_message is not None and kind in ("outgoingMessageStatus", "incomingCall"):
        status = body.get("status")
        return f"{kind}|{chat_id or ''}|{id_message}|{status}", chat_id, id_message
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:40]
    return f"{kind}|#{digest}", chat_id, id_message


def parse_receive_response(raw: bytes) -> Delivery | MalformedDelivery | None:
    """None for an empty queue; a Delivery; or a MalformedDelivery (never raises)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return _malformed(raw, f"not JSON: {type(exc).__name__}", retryable=True)
    if data is None:
        return None
    if not isinstance(data, dict):
        return _malformed(raw, "envelope is not an object")
    receipt = data.get("receiptId")
    if not isinstance(receipt, int) or isinstance(receipt, bool):
        return _malformed(raw, "receiptId missing or not an integer")
    body = data.get("body")
    if not isinstance(body, dict):
        return MalformedDelivery(receipt, _text(raw), "body missing or not an object")
    kind = body.get("typeWebhook")
    if not isinstance(kind, str) or not kind:
        return MalformedDelivery(receipt, _text(raw), "typeWebhook missing")
    key, chat_id, id_message = dedupe_key(body)
    body_json = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Delivery(receipt, kind, key, chat_id, id_message, body_json)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _malformed(raw: bytes, error: str, *, retryable: bool = False) -> MalformedDelivery:
    match = _RECEIPT_RE.search(raw)
    receipt = int(match.group(1)) if match else None
    return MalformedDelivery(receipt, _text(raw), error, retryable)
