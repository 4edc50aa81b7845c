"""`hotelbot db ...`: which database, its schema, and backups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli import common
from hotelbot.errors import ConfigError, UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database

app = typer.Typer(
    help="The database: which one (info), create or upgrade its schema, back it up.",
    no_args_is_help=True,
)


@app.command("upgrade")
def upgrade() -> None:
    """Create the schema or bring it up to date (safe to run again; run it after every upgrade).

    Creates the SQLite file (0600, directory 0700) when it does not exist yet, and says which
    database it worked on."""
    from hotelbot.storage import schema

    _, choice = common.database_choice()

    async def go() -> tuple[str | None, str | None, str]:
        async with common.database(check=False, create=True) as db:
            before, after = await schema.upgrade(db)
            return before, after, db.location

    before, after, location = common.run(go())
    if before == after:
        typer.echo(f"database schema is up to date ({after}): {location}")
    else:
        typer.echo(f"database schema upgraded: {before or 'empty'} -> {after}: {location}")
    typer.echo(f"(database chosen by {choice.origin})")


@app.command("current")
def current() -> None:
    """Show the database's schema revision and whether this hotelbot can use it."""
    from hotelbot.storage import schema

    revision = common.with_db(schema.current_revision, check=False)
    state = "up to date" if revision == schema.SCHEMA_HEAD else f"needs {schema.SCHEMA_HEAD}"
    typer.echo(f"{revision or 'no schema'} ({state})")
    if revision != schema.SCHEMA_HEAD:
        raise typer.Exit(1)


def _file_line(path: Path) -> str:
    from hotelbot.files import owner_and_mode
    from hotelbot.storage.sqlite_file import SIDE_SUFFIXES

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "does not exist (`hotelbot db upgrade` creates it)"
    except OSError as exc:
        return f"cannot be looked at: {exc.strerror}"
    parts = [f"{size / 1_048_576:.1f} MiB, {owner_and_mode(path)}"]
    for suffix in SIDE_SUFFIXES:
        side = Path(f"{path}{suffix}")
        if side.exists():
            parts.append(f"{suffix} {owner_and_mode(side)}")
    return "; ".join(parts)


@app.command("info")
def info(
    path_only: Annotated[
        bool,
        typer.Option(
            "--path",
            help="Print only the location: the SQLite file, or the URL without its password.",
        ),
    ] = False,
) -> None:
    """Which database this command (and a daemon with the same settings and environment)
    uses, why, and its state: file owner and mode, schema. Creates nothing."""
    from hotelbot.files import owner_and_mode, running_as
    from hotelbot.settings import resolve_config_path

    _, choice = common.database_choice()
    if path_only:
        typer.echo(str(choice.sqlite_path) if choice.sqlite_path else choice.shown)
        return
    import os

    config = resolve_config_path(None, os.environ)
    rows = [
        ("database", choice.location),
        ("chosen by", choice.origin),
        ("settings", str(config) if config else "none (built-in defaults)"),
        ("running as", running_as()),
    ]
    if choice.sqlite_path is not None:
        rows.append(("file", _file_line(choice.sqlite_path)))
        directory = choice.sqlite_path.parent
        rows.append(("directory", f"{directory} {owner_and_mode(directory) or '(missing)'}"))
    rows.append(("schema", _schema_line()))
    for key, value in rows:
        typer.echo(f"{key:11} {value}")


def _schema_line() -> str:
    from hotelbot.storage import schema

    async def go() -> str | None:
        async with common.database(check=False) as db:
            return await schema.current_revision(db)

    try:
        revision = common.run(go())
    except ConfigError as exc:
        return f"cannot open: {exc}"
    except Exception as exc:
        return f"cannot open: {type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
    if revision is None:
        return "none yet (run `hotelbot db upgrade`)"
    if revision == schema.SCHEMA_HEAD:
        return f"{revision} (up to date)"
    return f"{revision} (this hotelbot needs {schema.SCHEMA_HEAD}: run `hotelbot db upgrade`)"


@app.command("backup")
def backup(
    dest: Annotated[
        Path, typer.Argument(help="New file to write the copy to (never overwritten).")
    ],
) -> None:
    """Copy the SQLite database to DEST while the daemon runs (SQLite's online backup), as
    one self-contained file of mode 0600. PostgreSQL: use pg_dump (docs/systemd.md)."""

    async def go(db: Database) -> Path:
        if not db.is_sqlite:
            raise UserError(
                f"the database is {db.location}: back it up with pg_dump (docs/systemd.md, Backup)"
            )
        if db.sqlite_file is None:
            raise UserError(f"the database is {db.location}: it has no file to back up")
        return db.sqlite_file

    source = common.with_db(go, check=False)
    written = _sqlite_backup(source, dest)
    typer.echo(f"backup of {source} written to {dest} ({written / 1_048_576:.1f} MiB, mode 0600)")


def _sqlite_backup(source: Path, dest: Path) -> int:
    """Online backup of `source` into the new file `dest` (created 0600, never overwritten;
    removed again on failure). Returns the size written. Raises UserError."""
    import os
    import sqlite3

    from hotelbot.files import unreadable_reason

    try:
        fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise UserError(f"{dest} exists already: backups are never overwritten") from None
    except OSError as exc:
        raise UserError(f"cannot create {dest}: {unreadable_reason(dest.parent, exc)}") from None
    os.close(fd)
    try:
        src = sqlite3.connect(source)
        try:
            dst = sqlite3.connect(dest)
            try:
                src.backup(dst)
                # One self-contained file: no -wal needed next to the copy.
                dst.execute("PRAGMA journal_mode=DELETE")
                check = dst.execute("PRAGMA quick_check").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
        if check is None or check[0] != "ok":
            raise UserError(f"the copy in {dest} fails SQLite's quick_check: {check}")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest.stat().st_size
