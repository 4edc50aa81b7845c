"""The `hotelbot` command line. Thin: parse arguments, call into the package, print results.

Heavy modules (SQLAlchemy, httpx, the daemon) are imported inside commands so that
`hotelbot --help` starts fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from hotelbot import __version__
from hotelbot.errors import EXIT_CONFIG, ConfigError, HotelbotError, SchemaError
from hotelbot.paths import CONFIG_HELP, STATE_HELP

app = typer.Typer(
    name="hotelbot",
    help=(
        "WhatsApp guest messaging for hotels: polls each hotel's Green API queue, stores every "
        f"message, alerts staff, sends scheduled messages.\n\n{CONFIG_HELP}\n\n{STATE_HELP}"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hotelbot {__version__}")
        raise typer.Exit()


@app.callback()
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


def _register() -> None:
    from hotelbot.cli import conversations as conversations_cli
    from hotelbot.cli import db as db_cli
    from hotelbot.cli import dead_letters as dead_letters_cli
    from hotelbot.cli import demo as demo_cli
    from hotelbot.cli import doctor as doctor_cli
    from hotelbot.cli import guest as guest_cli
    from hotelbot.cli import hotel as hotel_cli
    from hotelbot.cli import messages as messages_cli
    from hotelbot.cli import outbox as outbox_cli
    from hotelbot.cli import run as run_cli
    from hotelbot.cli import send as send_cli
    from hotelbot.cli import sentiment as sentiment_cli
    from hotelbot.cli import stats as stats_cli
    from hotelbot.cli import status as status_cli
    from hotelbot.cli import stay as stay_cli
    from hotelbot.cli import trigger as trigger_cli

    app.add_typer(db_cli.app, name="db")
    app.add_typer(hotel_cli.app, name="hotel")
    app.add_typer(messages_cli.app, name="messages")
    app.add_typer(guest_cli.app, name="guest")
    app.add_typer(conversations_cli.app, name="conversations")
    # scheduling: stays, triggers, outbox, manual send
    app.add_typer(stay_cli.app, name="stay")
    app.add_typer(trigger_cli.app, name="trigger")
    app.add_typer(outbox_cli.app, name="outbox")
    app.add_typer(dead_letters_cli.app, name="dead-letters")
    send_cli.register(app)
    run_cli.register(app)
    sentiment_cli.register(app)
    demo_cli.register(app)
    status_cli.register(app)  # [operations]
    doctor_cli.register(app)
    stats_cli.register(app)


_register()


def main() -> None:
    """Entry point: every expected error prints one clear line (no traceback) and a non-zero
    status: 78 for configuration and schema, 2 for invalid values, 1 for the rest. Database
    errors never show their statement or values (guest text, tokens): the line names the
    error class and, for a refused change, the constraint in words."""
    try:
        app()
    except (ConfigError, SchemaError) as exc:
        _fail(str(exc), EXIT_CONFIG)
    except HotelbotError as exc:  # UserError and the rest of ours
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        _fail(*_unexpected(exc))


def _fail(message: str, code: int) -> None:
    from hotelbot.redact import redact

    typer.echo(f"error: {redact(message)}", err=True)
    sys.exit(code)


# Unique constraints an operator can hit, in words (the rest are named as they are). Keys:
# PostgreSQL's constraint name, then SQLite's "table.column" of its message.
_CONSTRAINTS = {
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


def _unexpected(exc: Exception) -> tuple[str, int]:
    """(message, exit status) for an exception no command turned into a UserError."""
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from hotelbot.error_text import describe, is_refusal, is_transient

    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        return f"invalid value: {problems}", 2
    if isinstance(exc, SQLAlchemyError) and is_refusal(exc):
        detail = describe(exc)
        for names, words in _CONSTRAINTS.items():
            if any(name in detail for name in names):
                return f"the database refused the change: {words} ({names[0]})", 1
        return f"the database refused the change: {detail}", 1
    if isinstance(exc, SQLAlchemyError) and is_transient(exc):
        return f"database unavailable: {describe(exc)} (is it running and reachable?)", 1
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {describe(exc)} (is the schema upgraded? `hotelbot db upgrade`)", 1
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
