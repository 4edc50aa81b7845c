"""Column widths come from the models: `storage.types.width`/`fit` read the declared String
length, and the widths the Green API adapter caps wire ids to (it may not import storage)
are the models' widths."""

from __future__ import annotations

import pytest

from hotelbot.greenapi import normalise
from hotelbot.storage.models import Notification
from hotelbot.storage.models_messaging import Alert, Guest, Message
from hotelbot.storage.types import fit, width


def test_width_is_the_declared_length() -> None:
    assert width(Alert.reason) == 200
    assert width(Message.language) == 8
    with pytest.raises(TypeError):
        width(Message.text)  # Text: no declared length


def test_fit_cuts_only_what_is_too_long() -> None:
    limit = width(Guest.name)
    assert fit("x" * (limit + 5), Guest.name) == "x" * limit
    assert fit("Anna", Guest.name) == "Anna"
    assert fit(None, Guest.name) is None


def test_the_adapter_caps_wire_values_to_the_notifications_columns() -> None:
    assert width(Notification.type_webhook) == normalise.STORED_TYPE_WEBHOOK_CHARS
    assert width(Notification.chat_id) == normalise.STORED_CHAT_ID_CHARS
    assert width(Notification.id_message) == normalise.STORED_ID_MESSAGE_CHARS
    assert width(Notification.dedupe_key) == normalise.STORED_DEDUPE_KEY_CHARS
