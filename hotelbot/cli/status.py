"""`hotelbot status`: per-hotel polling state, backlog and alerts, read from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer

from hotelbot.cli.output import JsonOpt, WideOpt

if TYPE_CHECKING:
    from hotelbot.storage.db import Database
    from hotelbot.storage.status_report import HotelStatusRow, StatusReport


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(wide: WideOpt = False, as_json: JsonOpt = False) -> None:
        """Per hotel: polling or not (and by which daemon), last successful poll, backlog,
        outbox, last alert, why unhealthy. Works while the daemon runs; says when the status
        is stale (no daemon has written it recently), and which hotels' guests write in
        languages nothing here reads (the rules read English and Russian; an LLM reads all)."""
        from hotelbot.cli import common
        from hotelbot.domain.zones import unknown_zone_warning
        from hotelbot.ops.languages import WINDOW_DAYS, languages_of, llm_configured
        from hotelbot.storage.status_report import checked_status_report, read_status_directly

        settings = common.load()
        # The daemon writes every status_interval_s; three missed writes = no daemon.
        stale_after_s = 3 * settings.daemon.status_interval_s + 5
        llm = llm_configured(settings.llm)
        now = datetime.now(UTC)
        # With an LLM every language is read: the language mix is not needed.
        languages_since = None if llm else now - timedelta(days=WINDOW_DAYS)
        # One query, without SQLAlchemy (its import was most of this command's time): a
        # SQLite file through the standard library, PostgreSQL through asyncpg. Other URL
        # forms and every error take SQLAlchemy's path, which says what is wrong as usual.
        report = read_status_directly(
            settings.database_url(),
            busy_timeout_ms=settings.database.busy_timeout_ms,
            pgbouncer=settings.database.pgbouncer,
            now=now,
            stale_after_s=stale_after_s,
            languages_since=languages_since,
        )
        if report is None:

            async def go(db: Database) -> StatusReport:
                return await checked_status_report(
                    db, now=now, stale_after_s=stale_after_s, languages_since=languages_since
                )

            report = common.with_db(go, check=False)  # the query checks the schema too
        rows = report.hotels
        languages = languages_of(
            [row for row in rows if row.enabled],
            report.languages,
            covered=_rules_languages(llm),
            llm=llm,
        )
        if as_json:  # the rows as stored, times in UTC (ISO 8601): for scripts and monitors
            from dataclasses import asdict

            common.print_json(
                {
                    "at": now,
                    "hotels": [asdict(r) for r in rows],
                    "unread_languages": {
                        item.slug: [gap.describe() for gap in item.gaps]
                        for item in languages
                        if not item.ok
                    },
                }
            )
            return
        if not rows:
            typer.echo(
                "no hotels yet: add one with `hotelbot hotel add` or `hotelbot hotel import`"
            )
            return
        table = []
        for r in rows:
            if not r.enabled:
                polling = "disabled"
            elif r.stale:
                polling = "NO (status stale)" if r.daemon else "NO (never polled)"
            else:
                polling = f"yes ({r.lease_owner or r.daemon})" if r.polling else "NO"
            health = "ok" if r.healthy else f"UNHEALTHY: {r.unhealthy_reason}"
            if r.healthy and r.last_error and not r.stale:
                health = f"ok (last error: {r.last_error[:60]})"
            if r.dead_letters_24h:
                health += f"; {r.dead_letters_24h} dead letter(s) in 24 h"
            if r.llm_over_budget_today:
                health += "; daily LLM budget reached (rules only until 00:00 UTC)"
            zone_warning = unknown_zone_warning(r.timezone)
            if zone_warning:
                health += f"; WARNING: {zone_warning}"
            table.append(
                [
                    r.slug,
                    polling,
                    _ago(r.last_ok_at, now),
                    r.unprocessed,
                    f"{r.outbox_open}/{r.outbox_failed}",
                    _last_alert(r, now),
                    r.instance_state or "?",
                    health,
                ]
            )
        typer.echo(
            common.table(
                [
                    "hotel",
                    "polling",
                    "last ok poll",
                    "to process",
                    "outbox open/failed",
                    "last alert",
                    "instance",
                    "health",
                ],
                table,
                wide=wide,
                shrink=[1, 7],
            )
        )
        if any(r.dead_letters_24h for r in rows):
            typer.echo(
                "\nqueue items that could not be stored were set aside (and deleted upstream): "
                "see `hotelbot dead-letters list`"
            )
        gaps = [item for item in languages if not item.ok]
        if gaps:
            typer.echo("\nguests writing in languages the rules do not read (no LLM configured):")
            for item in gaps:
                described = "; ".join(gap.describe() for gap in item.gaps) or (
                    "its default_language"
                )
                typer.echo(f"  {item.slug}: {described} (see `hotelbot doctor`)")
        stale = [r for r in rows if r.enabled and r.stale]
        if stale:
            ages = [r.status_age_s for r in stale if r.status_age_s is not None]
            since = f" (last status {min(ages):.0f} s ago)" if ages else ""
            typer.echo(
                f"\nstatus is stale for {len(stale)} enabled hotel(s){since}: "
                "is the daemon running? (`systemctl status hotelbot`)"
            )


def _rules_languages(llm: bool) -> frozenset[str]:
    """The languages the rules read; not needed (nor their lexicon module imported) when an
    LLM reads every language."""
    if llm:
        return frozenset()
    from hotelbot.domain.unreadable import rules_languages

    return rules_languages()


def _last_alert(row: HotelStatusRow, now: datetime) -> str:
    """ "3 min ago (2 open)": when the last alert was raised, and how many alerts of the
    last 24 h nobody acknowledged yet (`hotelbot alerts list --open`)."""
    ago = _ago(row.last_alert_at, now)
    return f"{ago} ({row.open_alerts_24h} open)" if row.open_alerts_24h else ago
