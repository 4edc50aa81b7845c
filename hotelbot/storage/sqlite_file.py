"""Checks on a SQLite database file before SQLite opens it, with errors that name the file.

SQLite's own errors ("unable to open database file", "attempt to write a readonly database")
name neither the file nor the cause. The usual causes on a server are an admin command that
looks at another file than the service (a different user's state directory), and files owned
by the wrong user: SQLite creates the `-wal`/`-shm` files next to the database with the owner
of whichever process opens it first, so one command run as root locks the daemon out.
`check_sqlite_file` turns each of these into one ConfigError line: what, where, how to fix.
"""

from __future__ import annotations

import os
from pathlib import Path

from hotelbot.errors import ConfigError
from hotelbot.files import owner_and_mode, running_as, unreadable_reason
from hotelbot.paths import ensure_private_dir

# The files SQLite keeps next to a WAL database.
SIDE_SUFFIXES = ("-wal", "-shm")


def _owner_uid(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_sqlite_file(path: Path, *, create: bool) -> None:
    """Make sure `path` can be opened for reading and writing by this process.

    `create=True` (`db upgrade`, tests): a missing directory is created 0700 and a missing
    file 0600 (SQLite would use the umask, often 0644: guest data must stay private).
    `create=False` (every other command, the daemon): a missing file is an error that says to
    run `hotelbot db upgrade` or to check which database the settings select.
    As root, a file that belongs to another user is refused: the -wal/-shm files root would
    create would lock that user (the service) out. Raises ConfigError; idempotent.
    """
    directory = path.parent
    try:
        present = path.exists()
    except OSError as exc:
        raise ConfigError(f"cannot open database {path}: {unreadable_reason(path, exc)}") from None
    if not present:
        if not create:
            raise ConfigError(
                f"no database at {path}: run `hotelbot db upgrade` to create it, or check "
                "which database the settings select (`hotelbot db info`)"
            )
        try:
            ensure_private_dir(directory)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        except OSError as exc:
            raise ConfigError(
                f"cannot create database {path}: {unreadable_reason(directory, exc)}"
            ) from None
    if path.is_dir():
        raise ConfigError(f"database {path} is a directory, not a SQLite file")
    owner = _owner_uid(path)
    if os.geteuid() == 0 and owner not in (None, 0):
        user = _user_name(owner)
        raise ConfigError(
            f"refusing to open {path} as root: it belongs to {user}, and the -wal/-shm files "
            f"root would create next to it lock {user} out; run the command as {user} "
            f"(`hotelbot-admin ...` or `runuser -u {user} -- hotelbot ...`)"
        )
    problems = []
    if not os.access(path, os.R_OK | os.W_OK):
        problems.append(f"{path} ({owner_and_mode(path)})")
    if not os.access(directory, os.W_OK | os.X_OK):
        # WAL mode creates -wal/-shm in the directory: it must be writable too.
        problems.append(f"its directory {directory} ({owner_and_mode(directory)})")
    for suffix in SIDE_SUFFIXES:
        side = Path(f"{path}{suffix}")
        if side.exists() and not os.access(side, os.R_OK | os.W_OK):
            problems.append(f"{side} ({owner_and_mode(side)})")
    if problems:
        raise ConfigError(
            f"cannot open database {path} as {running_as()}: no read/write access to "
            + ", ".join(problems)
            + "; run the command as the owner of the database (`hotelbot-admin ...`) or fix "
            "the owner with chown"
        )
