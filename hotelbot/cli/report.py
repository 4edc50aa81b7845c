"""`hotelbot report SLUG --since 7d`: what a hotel manager reads about a period."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hotelbot.cli.output import JsonOpt, UtcOpt

if TYPE_CHECKING:
    from hotelbot.domain.report import Report


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(report: Report, *, shown_start: str, shown_end: str) -> str:
    """The report as text a manager reads on a phone (narrow lines, bars for days)."""
    from hotelbot.domain.report import sparkline

    first, last = report.days[0], report.days[-1]
    trend = f", {report.trend}" if report.trend else ""
    attention = ", ".join(f"{k} {v}" for k, v in report.attention.items()) or "none"
    lines = [
        f"{report.hotel}: {shown_start} - {shown_end}",
        f"guest messages   {report.messages} from {report.guests} guest(s)",
        f"  per day        {sparkline(report.per_day)}  ({first:%m-%d}..{last:%m-%d})",
        f"negative         {_share(report.negative_share)} "
        f"(before: {_share(report.negative_share_before)}{trend})",
        f"  per day        {sparkline(report.negative_per_day)}",
        f"needed staff     {sum(report.attention.values())}: {attention}",
        f"staff alerts     {report.alerts} ({report.alerts_unacknowledged} not acknowledged)",
        f"  acknowledged   median {_duration(report.ack_median_s)}, "
        f"p90 {_duration(report.ack_p90_s)}",
        f"unanswered       {report.unanswered_guests} guest(s)",
        f"opt-outs         {report.opt_outs}",
        f"not delivered    {report.delivery_failures} message(s)",
    ]
    return "\n".join(lines)


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
                return await hotel_report(conn, record, start, end, tz), record.timezone

        result, timezone = common.with_db(go)
        if as_json:
            data = asdict(result)
            data["trend"] = result.trend
            data["timezone"] = "UTC" if utc else timezone
            common.print_json(data)
            return
        typer.echo(
            render(
                result,
                shown_start=show_time(result.start, timezone, utc=utc),
                shown_end=show_time(result.end, timezone, utc=utc),
            )
        )
