"""`hotelbot report SLUG --since 7d`: what a hotel manager reads about a period."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli.output import JsonOpt, UtcOpt

if TYPE_CHECKING:
    from hotelbot.domain.report import Report


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        slug: Annotated[str, typer.Argument(help="The hotel (slug).")],
        since: Annotated[
            str,
            typer.Option(
                help="Start of the period: 7d, 24h, 2w, or a date (2026-03-20) in the hotel's "
                "local time (UTC with --utc). The period ends now."
            ),
        ] = "7d",
        utc: UtcOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """A hotel's period for its manager: messages, alerts and acknowledgement times, trend.

        Guest messages and guests, what needed staff, time from alert to acknowledgement
        (median, p90), unanswered guests, sentiment against the previous period, opt-outs,
        messages not delivered; bars per day."""
        from dataclasses import asdict
        from datetime import UTC, datetime

        from hotelbot.cli import common
        from hotelbot.cli.output import parse_since, show_time, zone
        from hotelbot.errors import UserError
        from hotelbot.storage.db import Database
        from hotelbot.storage.hotel_policy import hotel_policy
        from hotelbot.storage.hotels import get_hotel
        from hotelbot.storage.manager_report import hotel_report

        async def go(db: Database) -> tuple[Report, str]:
            async with db.read() as conn:
                record = await get_hotel(conn, slug)
                if record is None:
                    raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
                tz = zone("UTC" if utc else record.timezone)
                end = datetime.now(UTC)
                start = parse_since(since, tz, now=end)
                if start >= end:
                    raise UserError(f"--since {since!r} is not in the past")
                policy = hotel_policy(record)
                return await hotel_report(conn, policy, start, end, tz), record.timezone

        result, timezone = common.with_db(go)
        if as_json:
            data = asdict(result)
            data["trend"] = result.trend
            data["timezone"] = "UTC" if utc else timezone
            common.print_json(data)
            return
        from hotelbot.domain.report import render_report

        typer.echo(
            render_report(
                result,
                language="en",
                shown_start=show_time(result.start, timezone, utc=utc),
                shown_end=show_time(result.end, timezone, utc=utc),
            )
        )
