"""`hotelbot doctor`: check settings, database, hotels, Green API, LLM and clock."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor() -> None:
        """Check everything hotelbot depends on; one line per check (OK/WARN/FAIL) with advice.

        Exit status: 0 all OK, 1 something failed, 2 warnings only. Makes one
        getStateInstance and one getSettings call per enabled hotel, and one tiny LLM call
        when the LLM is enabled.
        """
        import asyncio
        import os

        from hotelbot.logs import configure_logging
        from hotelbot.ops.doctor import Check, exit_code, run_doctor

        # The checks' own log lines (an LLM call's timing ...) are not part of the report.
        configure_logging("WARNING", "text")

        def echo(check: Check) -> None:
            for line in check.lines():
                typer.echo(line)

        checks = asyncio.run(run_doctor(dict(os.environ), echo))
        raise typer.Exit(exit_code(checks))
