"""`hotelbot db ...`: schema migrations."""

from __future__ import annotations

import typer

from hotelbot.cli import common

app = typer.Typer(
    help="Database schema: create or upgrade it, show its version.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade() -> None:
    """Create the schema or bring it up to date (safe to run again; run it after every upgrade)."""
    from hotelbot.storage import schema
    from hotelbot.storage.db import Database

    async def go() -> tuple[str | None, str | None]:
        settings = common.load()
        db = Database.open(
            settings.database_url(), pool_size=1, pgbouncer=settings.database.pgbouncer
        )
        try:
            return await schema.upgrade(db)
        finally:
            await db.dispose()

    before, after = common.run(go())
    if before == after:
        typer.echo(f"database schema is up to date ({after})")
    else:
        typer.echo(f"database schema upgraded: {before or 'empty'} -> {after}")


@app.command("current")
def current() -> None:
    """Show the database's schema revision and whether this hotelbot can use it."""
    from hotelbot.storage import schema

    revision = common.with_db(schema.current_revision, check=False)
    state = "up to date" if revision == schema.SCHEMA_HEAD else f"needs {schema.SCHEMA_HEAD}"
    typer.echo(f"{revision or 'no schema'} ({state})")
    if revision != schema.SCHEMA_HEAD:
        raise typer.Exit(1)
