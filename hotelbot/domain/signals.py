"""Guest signals without words: missed calls, voice notes, photos, videos, documents, shared
locations and stickers (pure, stdlib only).

Nothing can judge such a message (there is no text), yet a guest who calls or sends a voice
note wants a person. Each hotel says per kind what happens (`SignalMode`, columns
`hotels.signal_<kind>`):

* ALERT: staff are told at once, through the alert path (cooldown per conversation, the
  alert lane): "Anna (+371...), room 101, sent a voice note: open WhatsApp to listen";
* DIGEST: no message of its own; the next alert or follow-up about that guest lists it
  ("Also from this guest: 3 photos"), and `hotelbot stats` counts it;
* IGNORE: stored with the conversation, nothing more.

Only guests with a current stay (storage.stays.current_stay) raise alerts; the rest is
stored like any message. A photo, video or document *with* a caption is judged by its
caption like a text message and is no signal. A call is a signal when nobody picked it up.

The signal rides on a `Verdict` (analyser "signal", reason = the kind's label), so a signal
that alerts goes through exactly the same decisions as a complaint, and the message row
says what it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from hotelbot.domain.events import Event, IncomingCall, IncomingMessage, MessageKind
from hotelbot.domain.sentiment import AnalyserName, Sentiment, Verdict


class SignalKind(StrEnum):
    """A kind of guest message without words (column `hotels.signal_<value>`)."""

    CALL = "call"  # a WhatsApp call nobody picked up
    VOICE_NOTE = "voice_note"
    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"
    LOCATION = "location"
    STICKER = "sticker"

    @property
    def column(self) -> str:
        """The hotels column holding this kind's mode."""
        return f"signal_{self.value}"


class SignalMode(StrEnum):
    """What a hotel does with one kind of signal."""

    ALERT = "alert"
    DIGEST = "digest"
    IGNORE = "ignore"


DEFAULT_MODES: Final[Mapping[SignalKind, SignalMode]] = {
    SignalKind.CALL: SignalMode.ALERT,
    SignalKind.VOICE_NOTE: SignalMode.ALERT,
    SignalKind.PHOTO: SignalMode.DIGEST,
    SignalKind.VIDEO: SignalMode.DIGEST,
    SignalKind.DOCUMENT: SignalMode.DIGEST,
    SignalKind.LOCATION: SignalMode.DIGEST,
    # Mostly a smile or a thumbs-up; a hotel that wants them counted says so.
    SignalKind.STICKER: SignalMode.IGNORE,
}

ANALYSER: Final = AnalyserName.SIGNAL
"""`Verdict.analyser` (and `messages.analyser`) of a signal's verdict."""

# Kinds of a file message that are signals only without a caption (a caption is read).
_CAPTIONED: Final[Mapping[MessageKind, SignalKind]] = {
    MessageKind.IMAGE: SignalKind.PHOTO,
    MessageKind.VIDEO: SignalKind.VIDEO,
    MessageKind.DOCUMENT: SignalKind.DOCUMENT,
}
# Kinds that are signals whatever they carry: a voice note's caption is not its content,
# and a location's "text" is a place name, not the guest's words.
_ALWAYS: Final[Mapping[MessageKind, SignalKind]] = {
    MessageKind.AUDIO: SignalKind.VOICE_NOTE,
    MessageKind.LOCATION: SignalKind.LOCATION,
    MessageKind.STICKER: SignalKind.STICKER,
    MessageKind.CALL: SignalKind.CALL,
}

# Call statuses that are not a missed call: still ringing, or answered. Green API sends
# "offer" and then exactly one of pickUp / hungUp (hangUp) / declined / missed for a call;
# any final status but pickUp means nobody talked to the guest (an unknown one too: staff
# would rather call back once too often).
_NOT_MISSED: Final = frozenset({"offer", "pickup"})
CALL_TYPE_MESSAGE: Final = "incomingCall"


def parse_mode(value: str) -> SignalMode | None:
    """The mode named by `value` (case and spaces forgiven), None when it names none."""
    try:
        return SignalMode(value.strip().lower())
    except ValueError:
        return None


def signal_of(event: IncomingMessage) -> SignalKind | None:
    """The signal an incoming message is, or None when it has words to judge (or is not a
    message a guest sends on purpose: reactions, edits, polls...)."""
    kind = _ALWAYS.get(event.kind)
    if kind is not None:
        return kind
    kind = _CAPTIONED.get(event.kind)
    if kind is not None and not (event.text and event.text.strip()):
        return kind
    return None


def is_missed(call: IncomingCall) -> bool:
    """True for the final notification of a call nobody picked up."""
    return call.status.strip().lower() not in _NOT_MISSED


def missed_call_message(call: IncomingCall, received_at: datetime) -> IncomingMessage | None:
    """A missed call as the guest's entry in the conversation (kind CALL, no text), or None
    for a call that is ringing or was answered. The call's idMessage keys it, so a
    redelivered notification is the same row."""
    if not is_missed(call):
        return None
    at = call.timestamp or received_at
    return IncomingMessage(
        id_message=call.id_message or f"call-{int(at.timestamp())}",
        chat_id=call.from_id,
        sender_id=call.from_id,
        sender_name=None,
        timestamp=call.timestamp,
        kind=MessageKind.CALL,
        type_message=CALL_TYPE_MESSAGE,
        text=None,
    )


def as_guest_event(event: Event, received_at: datetime) -> Event:
    """`event`, with a missed call turned into the guest's conversation entry."""
    if isinstance(event, IncomingCall):
        return missed_call_message(event, received_at) or event
    return event


# -- verdicts -------------------------------------------------------------------------------

_LABELS: Final[Mapping[SignalKind, str]] = {
    SignalKind.CALL: "missed call",
    SignalKind.VOICE_NOTE: "voice note",
    SignalKind.PHOTO: "photo",
    SignalKind.VIDEO: "video",
    SignalKind.DOCUMENT: "document",
    SignalKind.LOCATION: "location",
    SignalKind.STICKER: "sticker",
}
_BY_LABEL: Final = {label: kind for kind, label in _LABELS.items()}


def signal_verdict(kind: SignalKind, mode: SignalMode) -> Verdict:
    """The verdict recorded on a signal's message row. It requires attention only in ALERT
    mode (storage withdraws that for a guest without a current stay)."""
    return Verdict(
        sentiment=Sentiment.NEUTRAL,
        score=0.0,
        requires_attention=mode is SignalMode.ALERT,
        reason=_LABELS[kind],
        language="und",
        analyser=ANALYSER,
    )


def without_attention(verdict: Verdict) -> Verdict:
    """The same verdict, not requiring attention (a signal from someone not staying)."""
    return replace(verdict, requires_attention=False)


def kind_of_reason(reason: str | None) -> SignalKind | None:
    """The kind a stored signal verdict's reason names (inverse of `signal_verdict`)."""
    return _BY_LABEL.get(reason or "")


# The digest of an alert counts the guest's signals since the conversation's previous alert,
# but not further back than this: a photo from last week is no news.
DIGEST_WINDOW = timedelta(days=1)


def digest_since(last_alert_at: datetime | None, now: datetime) -> datetime:
    """Where the digest of an alert sent at `now` starts counting."""
    floor = now - DIGEST_WINDOW
    return floor if last_alert_at is None else max(last_alert_at, floor)
