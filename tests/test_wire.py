"""interpret(): every real-shaped notification tests/shapes.py -> typed events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotelbot.domain.events import (
    DeliveryStatus,
    IncomingCall,
    IncomingMessage,
    InstanceStateChanged,
    InstanceStatusChanged,
    MessageKind,
    OutgoingMessage,
    QuotaExceeded,
    UnknownNotification,
)
from hotelbot.greenapi.wire import interpret
from tests import shapes

INSTANCE = "1101000001"
CHAT = shapes.EXAMPLE_PERSONAL_CHAT
TS = 1_763_700_000


def _interpret(body: dict[str, Any]) -> Any:
    return interpret(json.dumps(body, ensure_ascii=False))


def test_incoming_text_has_every_field() -> None:
    body = shapes.incoming_text(
        INSTANCE, CHAT, "Hello", id_message="ABC", sender_name="Anna", timestamp=TS
    )
    event = _interpret(body)
    assert isinstance(event, IncomingMessage)
    assert event.kind is MessageKind.TEXT
    assert (event.id_message, event.chat_id, event.text) == ("ABC", CHAT, "Hello")
    assert (event.sender_id, event.sender_name) == (CHAT, "Anna")
    assert event.timestamp == datetime.fromtimestamp(TS, UTC)
    assert event.timestamp is not None and event.timestamp.tzinfo is not None
    assert not event.is_group and not event.undecryptable and event.target_id is None


S = "STANZA1"
CASES: list[tuple[str, dict[str, Any], MessageKind, str | None, str | None]] = [
    (
        "extended",
        shapes.incoming_extended_text(INSTANCE, CHAT, "see link"),
        MessageKind.EXTENDED_TEXT,
        "see link",
        None,
    ),
    (
        "reply",
        shapes.incoming_reply(INSTANCE, CHAT, "yes", quoted_id=S),
        MessageKind.EXTENDED_TEXT,
        "yes",
        S,
    ),
    (
        "quoted",
        shapes.incoming_quoted_legacy(INSTANCE, CHAT, "ok", quoted_id=S),
        MessageKind.QUOTED,
        "ok",
        S,
    ),
    (
        "image",
        shapes.incoming_image(INSTANCE, CHAT, caption="broken lamp"),
        MessageKind.IMAGE,
        "broken lamp",
        None,
    ),
    ("image-empty", shapes.incoming_image(INSTANCE, CHAT), MessageKind.IMAGE, None, None),
    ("video", shapes.incoming_video(INSTANCE, CHAT, caption="v"), MessageKind.VIDEO, "v", None),
    ("document", shapes.incoming_document(INSTANCE, CHAT), MessageKind.DOCUMENT, None, None),
    ("audio", shapes.incoming_audio(INSTANCE, CHAT), MessageKind.AUDIO, None, None),
    ("sticker", shapes.incoming_sticker(INSTANCE, CHAT), MessageKind.STICKER, None, None),
    (
        "location",
        shapes.incoming_location(INSTANCE, CHAT, name_location="Beach"),
        MessageKind.LOCATION,
        "Beach",
        None,
    ),
    ("contact", shapes.incoming_contact(INSTANCE, CHAT), MessageKind.CONTACT, None, None),
    ("contacts", shapes.incoming_contacts_array(INSTANCE, CHAT), MessageKind.CONTACTS, None, None),
    (
        "reaction",
        shapes.incoming_reaction(INSTANCE, CHAT, "👎", stanza_id=S),
        MessageKind.REACTION,
        "👎",
        S,
    ),
    (
        "edited",
        shapes.incoming_edited(INSTANCE, CHAT, "new", stanza_id=S),
        MessageKind.EDITED,
        "new",
        S,
    ),
    ("deleted", shapes.incoming_deleted(INSTANCE, CHAT, stanza_id=S), MessageKind.DELETED, None, S),
    (
        "poll",
        shapes.incoming_poll(INSTANCE, CHAT, "Dinner?", ["7", "8"]),
        MessageKind.POLL,
        "Dinner?",
        None,
    ),
    (
        "poll-update",
        shapes.incoming_poll_update(
            INSTANCE, CHAT, stanza_id=S, name="Dinner?", votes={"7": [CHAT]}
        ),
        MessageKind.POLL_UPDATE,
        None,
        S,
    ),
    (
        "buttons",
        shapes.incoming_buttons_response(INSTANCE, CHAT, stanza_id=S, selected_button_text="Yes"),
        MessageKind.BUTTONS_REPLY,
        "Yes",
        S,
    ),
    (
        "template",
        shapes.incoming_template_button_reply(
            INSTANCE, CHAT, stanza_id=S, selected_display_text="No"
        ),
        MessageKind.TEMPLATE_BUTTON_REPLY,
        "No",
        S,
    ),
    (
        "template-doc-spelling",
        shapes.incoming_template_button_reply(
            INSTANCE, CHAT, stanza_id=S, type_message="templateButtonsReplyMessage"
        ),
        MessageKind.TEMPLATE_BUTTON_REPLY,
        "Yes",
        S,
    ),
    (
        "list",
        shapes.incoming_list_response(INSTANCE, CHAT, stanza_id=S, title="Late checkout"),
        MessageKind.LIST_REPLY,
        "Late checkout",
        S,
    ),
    (
        "interactive",
        shapes.incoming_interactive_buttons_response(INSTANCE, CHAT, stanza_id=S),
        MessageKind.INTERACTIVE_REPLY,
        "Yes",
        S,
    ),
    (
        "interactive-doc-spelling",
        shapes.incoming_interactive_buttons_response(
            INSTANCE, CHAT, stanza_id=S, type_message="interactiveButtonsReply"
        ),
        MessageKind.INTERACTIVE_REPLY,
        "Yes",
        S,
    ),
    ("unknown", shapes.incoming_unknown_type(INSTANCE, CHAT), MessageKind.UNKNOWN, None, None),
]


@pytest.mark.parametrize(
    ("name", "body", "kind", "text", "target"), CASES, ids=[c[0] for c in CASES]
)
def test_every_incoming_type(
    name: str, body: dict[str, Any], kind: MessageKind, text: str | None, target: str | None
) -> None:
    event = _interpret(body)
    assert isinstance(event, IncomingMessage)
    assert (event.kind, event.text, event.target_id) == (kind, text, target)
    assert event.type_message == body["messageData"]["typeMessage"]


@pytest.mark.parametrize("code", ["SWE001", "SWE003", "SWE999"])
def test_swe_placeholders_are_not_text(code: str) -> None:
    event = _interpret(shapes.incoming_swe_placeholder(INSTANCE, CHAT, code=code))
    assert isinstance(event, IncomingMessage)
    assert event.undecryptable and event.text is None and event.error_code == code


def test_empty_text_message_data_is_a_placeholder() -> None:
    body = shapes.incoming_text(INSTANCE, CHAT, "x")
    body["messageData"]["textMessageData"] = {}
    event = _interpret(body)
    assert isinstance(event, IncomingMessage) and event.undecryptable and event.text is None


def test_group_message() -> None:
    body = shapes.incoming_group_text(INSTANCE, shapes.EXAMPLE_GROUP_CHAT, CHAT, "hi all")
    event = _interpret(body)
    assert isinstance(event, IncomingMessage)
    assert event.is_group and event.sender_id == CHAT and event.chat_id.endswith("@g.us")


def test_outgoing_from_phone_and_from_api() -> None:
    phone = _interpret(shapes.outgoing_message(INSTANCE, CHAT, "On our way"))
    api = _interpret(shapes.outgoing_api_message(INSTANCE, CHAT, "Welcome", extended=True))
    assert isinstance(phone, OutgoingMessage) and phone.from_phone and not phone.from_api
    assert isinstance(api, OutgoingMessage) and api.from_api
    assert api.kind is MessageKind.EXTENDED_TEXT and api.text == "Welcome"


def test_status_state_call_quota() -> None:
    status = _interpret(
        shapes.outgoing_status(INSTANCE, CHAT, "ID1", "noAccount", description="SWE004: 1000")
    )
    assert status == DeliveryStatus(
        "ID1", CHAT, "noAccount", "SWE004: 1000", True, status.timestamp
    )
    state = _interpret(shapes.state_instance_changed(INSTANCE, "notAuthorized"))
    assert isinstance(state, InstanceStateChanged) and not state.is_authorized
    online = _interpret(shapes.status_instance_changed(INSTANCE, "online"))
    assert isinstance(online, InstanceStatusChanged) and online.status == "online"
    call = _interpret(shapes.incoming_call(INSTANCE, CHAT, "offer", id_message="C1"))
    assert call == IncomingCall(CHAT, "offer", "C1", call.timestamp)
    # A caller that is no chat id can never become a conversation.
    odd = _interpret(shapes.incoming_call(INSTANCE, "status@broadcast", "missed"))
    assert odd == UnknownNotification("incomingCall", "from is not a chat id")
    quota = _interpret(shapes.quota_exceeded(INSTANCE))
    assert quota == QuotaExceeded("correspondents", 3, 3, "CORRESPONDENTS_QUOTA_EXCEEDED")


@pytest.mark.parametrize(
    "body",
    [
        shapes.unknown_webhook(INSTANCE),
        shapes.device_info(INSTANCE),
        shapes.incoming_block(INSTANCE),
    ],
)
def test_unknown_and_deprecated_webhooks(body: dict[str, Any]) -> None:
    event = _interpret(body)
    assert isinstance(event, UnknownNotification) and event.type_webhook == body["typeWebhook"]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "null",
        "[]",
        '{"typeWebhook": 5}',
        '{"typeWebhook": "incomingMessageReceived"}',
        '{"typeWebhook": "incomingMessageReceived", "idMessage": "A", "senderData": []}',
        '{"typeWebhook": "outgoingMessageStatus", "idMessage": 3}',
        '{"typeWebhook": "stateInstanceChanged"}',
        '{"typeWebhook": "incomingCall"}',
        "[" * 100_000,
    ],
)
def test_bad_shapes_become_unknown(raw: str) -> None:
    assert isinstance(interpret(raw), UnknownNotification)


def test_missing_message_data_is_an_unknown_kind_not_an_error() -> None:
    body = shapes.incoming_text(INSTANCE, CHAT, "x")
    del body["messageData"]
    del body["timestamp"]
    event = _interpret(body)
    assert isinstance(event, IncomingMessage)
    assert event.kind is MessageKind.UNKNOWN and event.timestamp is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=6,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "incomingMessageReceived",
            "outgoingAPIMessageReceived",
            "outgoingMessageStatus",
            "stateInstanceChanged",
            "incomingCall",
            "quotaExceeded",
            "x",
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "idMessage",
                "senderData",
                "messageData",
                "timestamp",
                "status",
                "chatId",
                "from",
                "stateInstance",
                "quotaData",
            ]
        ),
        json_values,
        max_size=4,
    ),
)
def test_never_raises(type_webhook: str, fields: dict[str, Any]) -> None:
    interpret(json.dumps({"typeWebhook": type_webhook, **fields}))
