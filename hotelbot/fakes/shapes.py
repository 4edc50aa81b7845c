"""Builders of real-shaped Green API notification bodies (the `body` of a queue item).

Every function returns a fresh JSON-ready dict with the camelCase keys Green API uses
(the notification shapes of Green API's documentation). Nothing here does I/O; the only hidden
inputs are the wall clock (when `timestamp` is None) and a random message id (when
`id_message` is None), so pass both explicitly when a test needs byte-identical output.

Conventions shared by all builders:

* `instance_id` is the idInstance as a string ("1101000001"); it is written as an integer
  in `instanceData.idInstance` when it is all digits, as the real service does.
* `wid` is the instance's own WhatsApp id (the hotel's number); it is the `sender` of
  outgoing* notifications.
* `chat_id` is opaque: `…@c.us` (personal), `…@g.us` (group) or `…@lid` (linked id).
  For group chats pass `sender=` (the participant who wrote) and `chat_name=` (group name).
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

DEFAULT_WID = "79876543210@c.us"
"""The hotel's own number used when a builder is not given `wid`."""

EXAMPLE_PERSONAL_CHAT = "79001234568@c.us"
EXAMPLE_GROUP_CHAT = "120363043968066561@g.us"
EXAMPLE_LEGACY_GROUP_CHAT = "79876543210-1581234048@g.us"
EXAMPLE_LID_CHAT = "123456789012345@lid"

OutgoingStatus = Literal[
    "sent", "delivered", "read", "failed", "noAccount", "notInGroup", "yellowCard"
]
OUTGOING_STATUSES: tuple[OutgoingStatus, ...] = (
    "sent",
    "delivered",
    "read",
    "failed",
    "noAccount",
    "notInGroup",
    "yellowCard",
)
InstanceState = Literal[
    "notAuthorized", "authorized", "blocked", "sleepMode", "starting", "yellowCard"
]
INSTANCE_STATES: tuple[InstanceState, ...] = (
    "notAuthorized",
    "authorized",
    "blocked",
    "sleepMode",
    "starting",
    "yellowCard",
)
CallStatus = Literal["offer", "pickUp", "hangUp", "hungUp", "declined", "missed"]
FileKind = Literal["image", "video", "document", "audio"]

_FILE_DEFAULTS: dict[str, tuple[str, str]] = {
    # kind -> (file name, mime type) typical of what WhatsApp clients produce
    "image": ("photo.jpg", "image/jpeg"),
    "video": ("clip.mp4", "video/mp4"),
    "document": ("invoice.pdf", "application/pdf"),
    "audio": ("voice.oga", "audio/ogg; codecs=opus"),
}


def new_id_message() -> str:
    """A fresh 32-hex-digit id like those WhatsApp gives incoming messages."""
    return secrets.token_hex(16).upper()


def instance_data(instance_id: str, wid: str = DEFAULT_WID) -> dict[str, Any]:
    """The `instanceData` envelope object."""
    id_value: int | str = int(instance_id) if instance_id.isdigit() else instance_id
    return {"idInstance": id_value, "wid": wid, "typeInstance": "whatsapp"}


def _now(timestamp: int | None) -> int:
    return int(time.time()) if timestamp is None else timestamp


def message_notification(
    type_webhook: str,
    instance_id: str,
    chat_id: str,
    message_data: dict[str, Any],
    *,
    id_message: str | None = None,
    sender: str | None = None,
    sender_name: str = "Guest",
    chat_name: str | None = None,
    sender_contact_name: str | None = "",
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """Any message-type notification (incoming*/outgoing*): envelope + senderData + messageData.

    `sender` defaults to `chat_id` (personal chat). `chat_name` defaults to `sender_name`
    for personal chats; `sender_contact_name=None` omits the key, as some real payloads do.
    """
    sender_data: dict[str, Any] = {
        "chatId": chat_id,
        "chatName": sender_name if chat_name is None else chat_name,
        "sender": chat_id if sender is None else sender,
        "senderName": sender_name,
    }
    if sender_contact_name is not None:
        sender_data["senderContactName"] = sender_contact_name
    return {
        "typeWebhook": type_webhook,
        "instanceData": instance_data(instance_id, wid),
        "timestamp": _now(timestamp),
        "idMessage": new_id_message() if id_message is None else id_message,
        "senderData": sender_data,
        "messageData": message_data,
    }


def _incoming(
    instance_id: str,
    chat_id: str,
    message_data: dict[str, Any],
    *,
    id_message: str | None,
    sender_name: str,
    timestamp: int | None,
    sender: str | None,
    chat_name: str | None,
    wid: str,
) -> dict[str, Any]:
    return message_notification(
        "incomingMessageReceived",
        instance_id,
        chat_id,
        message_data,
        id_message=id_message,
        sender=sender,
        sender_name=sender_name,
        chat_name=chat_name,
        timestamp=timestamp,
        wid=wid,
    )


# ---------------------------------------------------------------------------------------
# messageData builders (usable for incoming and outgoing notifications alike)


def text_data(text: str) -> dict[str, Any]:
    """`messageData` of a plain `textMessage`."""
    return {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}


def extended_text_data(
    text: str, *, description: str = "", title: str = "", preview_type: str = "None"
) -> dict[str, Any]:
    """`messageData` of an `extendedTextMessage` (text with a link preview or ad context)."""
    return {
        "typeMessage": "extendedTextMessage",
        "extendedTextMessageData": {
            "text": text,
            "description": description,
            "title": title,
            "previewType": preview_type,
            "jpegThumbnail": "",
            "forwardingScore": 0,
            "isForwarded": False,
        },
    }


def quoted_message(
    stanza_id: str,
    participant: str,
    *,
    type_message: str = "textMessage",
    text: str | None = "original message",
) -> dict[str, Any]:
    """The `quotedMessage` object describing the message being replied to.

    For a quoted `textMessage` the text sits under `textMessage`; for other quoted types
    it is given as `caption` (file types) or `text` (extendedTextMessage)."""
    quoted: dict[str, Any] = {
        "stanzaId": stanza_id,
        "participant": participant,
        "typeMessage": type_message,
    }
    if text is not None:
        if type_message == "textMessage":
            quoted["textMessage"] = text
        elif type_message == "extendedTextMessage":
            quoted["text"] = text
        else:
            quoted["caption"] = text
    return quoted


def with_quoted(body: dict[str, Any], quoted: dict[str, Any]) -> dict[str, Any]:
    """A copy of a message-type notification with `messageData.quotedMessage` added
    (the current way Green API marks any message type as a reply)."""
    message_data = dict(body["messageData"])
    message_data["quotedMessage"] = quoted
    return {**body, "messageData": message_data}


# ---------------------------------------------------------------------------------------
# incomingMessageReceived, one builder per typeMessage


def incoming_text(
    instance_id: str,
    chat_id: str,
    text: str,
    *,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `textMessage` (the common case)."""
    return _incoming(
        instance_id,
        chat_id,
        text_data(text),
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_group_text(
    instance_id: str,
    group_id: str,
    participant: str,
    text: str,
    *,
    group_name: str = "Hotel staff",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `textMessage` in a group: `chatId` is the group, `sender` the participant."""
    return incoming_text(
        instance_id,
        group_id,
        text,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=participant,
        chat_name=group_name,
        wid=wid,
    )


def incoming_extended_text(
    instance_id: str,
    chat_id: str,
    text: str,
    *,
    description: str = "",
    title: str = "",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `extendedTextMessage` (text with a link preview)."""
    return _incoming(
        instance_id,
        chat_id,
        extended_text_data(text, description=description, title=title),
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_reply(
    instance_id: str,
    chat_id: str,
    text: str,
    *,
    quoted_id: str,
    quoted_text: str = "original message",
    quoted_participant: str | None = None,
    quoted_type: str = "textMessage",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """A reply in the current form: `extendedTextMessage` + sibling `quotedMessage`.

    `quoted_participant` defaults to the instance's own wid (guest replying to the hotel)."""
    body = incoming_extended_text(
        instance_id,
        chat_id,
        text,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )
    participant = wid if quoted_participant is None else quoted_participant
    quoted = quoted_message(quoted_id, participant, type_message=quoted_type, text=quoted_text)
    return with_quoted(body, quoted)


def incoming_quoted_legacy(
    instance_id: str,
    chat_id: str,
    text: str,
    *,
    quoted_id: str,
    quoted_text: str = "original message",
    quoted_participant: str | None = None,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """A reply in the deprecated-but-still-emitted form: `typeMessage: "quotedMessage"`,
    the reply text in `extendedTextMessageData.text`, the original under `quotedMessage`."""
    participant = wid if quoted_participant is None else quoted_participant
    data = {
        "typeMessage": "quotedMessage",
        "extendedTextMessageData": {
            "text": text,
            "stanzaId": quoted_id,
            "participant": participant,
        },
        "quotedMessage": quoted_message(quoted_id, participant, text=quoted_text),
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def file_data(
    kind: FileKind | Literal["sticker"],
    *,
    caption: str = "",
    file_name: str | None = None,
    mime_type: str | None = None,
    download_url: str | None = None,
) -> dict[str, Any]:
    """`messageData` of an image/video/document/audio/sticker message (`fileMessageData`)."""
    default_name, default_mime = _FILE_DEFAULTS.get(kind, ("sticker.webp", "image/webp"))
    name = default_name if file_name is None else file_name
    url = f"https://sw-media-out.example.invalid/{name}" if download_url is None else download_url
    data: dict[str, Any] = {
        "downloadUrl": url,
        "caption": caption,
        "fileName": name,
        "jpegThumbnail": "",
        "mimeType": default_mime if mime_type is None else mime_type,
        "isForwarded": False,
        "forwardingScore": 0,
    }
    if kind == "sticker":
        data["isAnimated"] = False
    return {"typeMessage": f"{kind}Message", "fileMessageData": data}


def incoming_file(
    instance_id: str,
    chat_id: str,
    kind: FileKind,
    *,
    caption: str = "",
    file_name: str | None = None,
    mime_type: str | None = None,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `imageMessage`/`videoMessage`/`documentMessage`/`audioMessage`."""
    return _incoming(
        instance_id,
        chat_id,
        file_data(kind, caption=caption, file_name=file_name, mime_type=mime_type),
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_image(
    instance_id: str, chat_id: str, *, caption: str = "", **kwargs: Any
) -> dict[str, Any]:
    """An incoming `imageMessage` (caption may be empty). kwargs as for `incoming_file`."""
    return incoming_file(instance_id, chat_id, "image", caption=caption, **kwargs)


def incoming_video(
    instance_id: str, chat_id: str, *, caption: str = "", **kwargs: Any
) -> dict[str, Any]:
    """An incoming `videoMessage`. kwargs as for `incoming_file`."""
    return incoming_file(instance_id, chat_id, "video", caption=caption, **kwargs)


def incoming_document(
    instance_id: str, chat_id: str, *, caption: str = "", **kwargs: Any
) -> dict[str, Any]:
    """An incoming `documentMessage`. kwargs as for `incoming_file`."""
    return incoming_file(instance_id, chat_id, "document", caption=caption, **kwargs)


def incoming_audio(
    instance_id: str, chat_id: str, *, caption: str = "", **kwargs: Any
) -> dict[str, Any]:
    """An incoming `audioMessage` (a voice note: normally no caption). kwargs as for
    `incoming_file`."""
    return incoming_file(instance_id, chat_id, "audio", caption=caption, **kwargs)


def incoming_sticker(
    instance_id: str,
    chat_id: str,
    *,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `stickerMessage` (no text)."""
    return _incoming(
        instance_id,
        chat_id,
        file_data("sticker"),
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_location(
    instance_id: str,
    chat_id: str,
    *,
    latitude: float = 44.9,
    longitude: float = 37.3,
    name_location: str = "",
    address: str = "",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `locationMessage` (latitude/longitude are JSON numbers)."""
    data = {
        "typeMessage": "locationMessage",
        "locationMessageData": {
            "nameLocation": name_location,
            "address": address,
            "latitude": latitude,
            "longitude": longitude,
            "jpegThumbnail": "",
            "isForwarded": False,
            "forwardingScore": 0,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def vcard(display_name: str, phone_digits: str) -> str:
    """A minimal vCard 3.0 as WhatsApp embeds it in contact messages."""
    return (
        f"BEGIN:VCARD\nVERSION:3.0\nN:;{display_name};;;\nFN:{display_name}\n"
        f"TEL;type=CELL;waid={phone_digits}:+{phone_digits}\nEND:VCARD"
    )


def incoming_contact(
    instance_id: str,
    chat_id: str,
    *,
    display_name: str = "Anna Smith",
    phone_digits: str = "72345678910",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `contactMessage` (one shared contact card)."""
    data = {
        "typeMessage": "contactMessage",
        "contactMessageData": {
            "displayName": display_name,
            "vcard": vcard(display_name, phone_digits),
            "isForwarded": False,
            "forwardingScore": 0,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_contacts_array(
    instance_id: str,
    chat_id: str,
    contacts: list[tuple[str, str]] | None = None,
    *,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `contactsArrayMessage`; `contacts` is [(display name, phone digits)].

    Note the real, odd nesting: the contacts sit under `messageData.messageData`."""
    pairs = contacts if contacts is not None else [("Anna Smith", "72345678910")]
    data = {
        "typeMessage": "contactsArrayMessage",
        "messageData": {
            "contacts": [{"displayName": name, "vcard": vcard(name, tel)} for name, tel in pairs],
            "forwardingScore": 0,
            "isForwarded": False,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_reaction(
    instance_id: str,
    chat_id: str,
    emoji: str,
    *,
    stanza_id: str,
    participant: str | None = None,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `reactionMessage`: `emoji` on message `stanza_id` (written by
    `participant`, default the hotel's wid). An empty emoji removes a reaction."""
    data = {
        "typeMessage": "reactionMessage",
        "extendedTextMessageData": {"text": emoji},
        "quotedMessage": {
            "stanzaId": stanza_id,
            "participant": wid if participant is None else participant,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_edited(
    instance_id: str,
    chat_id: str,
    new_text: str,
    *,
    stanza_id: str,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `editedMessage`: message `stanza_id` now reads `new_text`."""
    data = {
        "typeMessage": "editedMessage",
        "editedMessageData": {"textMessage": new_text, "stanzaId": stanza_id},
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_deleted(
    instance_id: str,
    chat_id: str,
    *,
    stanza_id: str,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `deletedMessage`: the guest deleted message `stanza_id` for everyone."""
    data = {"typeMessage": "deletedMessage", "deletedMessageData": {"stanzaId": stanza_id}}
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_poll(
    instance_id: str,
    chat_id: str,
    name: str,
    options: list[str],
    *,
    multiple_answers: bool = False,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `pollMessage` (a poll created by the guest)."""
    data = {
        "typeMessage": "pollMessage",
        "pollMessageData": {
            "name": name,
            "options": [{"optionName": option} for option in options],
            "multipleAnswers": multiple_answers,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_poll_update(
    instance_id: str,
    chat_id: str,
    *,
    stanza_id: str,
    name: str,
    votes: dict[str, list[str]],
    multiple_answers: bool = False,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `pollUpdateMessage`; `votes` maps option name -> voter wids."""
    data = {
        "typeMessage": "pollUpdateMessage",
        "pollMessageData": {
            "stanzaId": stanza_id,
            "name": name,
            "votes": [
                {"optionName": option, "optionVoters": list(voters)}
                for option, voters in votes.items()
            ],
            "multipleAnswers": multiple_answers,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_buttons_response(
    instance_id: str,
    chat_id: str,
    *,
    stanza_id: str,
    selected_button_id: str = "1",
    selected_button_text: str = "Yes",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `buttonsResponseMessage` (guest tapped a simple button)."""
    data = {
        "typeMessage": "buttonsResponseMessage",
        "buttonsResponseMessage": {
            "stanzaId": stanza_id,
            "selectedButtonId": selected_button_id,
            "selectedButtonText": selected_button_text,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_template_button_reply(
    instance_id: str,
    chat_id: str,
    *,
    stanza_id: str,
    selected_index: int = 0,
    selected_id: str = "id1",
    selected_display_text: str = "Yes",
    type_message: str = "templateButtonReplyMessage",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming template-button reply. The docs' table says `typeMessage`
    "templateButtonsReplyMessage" while their examples say "templateButtonReplyMessage"
    (the default here); the data key is `templateButtonReplyMessage` in both."""
    data = {
        "typeMessage": type_message,
        "templateButtonReplyMessage": {
            "stanzaId": stanza_id,
            "selectedIndex": selected_index,
            "selectedId": selected_id,
            "selectedDisplayText": selected_display_text,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_list_response(
    instance_id: str,
    chat_id: str,
    *,
    stanza_id: str,
    title: str = "Late checkout",
    selected_row_id: str = "row1",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming `listResponseMessage` (guest picked a row of a list message)."""
    data = {
        "typeMessage": "listResponseMessage",
        "listResponseMessage": {
            "title": title,
            "listType": 1,
            "singleSelectReply": selected_row_id,
            "stanzaId": stanza_id,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_interactive_buttons_response(
    instance_id: str,
    chat_id: str,
    *,
    stanza_id: str,
    selected_display_text: str = "Yes",
    selected_id: str = "1",
    type_message: str = "interactiveButtonsResponse",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An incoming reply to interactive buttons (beta). Naming differs between the docs
    ("interactiveButtonsReply") and the chatbot SDK ("interactiveButtonsResponse", the
    default); the data object sits under a key equal to `type_message`."""
    data = {
        "typeMessage": type_message,
        type_message: {
            "stanzaId": stanza_id,
            "selectedId": selected_id,
            "selectedDisplayText": selected_display_text,
        },
    }
    return _incoming(
        instance_id,
        chat_id,
        data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_unknown_type(
    instance_id: str,
    chat_id: str,
    *,
    type_message: str = "hologramMessage",
    data: dict[str, Any] | None = None,
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """An `incomingMessageReceived` whose `typeMessage` no parser knows (must be tolerated)."""
    message_data = {
        "typeMessage": type_message,
        f"{type_message}Data": {"payload": "opaque"} if data is None else data,
    }
    return _incoming(
        instance_id,
        chat_id,
        message_data,
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


def incoming_swe_placeholder(
    instance_id: str,
    chat_id: str,
    *,
    code: str = "SWE001",
    id_message: str | None = None,
    sender_name: str = "Guest",
    timestamp: int | None = None,
    sender: str | None = None,
    chat_name: str | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """A `textMessage` carrying the `{{SWE001}}` marker (WhatsApp could not decrypt it
    on the linked device). The real text may follow later under the same `id_message`."""
    return incoming_text(
        instance_id,
        chat_id,
        "{{" + code + "}}",
        id_message=id_message,
        sender_name=sender_name,
        timestamp=timestamp,
        sender=sender,
        chat_name=chat_name,
        wid=wid,
    )


# ---------------------------------------------------------------------------------------
# outgoing* notifications


def outgoing_message(
    instance_id: str,
    chat_id: str,
    text: str,
    *,
    by_api: bool = False,
    extended: bool = False,
    id_message: str | None = None,
    sender_name: str = "Hotel",
    chat_name: str = "Guest",
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`outgoingMessageReceived` (typed on the phone, `by_api=False`) or
    `outgoingAPIMessageReceived` (`by_api=True`). `sender` is the instance's wid and
    `chatId` the peer; `extended=True` uses `extendedTextMessage` (links)."""
    return message_notification(
        "outgoingAPIMessageReceived" if by_api else "outgoingMessageReceived",
        instance_id,
        chat_id,
        extended_text_data(text) if extended else text_data(text),
        id_message=id_message,
        sender=wid,
        sender_name=sender_name,
        chat_name=chat_name,
        timestamp=timestamp,
        wid=wid,
    )


def outgoing_reply(
    instance_id: str,
    chat_id: str,
    text: str,
    *,
    quoted_id: str,
    quoted_participant: str | None = None,
    quoted_text: str = "original message",
    id_message: str | None = None,
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`outgoingMessageReceived` of a reply typed on the hotel's own phone that quotes a
    message of `chat_id` (e.g. reception answering an alert in the staff group from the
    hotel phone): `extendedTextMessage` + sibling `quotedMessage`, as for incoming replies.
    `quoted_participant` defaults to the instance's own wid (quoting its own message)."""
    body = outgoing_message(
        instance_id, chat_id, text, extended=True, id_message=id_message, timestamp=timestamp,
        wid=wid,
    )  # fmt: skip
    participant = wid if quoted_participant is None else quoted_participant
    return with_quoted(body, quoted_message(quoted_id, participant, text=quoted_text))


def outgoing_api_message(
    instance_id: str, chat_id: str, text: str, **kwargs: Any
) -> dict[str, Any]:
    """`outgoingAPIMessageReceived` (our own sendMessage confirmed). kwargs as for
    `outgoing_message`."""
    return outgoing_message(instance_id, chat_id, text, by_api=True, **kwargs)


def outgoing_api_file(
    instance_id: str,
    chat_id: str,
    kind: FileKind,
    *,
    caption: str = "",
    file_name: str | None = None,
    mime_type: str | None = None,
    download_url: str | None = None,
    id_message: str | None = None,
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`outgoingAPIMessageReceived` for a file we sent (sendFileByUrl): `fileMessageData`
    with Green API's own copy as `downloadUrl`, the caption and the file name."""
    return message_notification(
        "outgoingAPIMessageReceived",
        instance_id,
        chat_id,
        file_data(
            kind,
            caption=caption,
            file_name=file_name,
            mime_type=mime_type,
            download_url=download_url,
        ),
        id_message=id_message,
        sender=wid,
        sender_name="Hotel",
        chat_name="Guest",
        timestamp=timestamp,
        wid=wid,
    )


def outgoing_status(
    instance_id: str,
    chat_id: str,
    id_message: str,
    status: OutgoingStatus | str,
    *,
    description: str | None = None,
    send_by_api: bool = True,
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`outgoingMessageStatus`: `chatId` is top-level here (no senderData).
    `description` is only present when given (e.g. "SWE004: ..." on failures)."""
    body: dict[str, Any] = {
        "typeWebhook": "outgoingMessageStatus",
        "chatId": chat_id,
        "instanceData": instance_data(instance_id, wid),
        "timestamp": _now(timestamp),
        "idMessage": id_message,
        "status": status,
    }
    if description is not None:
        body["description"] = description
    body["sendByApi"] = send_by_api
    return body


# ---------------------------------------------------------------------------------------
# instance-level notifications


def state_instance_changed(
    instance_id: str,
    state: InstanceState | str,
    *,
    timestamp: int | None = None,
    wid: str | None = None,
) -> dict[str, Any]:
    """`stateInstanceChanged`; `wid` defaults to "" when not authorized (as observed)."""
    if wid is None:
        wid = DEFAULT_WID if state == "authorized" else ""
    return {
        "typeWebhook": "stateInstanceChanged",
        "instanceData": instance_data(instance_id, wid),
        "timestamp": _now(timestamp),
        "stateInstance": state,
    }


def status_instance_changed(
    instance_id: str,
    status: Literal["online", "offline"] | str,
    *,
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`statusInstanceChanged` (socket online/offline)."""
    return {
        "typeWebhook": "statusInstanceChanged",
        "instanceData": instance_data(instance_id, wid),
        "timestamp": _now(timestamp),
        "statusInstance": status,
    }


def incoming_call(
    instance_id: str,
    from_chat_id: str,
    status: CallStatus | str = "offer",
    *,
    id_message: str | None = None,
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`incomingCall`: a call produces "offer" then one of pickUp/hangUp/declined/missed,
    both with the same `idMessage`."""
    return {
        "from": from_chat_id,
        "typeWebhook": "incomingCall",
        "instanceData": instance_data(instance_id, wid),
        "status": status,
        "timestamp": _now(timestamp),
        "idMessage": new_id_message() if id_message is None else id_message,
    }


def missed_call(
    instance_id: str,
    from_chat_id: str,
    final_status: CallStatus | str = "hungUp",
    *,
    id_message: str | None = None,
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> list[dict[str, Any]]:
    """The two `incomingCall` notifications of one call, as the service sends them: "offer"
    when it rings, then `final_status` ("pickUp" = answered; "hungUp"/"hangUp", "declined",
    "missed" = nobody talked to the caller), both under one idMessage."""
    call_id = new_id_message() if id_message is None else id_message
    at = _now(timestamp)
    return [
        incoming_call(instance_id, from_chat_id, "offer", id_message=call_id, timestamp=at,
                      wid=wid),
        incoming_call(instance_id, from_chat_id, final_status, id_message=call_id,
                      timestamp=at + 20, wid=wid),
    ]  # fmt: skip


def incoming_block(
    instance_id: str,
    *,
    chat_id: str = "10000000000@c.us",
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`incomingBlock` (deprecated); the chatId is a placeholder in practice."""
    return {
        "typeWebhook": "incomingBlock",
        "instanceData": instance_data(instance_id, wid),
        "timestamp": _now(timestamp),
        "chatId": chat_id,
        "chatState": "blocked",
    }


def quota_exceeded(
    instance_id: str,
    *,
    allowed_chats: tuple[str, ...] = ("10001234560@c.us", "10001234561@c.us", "10001234562@c.us"),
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """`quotaExceeded` (Developer plan). Like the documented example it has no timestamp."""
    return {
        "typeWebhook": "quotaExceeded",
        "instanceData": instance_data(instance_id, wid),
        "quotaData": {
            "method": "correspondents",
            "used": len(allowed_chats),
            "total": len(allowed_chats),
            "status": "CORRESPONDENTS_QUOTA_EXCEEDED",
            "description": (
                "Monthly quota has been exceeded. You can only send or receive messages "
                f"from following chats: {', '.join(allowed_chats)}. Please go to your "
                "personal account and change the tariff to business https://console.green-api.com"
            ),
        },
    }


def device_info(
    instance_id: str, *, battery: int = 90, timestamp: int | None = None, wid: str = DEFAULT_WID
) -> dict[str, Any]:
    """`deviceInfo` (documented as not working, but a parser must tolerate it)."""
    return {
        "typeWebhook": "deviceInfo",
        "instanceData": instance_data(instance_id, wid),
        "timestamp": _now(timestamp),
        "deviceData": {
            "platform": "iphone",
            "deviceManufacturer": "Apple",
            "deviceModel": "iPhone 11",
            "osVersion": "13.4.1",
            "waVersion": "2.20.42",
            "battery": battery,
        },
    }


def unknown_webhook(
    instance_id: str,
    *,
    type_webhook: str = "hologramReceived",
    extra: dict[str, Any] | None = None,
    timestamp: int | None = None,
    wid: str = DEFAULT_WID,
) -> dict[str, Any]:
    """A notification with a `typeWebhook` no parser knows (must be stored and deleted)."""
    body: dict[str, Any] = {
        "typeWebhook": type_webhook,
        "instanceData": instance_data(instance_id, wid),
        "timestamp": _now(timestamp),
    }
    body.update(extra or {"hologramData": {"depth": 3}})
    return body
