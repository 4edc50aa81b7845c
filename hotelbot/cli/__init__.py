"""The `hotelbot` command line. Thin: parse arguments, call into the package, print results.

Heavy modules (the database layer, httpx, the daemon) are imported inside commands so that
`hotelbot --help` starts fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from hotelbot import __version__
from hotelbot.errors import (
    EXIT_CONFIG,
    ConfigError,
    HotelbotError,
    SchemaError,
    StorageError,
    StorageRefused,
    StorageUnavailable,
)
from hotelbot.paths import CONFIG_HELP, STATE_HELP

_ROOT_HELP = (
    "WhatsApp guest messaging for hotels: polls each hotel's Green API queue, stores every "
    f"message, alerts staff, sends scheduled messages.\n\n{CONFIG_HELP}\n\n{STATE_HELP}"
)

# Every top-level command: (module under hotelbot.cli, True for a group registered as
# `module.app`, False for a module with `register(app)`), and the one-line help the top-level
# listing shows. `main()` imports only the module of the command it runs (typer builds every
# registered command's parameters at start-up, which costs more than the imports), so the
# listing comes from this table; tests/test_cli_startup.py checks it against the modules.
COMMANDS: dict[str, tuple[str, bool, str]] = {
    "db": ("db", True, "The database: which one (info), create or upgrade its schema, back it up."),
    "hotel": ("hotel", True, "Manage hotels (one Green API instance each)."),
    "messages": ("messages", True, "Stored guest messages."),
    "guest": (
        "guest",
        True,
        "Personal data of one guest: export everything held about them, or erase it.",
    ),
    "conversations": ("conversations", True, "Guest conversations."),
    "alerts": ("alerts", True, "Staff alerts: references, acknowledgement, escalation."),
    "stay": ("stay", True, "Guests' stays (bookings)."),
    "trigger": ("trigger", True, "Automated guest messages (triggers)."),
    "outbox": ("outbox", True, "Outgoing messages (the outbox)."),
    "dead-letters": (
        "dead_letters",
        True,
        "Queue items that could not be parsed or stored (kept here, deleted upstream).",
    ),
    "send": (
        "send",
        False,
        "Queue a message to a guest; the running daemon sends it at once (quiet hours do not"
        " apply to manual sends).",
    ),
    "run": (
        "run",
        False,
        "Run the daemon: poll every enabled hotel until SIGTERM/SIGINT (exit 0).",
    ),
    "report": (
        "report",
        False,
        "A hotel's period for its manager: messages, alerts and acknowledgement times, trend.",
    ),
    "sentiment": (
        "sentiment",
        False,
        "Judge a guest message: sentiment, score, whether staff should act.",
    ),
    "demo": (
        "demo",
        False,
        "Start a fake Green API with demo hotels and scripted guests (English and Russian),"
        " run the real daemon against it on a fresh SQLite file, and narrate what happens.",
    ),
    "status": (
        "status",
        False,
        "Per hotel: polling or not (and by which daemon), last successful poll, backlog,"
        " outbox, last alert, why unhealthy.",
    ),
    "doctor": (
        "doctor",
        False,
        "Check everything hotelbot depends on; one line per check (OK/WARN/FAIL) with advice.",
    ),
    "stats": (
        "stats",
        False,
        "Activity of the last N days (UTC days): messages in/out and guest sentiment, staff"
        " alerts and time to the first staff reply, scheduled messages sent/deferred/skipped,"
        " opt-outs.",
    ),
}


def _new_root() -> typer.Typer:
    root = typer.Typer(
        name="hotelbot",
        help=_ROOT_HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )
    root.callback()(_root)
    return root


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hotelbot {__version__}")
        raise typer.Exit()


def _root(
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", help="Settings file (overrides $HOTELBOT_CONFIG).", metavar="PATH"
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    if config:
        os.environ["HOTELBOT_CONFIG"] = config
    _quiet_redacted_logging()


def _quiet_redacted_logging() -> None:
    """Commands log through the same redacting sink as the daemon, at WARNING (or
    $HOTELBOT_LOG_LEVEL): loguru's default would print DEBUG lines and local variables.
    `run` and `demo` reconfigure it from the settings."""
    from hotelbot.logs import configure_logging

    try:
        configure_logging(os.environ.get("HOTELBOT_LOG_LEVEL") or "WARNING", "text")
    except ValueError:
        configure_logging("WARNING", "text")


def _add(root: typer.Typer, name: str) -> None:
    """Register the real top-level command `name` (imports its module)."""
    module_name, is_group, _ = COMMANDS[name]
    module = importlib.import_module(f"hotelbot.cli.{module_name}")
    if is_group:
        root.add_typer(module.app, name=name)
    else:
        module.register(root)


def _listing_only(root: typer.Typer) -> None:
    """Stand-ins that carry each command's name and help, for `hotelbot --help` alone."""
    for name, (_, is_group, help_text) in COMMANDS.items():
        if is_group:
            root.add_typer(typer.Typer(help=help_text), name=name)
        else:
            root.command(name, help=help_text)(_never_called)


def _never_called() -> None:  # pragma: no cover - a stand-in is only listed, never run
    raise AssertionError("a listing stand-in was run")


_full_app: typer.Typer | None = None


def full_app() -> typer.Typer:
    """The CLI with every command registered (built once): what tests and `main()` use
    when the requested command is not known in advance."""
    global _full_app
    if _full_app is None:
        root = _new_root()
        for name in COMMANDS:
            _add(root, name)
        _full_app = root
    return _full_app


def __getattr__(name: str) -> typer.Typer:
    # `from hotelbot.cli import app` (the tests, embedding programs) gets the full CLI; the
    # import of this package alone registers nothing.
    if name == "app":
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def requested_command(argv: list[str]) -> str | None:
    """The top-level command named in `argv`, after the root options; None when there is
    none (no arguments, `--help`, `--version`)."""
    args = iter(argv)
    for arg in args:
        if arg in ("--config", "-c"):
            next(args, None)
        elif arg.startswith("-"):
            continue
        else:
            return arg
    return None


def app_for(argv: list[str]) -> typer.Typer:
    name = requested_command(argv)
    if name is None:
        root = _new_root()
        _listing_only(root)
        return root
    if name in COMMANDS:
        root = _new_root()
        _add(root, name)
        return root
    return full_app()  # an unknown name: click's own "No such command" with suggestions


def main() -> None:
    """Entry point: every expected error prints one clear line (no traceback) and a non-zero
    status: 78 for configuration and schema, 2 for invalid values, 1 for the rest. Database
    errors never show their statement or values (guest text, tokens): the line names the
    error class and, for a refused change, the constraint in words."""
    try:
        _run(sys.argv[1:])
    except (ConfigError, SchemaError) as exc:
        _fail(str(exc), EXIT_CONFIG)
    except StorageError as exc:
        _fail(_database_line(exc), 1)
    except HotelbotError as exc:  # UserError and the rest of ours
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        _fail(*_unexpected(exc))


def _run(argv: list[str]) -> None:
    """Run the command `argv` names; the database library's errors leave it as our
    `StorageError` (translated by storage, the one layer that knows that library)."""
    try:
        app_for(argv)()
    except Exception as exc:
        # Without the database library loaded, no error of it can have been raised.
        if isinstance(exc, HotelbotError) or "sqlalchemy" not in sys.modules:
            raise
        from hotelbot.storage.errors import translate

        translated = translate(exc)
        if translated is None:
            raise
        raise translated from exc


def _database_line(exc: StorageError) -> str:
    """The one line for a failed database statement, with what the operator can do."""
    if isinstance(exc, StorageRefused):
        if exc.constraint is not None:
            name, words = exc.constraint
            return f"the database refused the change: {words} ({name})"
        return f"the database refused the change: {exc.detail}"
    if isinstance(exc, StorageUnavailable):
        return f"database unavailable: {exc.detail} (is it running and reachable?)"
    return f"database error: {exc.detail} (is the schema upgraded? `hotelbot db upgrade`)"


def _fail(message: str, code: int) -> None:
    from hotelbot.redact import redact

    typer.echo(f"error: {redact(message)}", err=True)
    sys.exit(code)


def _unexpected(exc: Exception) -> tuple[str, int]:
    """(message, exit status) for an exception no command turned into one of ours."""
    from pydantic import ValidationError

    from hotelbot.error_text import describe

    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        return f"invalid value: {problems}", 2
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"{describe(exc)}{where}", 1
    _debug_traceback(exc)
    return f"unexpected {describe(exc)}: please report it (HOTELBOT_LOG_LEVEL=DEBUG shows more)", 1


def _debug_traceback(exc: Exception) -> None:
    """The traceback, redacted, only when the operator asked for DEBUG."""
    if os.environ.get("HOTELBOT_LOG_LEVEL", "").upper() not in ("DEBUG", "TRACE"):
        return
    import traceback

    from hotelbot.redact import redact

    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    typer.echo(redact("".join(lines)), err=True)
