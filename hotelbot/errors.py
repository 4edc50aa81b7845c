"""The root of hotelbot's own exceptions and the ones every layer shares."""

from __future__ import annotations


class HotelbotError(Exception):
    """Base of every error hotelbot raises on purpose."""


class UserError(HotelbotError):
    """A mistake by the operator (bad argument, unknown hotel).

    The CLI prints it without a traceback."""


class ConfigError(UserError):
    """Invalid configuration. The message names the file (or environment variable) and the key.

    The daemon exits with status 78 (EX_CONFIG) on this error so systemd does not restart-loop.
    """


class SchemaError(HotelbotError):
    """The database schema is missing, out of date, or newer than this program."""


class StorageError(HotelbotError):
    """A database statement failed. `str()` is one line naming what failed (the driver's
    error class, code and constraint: never the statement or its values, which hold guest
    text and tokens), fit for any log level and for operators. Raised by
    `hotelbot.storage.errors.translate` for the database library's own errors, so the layers
    outside storage catch this instead of the library's types."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class StorageRefused(StorageError):
    """The database refused a value or a change (a constraint, a trigger, bad data): retrying
    the same change fails the same way. `constraint`: the unique constraint an operator can
    hit, as (its name, what it means in words), when it is one of those; else None."""

    def __init__(self, detail: str, constraint: tuple[str, str] | None = None) -> None:
        super().__init__(detail)
        self.constraint = constraint


class StorageUnavailable(StorageError):
    """The database is unavailable for now (down, unreachable, locked, timed out)."""


EXIT_TASK_CRASHED = 1  # a background task crashed; the daemon stopped in order (systemd restarts)
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG: systemd's RestartPreventExitStatus=78 stops restart loops
