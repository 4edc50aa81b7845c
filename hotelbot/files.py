"""Reading operator files (settings, hotels, credentials) with one-line errors that name them.

Every failure becomes a `ConfigError` whose message names the file, the reason and the user
the process runs as, so the CLI prints one line and the daemon exits 78 (no restart loop)
instead of printing a traceback. Nothing here logs or returns file contents in errors.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from hotelbot.errors import ConfigError


def running_as() -> str:
    """The user name of this process (the uid when it has no passwd entry)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def owner_and_mode(path: Path) -> str:
    """ "hotelbot:hotelbot 0600" for an existing path, "" when it cannot be looked at."""
    import grp

    try:
        info = path.stat()
    except OSError:
        return ""
    try:
        user = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        user = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return f"{user}:{group} {stat.S_IMODE(info.st_mode):04o}"


def unreadable_reason(path: Path, error: OSError) -> str:
    """Why `path` could not be read, in words an operator can act on."""
    reason = error.strerror or type(error).__name__
    if isinstance(error, PermissionError):
        detail = owner_and_mode(path)
        where = f"the file is {detail}" if detail else "a directory above it is not searchable"
        return f"{reason} (running as {running_as()}; {where})"
    return reason


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of an operator file. Raises ConfigError naming `what` and the path."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {unreadable_reason(path, exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None


def exists(path: Path, what: str) -> bool:
    """Whether `path` exists; a path that cannot even be looked at (a directory above it is
    not searchable) raises ConfigError instead of silently counting as missing."""
    try:
        path.stat()
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {unreadable_reason(path, exc)}") from None
    return True
