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


EXIT_TASK_CRASHED = 1  # a background task crashed; the daemon stopped in order (systemd restarts)
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG: systemd's RestartPreventExitStatus=78 stops restart loops
