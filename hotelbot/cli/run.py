"""`hotelbot run`: the daemon, until SIGTERM/SIGINT."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run() -> None:
        """Run the daemon: poll every enabled hotel until SIGTERM/SIGINT (exit 0).

        Exits 78 on bad configuration or an out-of-date schema (`hotelbot db upgrade`), 1
        when a background task crashed (logged; the daemon stopped in order).
        """
        import asyncio

        from hotelbot.cli.common import load
        from hotelbot.daemon.app import Daemon
        from hotelbot.logs import configure_logging

        settings = load()
        configure_logging(settings.logging.level, settings.logging.format)
        code = asyncio.run(Daemon(settings).run())
        raise typer.Exit(code)
