"""Green API notification bodies (camelCase JSON) -> domain events. Pure; never raises.

Besides `envelope.py` (the receive envelope) this is the only module that knows Green API's
wire names. Every lookup is defensive: fields go missing in real payloads (greenapi.md §4),
numbers arrive as strings, and new `typeMessage`/`typeWebhook` values appear without notice.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from hotelbot.domain.events import (
    DeliveryStatus,
    Event,
    IncomingCall,
    IncomingMessage,
    InstanceStateChanged,
    InstanceStatusChanged,
    MessageKind,
    OutgoingMessage,
    QuotaExceeded,
    UnknownNotification,
)
from hotelbot.greenapi.normalise import CHAT_ID, cap_message_text

# {{SWE001}} (not decryptable on linked devices), {{SWE003}}, {{SWE999}}: placeholders, not text.
_SWE_MARKER = re.compile(r"^\s*\{\{(SWE\d{3})\}\}\s*$")

_FILE_KINDS = {
    "imageMessage": MessageKind.IMAGE,
    "videoMessage": MessageKind.VIDEO,
    "documentMessage": MessageKind.DOCUMENT,
    "audioMessage": MessageKind.AUDIO,
}
_SELECTION_KINDS = {
    # typeMessage -> (kind, data key, text field)
    "buttonsResponseMessage": (
        MessageKind.BUTTONS_REPLY, "buttonsResponseMessage", "selectedButtonText"
    ),
    "templateButtonReplyMessage": (
        MessageKind.TEMPLATE_BUTTON_REPLY, "templateButtonReplyMessage", "selectedDisplayText"
    ),
    "templateButtonsReplyMessage": (
        MessageKind.TEMPLATE_BUTTON_REPLY, "templateButtonReplyMessage", "selectedDisplayText"
    ),
    "listResponseMessage": (MessageKind.LIST_REPLY, "listResponseMessage", "title"),
    "interactiveButtonsResponse": (
        MessageKind.INTERACTIVE_REPLY, "interactiveButtonsResponse", "selectedDisplayText"
    ),
    "interactiveButtonsReply": (
        MessageKind.INTERACTIVE_REPLY, "interactiveButtonsReply", "selectedDisplayText"
    ),
}  # fmt: skip
_CONTAINER_TYPES = {
    # messages that carry buttons/lists/invites (mostly sent by businesses): field with text
    "buttonsMessage": ("buttonsMessage", "contentText"),
    "templateMessage": ("templateMessage", "contentText"),
    "listMessage": ("listMessage", "description"),
    "groupInviteMessage": ("groupInviteMessageData", "caption"),
    "interactiveButtons": ("interactiveButtons", "contentText"),
}
_MESSAGE_WEBHOOKS = frozenset(
    {"incomingMessageReceived", "outgoingMessageReceived", "outgoingAPIMessageReceived"}
)


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _timestamp(value: object) -> datetime | None:
    seconds = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if seconds is None and isinstance(value, str):
        seconds = _int(value)
    if seconds is None or not 0 < seconds < 32503680000:  # before year 3000
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _at(data: dict[str, Any], *path: str) -> object:
    node: object = data
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def interpret(body_json: str) -> Event:
    """The event a stored notification body describes. Never raises for any input string."""
    try:
        body = json.loads(body_json)
    except (ValueError, RecursionError):
        return UnknownNotification("", "body is not JSON")
    if not isinstance(body, dict):
        return UnknownNotification("", "body is not an object")
    return interpret_body(body)


def interpret_body(body: dict[str, Any]) -> Event:
    """As `interpret`, for an already parsed body."""
    kind = body.get("typeWebhook")
    if not isinstance(kind, str):
        return UnknownNotification("", "typeWebhook missing")
    ts = _timestamp(body.get("timestamp"))
    if kind in _MESSAGE_WEBHOOKS:
        return _message(kind, body, ts)
    if kind == "outgoingMessageStatus":
        id_message, status = _str(body.get("idMessage")), _str(body.get("status"))
        if id_message is None or status is None:
            return UnknownNotification(kind, "idMessage or status missing")
        by_api = body.get("sendByApi")
        return DeliveryStatus(
            id_message,
            _str(body.get("chatId")),
            status,
            _str(body.get("description")),
            by_api if isinstance(by_api, bool) else None,
            ts,
        )
    if kind == "stateInstanceChanged":
        state = _str(body.get("stateInstance"))
        if state is None:
            return UnknownNotification(kind, "stateInstance missing")
        return InstanceStateChanged(state, ts)
    if kind == "statusInstanceChanged":
        status = _str(body.get("statusInstance"))
        if status is None:
            return UnknownNotification(kind, "statusInstance missing")
        return InstanceStatusChanged(status, ts)
    if kind == "incomingCall":
        caller = _str(body.get("from"))
        if caller is None:
            return UnknownNotification(kind, "from missing")
        if not CHAT_ID.match(caller):
            # A call becomes the guest's entry in a conversation: it needs a real chat id.
            return UnknownNotification(kind, "from is not a chat id")
        return IncomingCall(
            caller, _str(body.get("status")) or "unknown", _str(body.get("idMessage")), ts
        )
    if kind == "quotaExceeded":
        # The docs name the object stateInstance in one place and quotaData in the example.
        quota = _obj(body.get("quotaData")) or _obj(body.get("stateInstance"))
        return QuotaExceeded(
            _str(quota.get("method")),
            _int(quota.get("used")),
            _int(quota.get("total")),
            _str(quota.get("status")),
        )
    return UnknownNotification(kind)


def _message(type_webhook: str, body: dict[str, Any], ts: datetime | None) -> Event:
    sender = _obj(body.get("senderData"))
    id_message = _str(body.get("idMessage"))
    chat_id = _str(sender.get("chatId"))
    if id_message is None or chat_id is None:
        return UnknownNotification(type_webhook, "idMessage or senderData.chatId missing")
    if not CHAT_ID.match(chat_id):
        # Not a person, a group or a linked id (status@broadcast, a newsletter, garbage):
        # never a guest conversation, never a staff alert.
        return UnknownNotification(type_webhook, "senderData.chatId is not a chat id")
    data = _obj(body.get("messageData"))
    type_message = _str(data.get("typeMessage")) or ""
    kind, text, target_id = _content(type_message, data)
    text = cap_message_text(text)  # the whole text stays in the notification body
    error_code = None
    undecryptable = False
    if text is not None:
        marker = _SWE_MARKER.match(text)
        if marker is not None:
            error_code, text, undecryptable = marker.group(1), None, True
    elif kind is MessageKind.TEXT:
        # An SWE999 bug delivered "textMessageData": {} with no text at all: treat it like a
        # placeholder, so the real text can still replace it under the same idMessage.
        error_code, undecryptable = "SWE999", True
    args = (
        id_message,
        chat_id,
        _str(sender.get("sender")),
        _str(sender.get("senderName")),
        ts,
        kind,
        type_message,
        text,
        undecryptable,
        error_code,
        target_id,
    )
    if type_webhook == "incomingMessageReceived":
        return IncomingMessage(*args, contact_name=_str(sender.get("senderContactName")))
    return OutgoingMessage(*args, from_api=type_webhook == "outgoingAPIMessageReceived")


def _content(type_message: str, data: dict[str, Any]) -> tuple[MessageKind, str | None, str | None]:
    """(kind, text, target stanzaId) of a messageData object."""
    quoted_id = _str(_at(data, "quotedMessage", "stanzaId"))
    if type_message == "textMessage":
        return MessageKind.TEXT, _str(_at(data, "textMessageData", "textMessage")), quoted_id
    if type_message == "extendedTextMessage":
        return (
            MessageKind.EXTENDED_TEXT,
            _str(_at(data, "extendedTextMessageData", "text")),
            quoted_id,
        )
    if type_message == "quotedMessage":
        target = quoted_id or _str(_at(data, "extendedTextMessageData", "stanzaId"))
        return MessageKind.QUOTED, _str(_at(data, "extendedTextMessageData", "text")), target
    if type_message in _FILE_KINDS:
        caption = _str(_at(data, "fileMessageData", "caption"))
        return _FILE_KINDS[type_message], caption, quoted_id
    if type_message == "stickerMessage":
        return MessageKind.STICKER, None, quoted_id
    if type_message == "locationMessage":
        loc = _obj(data.get("locationMessageData"))
        return MessageKind.LOCATION, _str(loc.get("nameLocation")) or _str(loc.get("address")), None
    if type_message == "contactMessage":
        return MessageKind.CONTACT, None, quoted_id
    if type_message == "contactsArrayMessage":
        return MessageKind.CONTACTS, None, quoted_id
    if type_message == "reactionMessage":
        # The emoji is the "text"; "" means the reaction was removed.
        emoji = _at(data, "extendedTextMessageData", "text")
        return MessageKind.REACTION, emoji if isinstance(emoji, str) else None, quoted_id
    if type_message == "editedMessage":
        edited = _obj(data.get("editedMessageData"))
        return MessageKind.EDITED, _str(edited.get("textMessage")), _str(edited.get("stanzaId"))
    if type_message == "deletedMessage":
        return MessageKind.DELETED, None, _str(_at(data, "deletedMessageData", "stanzaId"))
    if type_message == "pollMessage":
        return MessageKind.POLL, _str(_at(data, "pollMessageData", "name")), None
    if type_message == "pollUpdateMessage":
        return MessageKind.POLL_UPDATE, None, _str(_at(data, "pollMessageData", "stanzaId"))
    if type_message in _SELECTION_KINDS:
        kind, key, field = _SELECTION_KINDS[type_message]
        selection = _obj(data.get(key)) or _obj(data.get(type_message))
        return kind, _str(selection.get(field)), _str(selection.get("stanzaId"))
    if type_message in _CONTAINER_TYPES:
        key, field = _CONTAINER_TYPES[type_message]
        return MessageKind.INTERACTIVE, _str(_at(data, key, field)), quoted_id
    return MessageKind.UNKNOWN, None, quoted_id
