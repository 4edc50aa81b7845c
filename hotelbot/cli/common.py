"""Helpers shared by CLI commands: settings, database access, tables."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hotelbot.settings import DatabaseChoice, Settings
    from hotelbot.storage.db import Database

T = TypeVar("T")
V = TypeVar("V")


def load() -> Settings:
    from hotelbot.settings import load_settings

    settings, _ = load_settings(None, os.environ)
    return settings


def database_choice() -> tuple[Settings, DatabaseChoice]:
    """The settings and the database they select, with where that choice came from."""
    from hotelbot.settings import database_choice as choose
    from hotelbot.settings import load_settings

    settings, path = load_settings(None, os.environ)
    return settings, choose(settings, path, os.environ)


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # here: commands that answer without an event loop do not import it

    return asyncio.run(coro)


@asynccontextmanager
async def database(*, check: bool = True, create: bool = False) -> AsyncIterator[Database]:
    """Open the configured database; by default require an up-to-date schema. A missing
    SQLite file is an error naming it (ConfigError) unless `create` (`db upgrade` only)."""
    from hotelbot.storage.db import Database
    from hotelbot.storage.schema import check_schema

    settings = load()
    db = Database.open(
        settings.database_url(),
        pool_size=2,
        busy_timeout_ms=settings.database.busy_timeout_ms,
        pgbouncer=settings.database.pgbouncer,
        create=create,
    )
    try:
        if check:
            await check_schema(db)
        yield db
    finally:
        await db.dispose()


def with_db(fn: Callable[[Database], Awaitable[T]], *, check: bool = True) -> T:
    async def go() -> T:
        async with database(check=check) as db:
            return await fn(db)

    return run(go())


def text_argument(value: str | None, *, what: str, max_chars: int = 100_000) -> str:
    """Guest text for a command: `value` when given (it is then visible in the process list
    and shell history, so a warning says so), else (None or "-") read from stdin. Raises
    UserError when the text is empty, too long or not UTF-8."""
    import sys

    from hotelbot.errors import UserError

    if value is not None and value != "-":
        typer_echo_err(
            f"warning: {what} given as an argument is visible to other users (ps, shell "
            "history); pass it on stdin instead"
        )
        text = value
    else:
        if sys.stdin.isatty():
            typer_echo_err(f"reading {what} from stdin (end with Ctrl-D)")
        try:
            text = sys.stdin.buffer.read(max_chars * 4 + 1).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"{what} on stdin is not UTF-8 (byte {exc.start})") from None
    if len(text) > max_chars:
        raise UserError(f"{what} is longer than {max_chars} characters")
    if not text.strip():
        raise UserError(f"{what} is empty")
    return text


def typer_echo_err(message: str) -> None:
    import typer

    typer.echo(message, err=True)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    wide: bool = False,
    shrink: Sequence[int] | None = None,
) -> str:
    """A plain aligned text table (no colours: works in journals, pipes and terminals).

    Every cell goes through `for_people`: guest names and texts may hold line breaks (which
    would forge rows), terminal escapes, bidi overrides or NUL. On a terminal the table is
    fitted to its width by cutting the `shrink` columns (default: the last); `wide` keeps
    every cell whole (see hotelbot/cli/output.py)."""
    from hotelbot.cli.output import render_table
    from hotelbot.domain.display import for_people

    cells = [[("" if c is None else for_people(str(c))) for c in row] for row in rows]
    return render_table(headers, cells, wide=wide, shrink=shrink)


def json_key(header: str) -> str:
    """ "LAST MESSAGE" -> "last_message", "outbox open/failed" -> "outbox_open_failed"."""
    import re

    return re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def records(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[dict[str, object]]:
    """Table rows as JSON objects keyed by `json_key(header)`."""
    keys = [json_key(h) for h in headers]
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _json_value(value: object) -> object:
    from datetime import date, datetime
    from enum import Enum

    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value)


def print_json(value: object) -> None:
    """The one way commands print JSON: indented, ASCII only (control characters, terminal
    escapes and bidi overrides in guest text arrive escaped, never raw), datetimes in ISO
    8601, enums by value."""
    import json

    import typer

    typer.echo(json.dumps(value, ensure_ascii=True, indent=2, default=_json_value))


def emit_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    as_json: bool,
    empty: str,
    wide: bool = False,
    shrink: Sequence[int] | None = None,
) -> None:
    """A list command's output: the table (or `empty` when there are no rows), or with
    `as_json` a JSON array of objects (`[]` when empty) with the same cells."""
    import typer

    if as_json:
        print_json(records(headers, rows))
    elif not rows:
        typer.echo(empty)
    else:
        typer.echo(table(headers, rows, wide=wide, shrink=shrink))


def deprecated_option(*names: str) -> Any:
    """A hidden option under an old name, kept so scripts that use it keep working; pair it
    with `renamed()`."""
    import typer

    return typer.Option(*names, hidden=True, help="Deprecated alias.")


def renamed(old_name: str, old_value: V | None, new_name: str, new_value: V | None) -> V | None:
    """The value of an option that was renamed: the new one, or the old one with a warning
    on stderr. Raises UserError when both are given and disagree."""
    if old_value is None:
        return new_value
    import typer

    from hotelbot.errors import UserError

    if new_value is not None and new_value != old_value:
        raise UserError(f"{old_name} and {new_name} disagree: give {new_name} only")
    typer.echo(f"warning: {old_name} is deprecated: use {new_name}", err=True)
    return old_value


def confirm(question: str, *, yes: bool, refusal: str) -> None:
    """Ask before doing something that cannot be undone or reaches guests. `yes` (--yes)
    skips the question. Without a terminal to ask on, raises UserError(`refusal`, which says
    to add --yes); a "no" ends the command with status 1 and changes nothing."""
    import sys

    import typer

    from hotelbot.errors import UserError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(refusal)
    if not typer.confirm(question, default=False):
        typer.echo("nothing changed")
        raise typer.Exit(1)
