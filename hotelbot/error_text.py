"""What an exception may say outside DEBUG: its class and a message that holds no data.

Database drivers put values into their messages (asyncpg: "invalid input for query argument
$2: 'the guest's text'"; SQLAlchemy appends the statement's parameters unless the engine hides
them), and an arbitrary exception may quote anything it was given. So log lines above DEBUG,
stored error texts (`process_error`, `hotel_status.last_error`, dead letters) and CLI errors
use `describe(exc)`: the class, for database errors the driver's error class, SQLSTATE or
SQLite error name and the constraint, and a message only for exceptions whose messages we
write ourselves or that carry no input. The full text may go to DEBUG, redacted.

`is_transient(exc)`: the failure says the database or the network is unwell (locked, down,
timed out), not that one particular value was refused. Pure; no database import.
"""

from __future__ import annotations

from hotelbot.redact import redact

_MAX_CHARS = 300

# PostgreSQL SQLSTATE classes and codes that mean "try again later" (connection trouble,
# resources, operator intervention incl. statement_timeout, lock timeouts, serialisation).
_PG_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_PG_TRANSIENT_CODES = ("55P03", "55006")
_SQLITE_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL",
                     "SQLITE_CANTOPEN", "SQLITE_PROTOCOL", "SQLITE_NOMEM")  # fmt: skip


def _driver_error(exc: BaseException) -> BaseException | None:
    """The DB-API error inside a SQLAlchemy error, and the driver's own one inside that."""
    orig = getattr(exc, "orig", None)
    if not isinstance(orig, BaseException):
        return None
    cause = orig.__cause__
    return cause if isinstance(cause, BaseException) else orig


def _sqlstate(error: BaseException | None) -> str | None:
    code = getattr(error, "sqlstate", None)
    return code if isinstance(code, str) else None


def _sqlite_name(error: BaseException | None) -> str | None:
    name = getattr(error, "sqlite_errorname", None)
    return name if isinstance(name, str) else None


# SQLite's messages for these name only tables and columns ("UNIQUE constraint failed:
# hotels.instance_id"), never values: shown as they are.
_SQLITE_SCHEMA_ONLY = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_NOTNULL",
                       "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_FOREIGNKEY",
                       "SQLITE_CONSTRAINT_CHECK")  # fmt: skip


def _own_message(exc: BaseException) -> bool:
    """Exceptions whose messages hotelbot writes itself (no input quoted in them)."""
    from hotelbot.errors import HotelbotError
    from hotelbot.greenapi.errors import GreenApiError

    return isinstance(exc, HotelbotError | GreenApiError)


def describe(exc: BaseException) -> str:
    """One line naming what failed, safe for any log level, stored error texts and the CLI.
    Never raises."""
    try:
        return _describe(exc)[:_MAX_CHARS]
    except Exception:
        return type(exc).__name__


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    if _own_message(exc):
        text = " ".join(str(exc).split())
        return redact(f"{name}: {text}" if text else name)
    driver = _driver_error(exc)
    if driver is not None:
        parts = [type(driver).__name__]
        code = _sqlstate(driver) or _sqlite_name(driver)
        if code:
            parts.append(code)
        constraint = getattr(driver, "constraint_name", None)
        if isinstance(constraint, str) and constraint:
            parts.append(f"constraint {constraint}")
        elif code in _SQLITE_SCHEMA_ONLY:
            parts.append(" ".join(str(driver).split())[:120])
        return f"{name} ({', '.join(parts)})"
    if isinstance(exc, UnicodeError):
        reason = getattr(exc, "reason", None)
        return f"{name}: {reason}" if isinstance(reason, str) else name
    if isinstance(exc, OSError) and exc.strerror:
        return f"{name}: {exc.strerror}"
    return name


def is_refusal(exc: BaseException) -> bool:
    """True when the database refused a value or a change (a constraint, a trigger, bad
    data), as opposed to being unavailable or hitting a bug."""
    driver = _driver_error(exc)
    if driver is None:
        return False
    code = _sqlstate(driver)
    if code is not None:
        return code.startswith(("22", "23", "P0"))
    name = _sqlite_name(driver)
    if name is not None:
        return name.startswith(("SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_TOOBIG"))
    return type(exc).__name__ in ("IntegrityError", "DataError")


def is_transient(exc: BaseException) -> bool:
    """True when `exc` says the database or network is unavailable for now, rather than that
    a value was refused. Unknown errors are not transient."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    driver = _driver_error(exc)
    if driver is None:
        return isinstance(exc, OSError)
    if getattr(exc, "connection_invalidated", False):
        return True
    code = _sqlstate(driver)
    if code is not None:
        return code.startswith(_PG_TRANSIENT_CLASSES) or code in _PG_TRANSIENT_CODES
    name = _sqlite_name(driver)
    if name is not None:
        return name.startswith(_SQLITE_TRANSIENT)
    # asyncpg's connection-level errors have no SQLSTATE.
    return type(driver).__name__ in ("InterfaceError", "ConnectionDoesNotExistError")
