"""`hotelbot stats`: messages, sentiment, alerts, scheduled messages and opt-outs per day."""

from __future__ import annotations

from typing import Annotated

import typer

from hotelbot.cli.output import JsonOpt


def register(app: typer.Typer) -> None:
    @app.command("stats")
    def stats(
        hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
        days: Annotated[int, typer.Option(min=1, max=366, help="Days back, today included.")] = 7,
        as_json: JsonOpt = False,
    ) -> None:
        """Activity of the last N days (UTC days): messages in/out and guest sentiment, staff
        alerts and time to the first staff reply, scheduled messages sent/deferred/skipped,
        opt-outs. Sections whose tables this database lacks say "not available"."""
        from hotelbot.cli import common
        from hotelbot.errors import UserError
        from hotelbot.storage.db import Database
        from hotelbot.storage.hotels import get_hotel
        from hotelbot.storage.reports import Section, stats_report
        from hotelbot.storage.types import utcnow

        async def go(db: Database) -> list[Section]:
            async with db.read() as conn:
                hotel_id = None
                if hotel is not None:
                    record = await get_hotel(conn, hotel)
                    if record is None:
                        raise UserError(f"no hotel with slug {hotel!r}")
                    hotel_id = record.id
                return await stats_report(conn, hotel_id=hotel_id, days=days, now=utcnow())

        sections = common.with_db(go)
        if as_json:
            common.print_json(
                {
                    "hotel": hotel,
                    "days": days,
                    "day_zone": "UTC",
                    "sections": [
                        {
                            "title": s.title,
                            "unavailable": s.unavailable or None,
                            "rows": common.records(s.headers, s.rows),
                        }
                        for s in sections
                    ],
                }
            )
            return
        scope = f"hotel {hotel}" if hotel else "all hotels"
        typer.echo(f"hotelbot stats: {scope}, last {days} day(s), UTC days")
        for section in sections:
            typer.echo(f"\n{section.title}")
            if section.unavailable:
                typer.echo(f"  {section.unavailable}")
            elif not section.rows:
                typer.echo("  none")
            else:
                typer.echo(common.table(section.headers, section.rows))
