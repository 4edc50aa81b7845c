"""`hotelbot hotel facts ...`: the hotel's own facts that guests' questions are answered from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli import common
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database

app = typer.Typer(
    help="The hotel's facts (Wi-Fi, breakfast, check-in ...): guests' questions answered "
    "from them.",
    no_args_is_help=True,
)

Slug = Annotated[str, typer.Argument(help="The hotel's slug, e.g. grand-riga.")]


@app.command("import")
def import_(
    slug: Slug,
    file: Annotated[Path, typer.Argument(help="The facts TOML file (docs/facts.md).")],
) -> None:
    """Validate and import a facts file; every problem is listed and nothing is stored if
    there is one. Importing the same content again adds no version."""
    from hotelbot.domain.facts import FactsError, parse_facts
    from hotelbot.storage.facts import import_facts
    from hotelbot.storage.hotels import get_hotel

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: cannot read it ({type(exc).__name__})") from None
    try:
        facts = parse_facts(text, where=file.name)
    except FactsError as exc:
        for problem in exc.problems:
            common.typer_echo_err(problem)
        raise UserError(
            f"{len(exc.problems)} problem(s) in {file.name}: nothing imported"
        ) from None

    async def go(db: Database) -> tuple[int, bool]:
        async with db.write() as conn:
            hotel = await get_hotel(conn, slug)
            if hotel is None:
                raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
            return await import_facts(conn, hotel.id, facts)

    version, new = common.with_db(go)
    topics = ", ".join(sorted(t.value for t in facts.answers))
    state = "imported" if new else "unchanged"
    typer.echo(f"{slug}: facts version {version} {state} (mode {facts.mode.value}; {topics})")


@app.command("show")
def show(slug: Slug) -> None:
    """The facts in force: mode, version and the text of each topic per language."""
    from hotelbot.domain.display import for_people
    from hotelbot.storage.facts import current_facts
    from hotelbot.storage.hotels import get_hotel

    async def go(db: Database) -> list[str]:
        async with db.read() as conn:
            hotel = await get_hotel(conn, slug)
            if hotel is None:
                raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
            current = await current_facts(conn, hotel.id)
        if current is None:
            return [f"{slug}: no facts yet (`hotelbot hotel facts import {slug} FILE`)"]
        lines = [f"{slug}: facts version {current.version}, mode {current.facts.mode.value}"]
        for topic, texts in sorted(current.facts.answers.items()):
            for language, body in sorted(texts.items()):
                lines.append(f"  {topic.value}[{language}]  {for_people(body, max_chars=120)}")
            file = current.facts.files.get(topic)
            if file is not None:
                lines.append(f"  {topic.value}[file]  {file.file_name} <{file.url}>")
        return lines

    for line in common.with_db(go):
        typer.echo(line)
