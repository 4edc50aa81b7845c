"""The database library's errors in hotelbot's own types (`hotelbot.errors.StorageError`).

Layers outside storage (the CLI above all) catch `StorageError` and never import the
database library to recognise its errors: `translate(exc)` is the one place that does.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from hotelbot.error_text import describe, is_refusal, is_transient
from hotelbot.errors import StorageError, StorageRefused, StorageUnavailable

# Unique constraints an operator can hit, in words (the rest are named as they are). Keys:
# PostgreSQL's constraint name, then SQLite's "table.column" of its message.
OPERATOR_CONSTRAINTS = {
    ("uq_hotels_instance_id", "hotels.instance_id"): (
        "this instance_id is already used by another hotel"
    ),
    ("uq_hotels_slug", "hotels.slug"): "a hotel with this slug already exists",
    ("uq_stays_hotel_id_external_ref", "stays.hotel_id, stays.external_ref"): (
        "a stay with this external_ref already exists"
    ),
    ("uq_stays_hotel_id_chat_id_check_in", "stays.hotel_id, stays.chat_id, stays.check_in"): (
        "this guest already has a stay from that day"
    ),
}


def translate(exc: BaseException) -> StorageError | None:
    """`exc` as a `StorageError` when the database library raised it, else None. A refusal
    becomes `StorageRefused` (with the constraint in words when an operator can hit it), an
    unavailable database `StorageUnavailable`, anything else a plain `StorageError`; the
    text is `error_text.describe(exc)` (no statement, no values)."""
    if not isinstance(exc, SQLAlchemyError):
        return None
    detail = describe(exc)
    if is_refusal(exc):
        constraint = next(
            (
                (names[0], words)
                for names, words in OPERATOR_CONSTRAINTS.items()
                if any(name in detail for name in names)
            ),
            None,
        )
        return StorageRefused(detail, constraint)
    if is_transient(exc):
        return StorageUnavailable(detail)
    return StorageError(detail)
