"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, timezone-aware UTC datetimes out, on every backend.

    SQLite has no time zone type, so values are normalised to UTC before storing and
    marked UTC when read; PostgreSQL uses TIMESTAMP WITH TIME ZONE. Naive datetimes are
    rejected: a naive time in a scheduler is a bug waiting for a DST change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


_StrColumn = InstrumentedAttribute[str] | InstrumentedAttribute[str | None]


def width(column: _StrColumn) -> int:
    """The declared length of a String column: the model is the one place that says it."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} has no declared length")
    return length


@overload
def fit(value: str, column: _StrColumn) -> str: ...
@overload
def fit(value: None, column: _StrColumn) -> None: ...
@overload
def fit(value: str | None, column: _StrColumn) -> str | None: ...
def fit(value: str | None, column: _StrColumn) -> str | None:
    """`value` cut to its String column's width (PostgreSQL rejects longer values; SQLite
    would keep them, so both databases store the same thing). None stays None."""
    if value is None:
        return None
    limit = width(column)
    return value if len(value) <= limit else value[:limit]


STORED_ERROR_CHARS = 1000
"""The longest error text kept in a Text column (process_error, dead letters): errors are
one line from `error_text.describe`; the cap keeps a pathological one from bloating rows."""
