"""Logging setup: the one place that configures loguru sinks and routes stdlib logging.

Everything written passes through :func:`hotelbot.redact.redact` first: the message, bound
extra values, and exception tracebacks (formatted here, without local variables). Output
formats:

* ``journal``: ``<N>`` syslog priority on every line (journald files each stderr line at that
  priority), no timestamp and no colour because journald adds its own metadata.
* ``text``: timestamped lines for a terminal or a plain file; coloured only on a TTY.
* ``json``: one JSON object per line.
* ``auto``: ``journal`` when stderr is connected to journald (``$JOURNAL_STREAM`` names the
  stream's device and inode), otherwise ``text``.

Lines about a hotel carry its slug: code binds it once, ``logger.bind(hotel=slug)``, and every
format shows ``[slug]``. Guest text is logged only at DEBUG, shortened with :func:`excerpt`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TextIO

from loguru import logger

from hotelbot.redact import redact

if TYPE_CHECKING:
    from loguru import Message, Record

__all__ = ["LogFormat", "configure_logging", "excerpt", "is_journal_stream"]

LogFormat = Literal["auto", "journal", "text", "json"]

# sd-daemon(3) priorities for loguru's built-in levels; anything else maps by number.
_PRIORITY_BY_LEVEL = {
    "CRITICAL": 2,
    "ERROR": 3,
    "WARNING": 4,
    "SUCCESS": 5,
    "INFO": 6,
    "DEBUG": 7,
    "TRACE": 7,
}

_ANSI_BY_LEVEL = {
    "TRACE": "\x1b[2m",
    "DEBUG": "\x1b[36m",
    "SUCCESS": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_ANSI_DIM = "\x1b[2m"
_ANSI_RESET = "\x1b[0m"

# httpx logs every request URL at INFO, and Green API puts the token in the URL path;
# sqlalchemy.engine at INFO logs SQL statements. These loggers stay at WARNING unless the
# operator asked for DEBUG (and even then redaction still applies).
_CHATTY_LOGGERS = ("httpx", "httpcore", "openai", "sqlalchemy.engine", "aiosqlite")
# Never below INFO, whatever the level: at DEBUG sqlalchemy.engine logs result rows (hotel
# rows hold Green API tokens that are read before they can be registered for redaction, and
# message rows hold guest text); statement parameters are hidden by the engines anyway.
_NEVER_DEBUG_LOGGERS = ("sqlalchemy.engine",)


def _priority(level_name: str, level_no: int) -> int:
    known = _PRIORITY_BY_LEVEL.get(level_name)
    if known is not None:
        return known
    for threshold, priority in ((50, 2), (40, 3), (30, 4), (25, 5), (20, 6)):
        if level_no >= threshold:
            return priority
    return 7


def is_journal_stream(stream: TextIO) -> bool:
    """True if ``stream`` is the journald stream named by ``$JOURNAL_STREAM`` (dev:ino)."""
    expected = os.environ.get("JOURNAL_STREAM")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # StringIO, closed or detached streams
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def excerpt(text: str, limit: int = 60) -> str:
    """A one-line, quoted, shortened guest text for DEBUG lines only (never above DEBUG)."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: max(0, limit - 1)] + "…"
    return json.dumps(flat, ensure_ascii=False)


def _exception_text(record: Record) -> str | None:
    exc = record["exception"]
    if exc is None or exc.type is None:
        return None
    # Stdlib formatting: no local variable values (loguru's `diagnose` would print them,
    # and locals may hold tokens).
    lines = traceback.format_exception(exc.type, exc.value, exc.traceback)
    return redact("".join(lines).rstrip("\n"))


# A line break or terminal escape in a message built from upstream text (an error body, an
# instance state) could forge a log line or recolour a terminal: shown escaped instead.
_LINE_CONTROLS = {ord(c): f"\\x{ord(c):02x}" for c in map(chr, range(32)) if c != "\t"}
_LINE_CONTROLS.update({c: f"\\x{c:02x}" for c in range(0x7F, 0xA0)})
_LINE_CONTROLS.update({0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def _one_line(text: str) -> str:
    return text.translate(_LINE_CONTROLS)


def _plain(value: object) -> str:
    text = _one_line(redact(str(value)))
    if not text or any(c.isspace() or c in '="' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _body(record: Record) -> str:
    """``[slug] origin: message key=value…`` with everything redacted."""
    extra = record["extra"]
    parts = []
    hotel = extra.get("hotel")
    if hotel is not None:
        parts.append(f"[{redact(str(hotel))}]")
    parts.append(f"{record['name'] or '?'}: {_one_line(redact(record['message']))}")
    parts.extend(f"{key}={_plain(value)}" for key, value in extra.items() if key != "hotel")
    return " ".join(parts)


def _format_journal(record: Record) -> str:
    prefix = f"<{_priority(record['level'].name, record['level'].no)}>"
    text = _body(record)
    tb = _exception_text(record)
    if tb:
        text = f"{text}\n{tb}"
    # journald files an unprefixed continuation line at the default priority: prefix them all.
    return "".join(f"{prefix}{line}\n" for line in text.split("\n"))


def _text_formatter(colour: bool) -> Callable[[Record], str]:
    def format_text(record: Record) -> str:
        when = record["time"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        level = record["level"].name
        if colour:
            start = _ANSI_BY_LEVEL.get(level, "")
            head = f"{_ANSI_DIM}{when}{_ANSI_RESET} {start}{level:<8}{_ANSI_RESET}"
        else:
            head = f"{when} {level:<8}"
        text = f"{head} {_body(record)}\n"
        tb = _exception_text(record)
        return f"{text}{tb}\n" if tb else text

    return format_text


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _format_json(record: Record) -> str:
    extra = record["extra"]
    hotel = extra.get("hotel")
    obj: dict[str, Any] = {
        "time": record["time"].isoformat(timespec="milliseconds"),
        "level": record["level"].name,
        "logger": record["name"],
        "message": redact(record["message"]),
        "hotel": None if hotel is None else redact(str(hotel)),
        "extra": {str(k): _json_value(v) for k, v in extra.items() if k != "hotel"},
    }
    tb = _exception_text(record)
    if tb:
        obj["exception"] = tb
    return json.dumps(obj, ensure_ascii=False) + "\n"


def _make_sink(stream: TextIO, render: Callable[[Record], str]) -> Callable[[Message], None]:
    def sink(message: Message) -> None:
        try:
            stream.write(render(message.record))
            stream.flush()
        except Exception:
            # A logging failure must not crash the caller, and loguru's own error report
            # would print the raw (unredacted) record; drop the line instead.
            pass

    return sink


class _InterceptHandler(logging.Handler):
    """Hands stdlib log records to loguru (and so through the same redacting sink).

    INFO records of the chatty libraries (request URLs, SQL statements) are DEBUG detail for
    us: they are only enabled when the operator asked for DEBUG, and they must not count as
    lines above DEBUG (which never carry guest text)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        if record.levelno <= logging.INFO and record.name.startswith(_CHATTY_LOGGERS):
            level = "DEBUG"
        try:
            message = record.getMessage()
        except Exception:
            self.handleError(record)
            return
        if record.stack_info:
            message = f"{message}\n{record.stack_info}"

        def origin(loguru_record: Record) -> None:
            loguru_record["name"] = record.name
            loguru_record["function"] = record.funcName
            loguru_record["line"] = record.lineno

        logger.patch(origin).opt(exception=record.exc_info).log(level, message)


def _route_stdlib_logging(level_no: int) -> None:
    root = logging.getLogger()
    # Replace, not add: any other root handler would print unredacted copies.
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.addHandler(_InterceptHandler())
    root.setLevel(level_no)
    chatty_level = level_no if level_no <= logging.DEBUG else logging.WARNING
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(chatty_level)
    for name in _NEVER_DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, chatty_level))
    logging.captureWarnings(True)


def configure_logging(
    level: str = "INFO",
    fmt: LogFormat = "auto",
    *,
    stream: TextIO | None = None,
) -> None:
    """(Re)configure all logging for the process; the only caller of loguru ``remove``/``add``.

    ``level`` is a loguru level name (TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR, CRITICAL,
    any case). ``stream`` defaults to ``sys.stderr`` as it is at call time. Idempotent: a
    second call (e.g. after a SIGHUP changed the level) replaces the previous setup.
    Raises ValueError for an unknown level or format.
    """
    level_name = level.upper()
    level_no = logger.level(level_name).no  # ValueError if unknown
    out = sys.stderr if stream is None else stream
    if fmt == "auto":
        fmt = "journal" if is_journal_stream(out) else "text"
    render: Callable[[Record], str]
    if fmt == "journal":
        render = _format_journal
    elif fmt == "text":
        render = _text_formatter(colour=_is_tty(out) and "NO_COLOR" not in os.environ)
    elif fmt == "json":
        render = _format_json
    else:
        raise ValueError(f"unknown log format {fmt!r}")

    logger.remove()
    # The sink renders everything itself; loguru's formatter (which would format the
    # exception with local variables) gets an empty template.
    logger.add(
        _make_sink(out, render),
        level=level_no,
        format=lambda _record: "",
        colorize=False,
        backtrace=False,
        diagnose=False,
        catch=False,
    )
    _route_stdlib_logging(level_no)
