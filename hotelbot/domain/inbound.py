"""What one receiveNotification call can hand us, as typed values."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Delivery:
    """A well-formed queue item. `body_json` is the notification body re-serialised compactly
    (strings normalised so every database accepts it); `dedupe_key` identifies the event so a
    second delivery of it is recognised. `raw` is the response as received: kept only for a
    dead letter, should storing the item fail for good."""

    receipt_id: int
    type_webhook: str
    dedupe_key: str
    chat_id: str | None
    id_message: str | None
    body_json: str
    raw: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class MalformedDelivery:
    """A queue item we cannot interpret. It is dead-lettered (its bytes kept) and then deleted
    when `receipt_id` is known; without a receipt id it cannot be deleted at all. `error`
    says why, without quoting the item."""

    receipt_id: int | None
    raw: bytes = field(repr=False)
    error: str
    # True when the text is not even JSON: more likely damaged in transit than a bad
    # notification, so it is received again a few times before being dead-lettered.
    retryable: bool = False
