"""What a stored Green API notification means, as typed values (pure, stdlib only).

`hotelbot.greenapi.wire.interpret` is the only producer. Every notification becomes exactly
one of the `Event` classes below; shapes nobody knows become `UnknownNotification` (or a
message of kind `UNKNOWN` that keeps its wire `type_message`), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MessageKind(StrEnum):
    """The kind of a WhatsApp message, independent of Green API's spelling."""

    TEXT = "text"
    EXTENDED_TEXT = "extended_text"
    QUOTED = "quoted"
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"
    AUDIO = "audio"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    CONTACTS = "contacts"
    REACTION = "reaction"
    EDITED = "edited"
    DELETED = "deleted"
    POLL = "poll"
    POLL_UPDATE = "poll_update"
    BUTTONS_REPLY = "buttons_reply"
    TEMPLATE_BUTTON_REPLY = "template_button_reply"
    LIST_REPLY = "list_reply"
    INTERACTIVE_REPLY = "interactive_reply"
    INTERACTIVE = "interactive"  # a message *containing* buttons/lists/invites
    CALL = "call"  # a missed WhatsApp call, stored as the guest's entry (domain.signals)
    UNKNOWN = "unknown"


# Kinds that change another message (the one named by `target_id`) rather than add one.
MODIFIER_KINDS = frozenset({MessageKind.REACTION, MessageKind.EDITED, MessageKind.DELETED})


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """Fields shared by incoming and outgoing messages.

    `text` is what a person wrote (text, caption, edited text, selected button...) or None.
    `undecryptable` marks Green API's {{SWE00x}} placeholders: `text` is then None and the
    real text may arrive later under the same `id_message`. `target_id` is the stanzaId of
    the message this one reacts to, edits, deletes, quotes or answers (None otherwise).
    `timestamp` is None when the notification carried none (the caller uses receipt time).
    """

    id_message: str
    chat_id: str
    sender_id: str | None
    sender_name: str | None
    timestamp: datetime | None
    kind: MessageKind
    type_message: str
    text: str | None
    undecryptable: bool = False
    error_code: str | None = None
    target_id: str | None = None

    @property
    def is_group(self) -> bool:
        return self.chat_id.endswith("@g.us")


@dataclass(frozen=True, slots=True)
class IncomingMessage(MessageEvent):
    """incomingMessageReceived: a guest (or a group participant) wrote to the hotel."""

    contact_name: str | None = None  # the name in the hotel phone's address book


@dataclass(frozen=True, slots=True)
class OutgoingMessage(MessageEvent):
    """outgoing*MessageReceived: the hotel's number sent a message.

    `from_api` True = sent through the API (hotelbot's own sendMessage echoed back);
    False = staff typed it on the phone or WhatsApp Web.
    """

    from_api: bool = False

    @property
    def from_phone(self) -> bool:
        return not self.from_api


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """outgoingMessageStatus: sent / delivered / read / failed / noAccount / ..."""

    id_message: str
    chat_id: str | None
    status: str
    description: str | None
    send_by_api: bool | None
    timestamp: datetime | None


class InstanceState(StrEnum):
    """A Green API instance's state (getStateInstance, stateInstanceChanged; column
    `hotels.instance_state`). Other values may arrive; they are kept as they come."""

    AUTHORIZED = "authorized"
    NOT_AUTHORIZED = "notAuthorized"  # the WhatsApp number was logged out: scan the QR code
    BLOCKED = "blocked"
    SLEEP_MODE = "sleepMode"
    STARTING = "starting"
    YELLOW_CARD = "yellowCard"  # sending throttled by WhatsApp, not stopped


SENDABLE_STATES: frozenset[str] = frozenset({InstanceState.AUTHORIZED, InstanceState.YELLOW_CARD})
"""Instance states in which messages can go out."""


@dataclass(frozen=True, slots=True)
class InstanceStateChanged:
    """stateInstanceChanged: authorized, notAuthorized, blocked, sleepMode, starting, ..."""

    state: str
    timestamp: datetime | None

    @property
    def is_authorized(self) -> bool:
        return self.state == InstanceState.AUTHORIZED


@dataclass(frozen=True, slots=True)
class InstanceStatusChanged:
    """statusInstanceChanged: the instance's socket went online or offline."""

    status: str
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """incomingCall: offer, then pickUp / hungUp / declined / missed for the same id."""

    from_id: str
    status: str
    id_message: str | None
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class QuotaExceeded:
    """quotaExceeded (Developer plan): the instance may only talk to some chats this month."""

    method: str | None
    used: int | None
    total: int | None
    status: str | None


@dataclass(frozen=True, slots=True)
class UnknownNotification:
    """Anything else: an unknown typeWebhook, a deprecated one, or a known one whose shape
    was unusable (`problem` says why; it never contains guest text)."""

    type_webhook: str
    problem: str | None = None


Event = (
    IncomingMessage
    | OutgoingMessage
    | DeliveryStatus
    | InstanceStateChanged
    | InstanceStatusChanged
    | IncomingCall
    | QuotaExceeded
    | UnknownNotification
)
