"""Bulk secret registration masks exactly what one-by-one registration masks."""

from __future__ import annotations

from hotelbot.redact import MASK, SecretRegistry


def test_register_many_masks_every_value_like_register() -> None:
    tokens = [f"tok{i:04d}abcdef{i * 7919 % 10007}" for i in range(300)]
    bulk, single = SecretRegistry(), SecretRegistry()
    bulk.register_many([*tokens, "  ", "ab"])  # blank and short values are ignored
    for token in tokens:
        single.register(token)
    assert len(bulk) == len(single)
    for token in tokens[::37]:
        line = f"GET /waInstance1/receiveNotification/{token}?receiveTimeout=20"
        assert bulk.redact(line) == single.redact(line)
        assert token not in bulk.redact(line) and MASK in bulk.redact(line)
    assert bulk.redact("nothing secret here") == "nothing secret here"
