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
from hotelbot.errors import EXIT_CONFIG, ConfigError, HotelbotError, SchemaError, UserError
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
    """Entry point: user mistakes print one clear line (no traceback) and a non-zero status."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except SchemaError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except HotelbotError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
