"""`hotelbot demo`: see hotelbot work with no account (fake Green API, SQLite)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        state_dir: Annotated[
            str, typer.Option(help="Where the demo keeps its SQLite file.")
        ] = ".hotelbot-demo",
        forever: Annotated[
            bool, typer.Option(help="Keep running after the script until Ctrl+C.")
        ] = False,
        speed: Annotated[
            float, typer.Option(help="Script speed factor (2 = twice as fast).")
        ] = 1.0,
    ) -> None:
        """Start a fake Green API with demo hotels and scripted guests (English and Russian),
        run the real daemon against it on a fresh SQLite file, and narrate what happens.
        Ends after the script (about half a minute) unless --forever; Ctrl+C stops it any time."""
        import asyncio

        from hotelbot.demo import run_demo

        raise typer.Exit(asyncio.run(run_demo(state_dir, forever=forever, speed=speed)))
