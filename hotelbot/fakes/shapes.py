"""Builders of real-shaped Green API notification bodies (the `body` of a queue item): the ones
the fake server (`fakes/greenapi.py`) and the demo send. The other shapes only tests use are in
`tests/shapes.py`, which re-exports these.

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


OutgoingStatus = Literal[
    "sent", "delivered", "read", "failed", "noAccount", "notInGroup", "yellowCard"
]


InstanceState = Literal[
    "notAuthorized", "authorized", "blocked", "sleepMode", "starting", "yellowCard"
]


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


def stamp_or_now(timestamp: int | None) -> int:
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
        "timestamp": stamp_or_now(timestamp),
        "idMessage": new_id_message() if id_message is None else id_message,
        "senderData": sender_data,
        "messageData": message_data,
    }


def incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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


def incoming_audio(
    instance_id: str, chat_id: str, *, caption: str = "", **kwargs: Any
) -> dict[str, Any]:
    """An incoming `audioMessage` (a voice note: normally no caption). kwargs as for
    `incoming_file`."""
    return incoming_file(instance_id, chat_id, "audio", caption=caption, **kwargs)


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
        "timestamp": stamp_or_now(timestamp),
        "idMessage": id_message,
        "status": status,
    }
    if description is not None:
        body["description"] = description
    body["sendByApi"] = send_by_api
    return body


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
        "timestamp": stamp_or_now(timestamp),
        "stateInstance": state,
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
        "timestamp": stamp_or_now(timestamp),
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
    at = stamp_or_now(timestamp)
    return [
        incoming_call(
            instance_id, from_chat_id, "offer", id_message=call_id, timestamp=at, wid=wid
        ),
        incoming_call(
            instance_id, from_chat_id, final_status, id_message=call_id, timestamp=at + 20, wid=wid
        ),
    ]
