"""Every real-shaped Green API notification body the tests build (the `body` of a queue item).

The builders the fake server and the demo need ship in `hotelbot.fakes.shapes` and are
re-exported here, so a test imports one module (`from tests import shapes`); the rest (every
other typeMessage, instance-level notifications, example chat ids) only tests use, and lives
here, outside the shipped package. Conventions as in `hotelbot.fakes.shapes`.
"""

from __future__ import annotations

from typing import Any, Literal

from hotelbot.fakes.shapes import (
    DEFAULT_WID,
    CallStatus,
    FileKind,
    InstanceState,
    OutgoingStatus,
    extended_text_data,
    file_data,
    incoming_audio,
    incoming_call,
    incoming_extended_text,
    incoming_file,
    incoming_image,
    incoming_message,
    incoming_reply,
    incoming_text,
    instance_data,
    message_notification,
    missed_call,
    new_id_message,
    outgoing_api_file,
    outgoing_api_message,
    outgoing_message,
    outgoing_status,
    quoted_message,
    stamp_or_now,
    state_instance_changed,
    text_data,
    with_quoted,
)

__all__ = [
    "DEFAULT_WID",
    "EXAMPLE_GROUP_CHAT",
    "EXAMPLE_LEGACY_GROUP_CHAT",
    "EXAMPLE_LID_CHAT",
    "EXAMPLE_PERSONAL_CHAT",
    "INSTANCE_STATES",
    "OUTGOING_STATUSES",
    "CallStatus",
    "FileKind",
    "InstanceState",
    "OutgoingStatus",
    "device_info",
    "extended_text_data",
    "file_data",
    "incoming_audio",
    "incoming_block",
    "incoming_buttons_response",
    "incoming_call",
    "incoming_contact",
    "incoming_contacts_array",
    "incoming_deleted",
    "incoming_document",
    "incoming_edited",
    "incoming_extended_text",
    "incoming_file",
    "incoming_group_text",
    "incoming_image",
    "incoming_interactive_buttons_response",
    "incoming_list_response",
    "incoming_location",
    "incoming_message",
    "incoming_poll",
    "incoming_poll_update",
    "incoming_quoted_legacy",
    "incoming_reaction",
    "incoming_reply",
    "incoming_sticker",
    "incoming_swe_placeholder",
    "incoming_template_button_reply",
    "incoming_text",
    "incoming_unknown_type",
    "incoming_video",
    "instance_data",
    "message_notification",
    "missed_call",
    "new_id_message",
    "outgoing_api_file",
    "outgoing_api_message",
    "outgoing_message",
    "outgoing_reply",
    "outgoing_status",
    "quota_exceeded",
    "quoted_message",
    "stamp_or_now",
    "state_instance_changed",
    "status_instance_changed",
    "text_data",
    "unknown_webhook",
    "vcard",
    "with_quoted",
]

EXAMPLE_PERSONAL_CHAT = "79001234568@c.us"


EXAMPLE_GROUP_CHAT = "120363043968066561@g.us"


EXAMPLE_LEGACY_GROUP_CHAT = "79876543210-1581234048@g.us"


EXAMPLE_LID_CHAT = "123456789012345@lid"


OUTGOING_STATUSES: tuple[OutgoingStatus, ...] = (
    "sent",
    "delivered",
    "read",
    "failed",
    "noAccount",
    "notInGroup",
    "yellowCard",
)


INSTANCE_STATES: tuple[InstanceState, ...] = (
    "notAuthorized",
    "authorized",
    "blocked",
    "sleepMode",
    "starting",
    "yellowCard",
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
    return incoming_message(
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
        instance_id,
        chat_id,
        text,
        extended=True,
        id_message=id_message,
        timestamp=timestamp,
        wid=wid,
    )
    participant = wid if quoted_participant is None else quoted_participant
    return with_quoted(body, quoted_message(quoted_id, participant, text=quoted_text))


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
        "timestamp": stamp_or_now(timestamp),
        "statusInstance": status,
    }


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
        "timestamp": stamp_or_now(timestamp),
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
        "timestamp": stamp_or_now(timestamp),
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
        "timestamp": stamp_or_now(timestamp),
    }
    body.update(extra or {"hologramData": {"depth": 3}})
    return body
